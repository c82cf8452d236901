#!/usr/bin/env bats
# The multi-call binary: one compiled runtime in dist/ (or an installed prefix),
# every command a link to it, each still behaving as its own program.
load test_helper
bats_require_minimum_version 1.5.0

@test "every command is a link to the one hardshell binary" {
  for c in atomic-write git-lock sqlite-exec; do
    [ -L "$DIST/$c" ] || { echo "$c is not a symlink"; false; }
    [ "$(readlink -f "$DIST/$c")" = "$(readlink -f "$DIST/hardshell")" ]
  done
  # One runtime, not one per command (each runtime is ~110 MB).
  [ "$(find -L "$DIST" -maxdepth 1 -type f -size +10M | xargs -r -n1 readlink -f | sort -u | wc -l)" -eq 1 ]
}

@test "the binaries in the directory take at most 130 MiB in all" {
  kib=$(du -skL "$DIST/hardshell" | cut -f1)
  [ "$kib" -le $((130 * 1024)) ]
}

@test "each command answers --version and errors under its own name" {
  for c in atomic-write git-lock sqlite-exec; do
    run "$c" --version
    assert_success
    assert_output "$c $(jq -r .version "$HARDSHELL_ROOT/package.json")"
  done
  run atomic-write
  assert_failure 64
  assert_output --partial "atomic-write: missing FILE"
  run sqlite-exec missing.db "select 1"
  assert_failure 66
  assert_output --regexp '^sqlite-exec: '
}

@test "hardshell COMMAND behaves as the command called by its own name" {
  echo old > f
  run hardshell atomic-write f -- echo new
  assert_success
  [ "$(cat f)" = new ]
  run hardshell atomic-write
  assert_failure 64
  assert_output --partial "atomic-write: missing FILE"
  run hardshell sqlite-exec --create db.sqlite "select 6*7"
  assert_success
  assert_output 42
  run hardshell git-lock --version
  assert_output "git-lock $(jq -r .version "$HARDSHELL_ROOT/package.json")"
}

@test "a link called through another path or by git still dispatches on its name" {
  mkdir bin
  ln -s "$DIST/hardshell" bin/sqlite-exec
  ln "$(readlink -f "$DIST/hardshell")" bin/atomic-write 2>/dev/null || cp "$DIST/hardshell" bin/atomic-write
  run bin/sqlite-exec --version
  assert_output --partial "sqlite-exec "
  run bin/atomic-write --version
  assert_output --partial "atomic-write "
  git init -q repo
  run git -C repo lock status
  assert_success
}

@test "--help through a link loads the help chunk and names the command" {
  run atomic-write --help
  assert_success
  assert_output --partial "atomic-write [options] FILE"
  assert_output --partial "--if-unchanged"
  run hardshell git-lock status --help
  assert_success
  assert_output --partial "git-lock status"
}

@test "hardshell alone, or with an unknown command, is a usage error that lists the commands" {
  run --separate-stderr hardshell
  assert_failure 64
  [ -z "$output" ]
  [[ "$stderr" == *"atomic-write"*"git-lock"*"sqlite-exec"* ]]
  run hardshell frobnicate
  assert_failure 64
  assert_output --partial 'unknown command: "frobnicate" (one of '
  run hardshell --list
  assert_success
  assert_output $'atomic-write\ngit-lock\nsqlite-exec'
}

@test "each command's --man page names every option of every one of its --help pages" {
  for page in "atomic-write" "sqlite-exec" "git-lock status" "git-lock clean" "git-lock wait" "git-lock run"; do
    read -r -a w <<<"$page"
    man=$("${w[0]}" --man | sed 's/\\-/-/g; s/\\f[A-Z(][A-Z]\{0,2\}//g')
    grep -q "^\.TH $(tr a-z A-Z <<<"${w[0]}") 1 " <<<"$man" || fail "${w[0]} --man has no .TH line"
    n=0
    while read -r opt; do
      n=$((n + 1))
      grep -qE -- "(^|[ ,])$opt([ =[]|$)" <<<"$man" || fail "$page: $opt is in --help but not in ${w[0]} --man"
    done < <("${w[0]}" "${w[@]:1}" --help | grep -oE '^ +(-[a-zA-Z], )?--[a-z][a-z0-9-]*' | grep -oE -- '--[a-z][a-z0-9-]*' | sort -u)
    [ "$n" -ge 2 ] || fail "$page: no options found in --help"
  done
}

@test "every cmd/*.ts is a command of the binary, of install.sh and of the build's links" {
  want=$(cd "$HARDSHELL_ROOT/cmd" && ls -- *.ts | sed 's/\.ts$//' | grep -vx hardshell | sort)
  run hardshell --list
  assert_output "$want"
  assert_equal "$(sed -n 's/^COMMANDS="\(.*\)"$/\1/p' "$HARDSHELL_ROOT/scripts/pkg/install.sh" | tr ' ' '\n' | sort)" "$want"
  for c in $want; do [ -L "$DIST/$c" ] || fail "no link $c in $DIST"; done
}
