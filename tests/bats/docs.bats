#!/usr/bin/env bats
# Docs cannot drift (after sqlite-utils' test_docs.py): every command's --help has
# usage and at least two examples, every option it lists appears in README.md, and
# --version prints `<command> <semver>`.
load test_helper

# "<binary> [subcommand]" for every help page there is.
HELP_PAGES=("atomic-write" "sqlite-exec" "git-lock status" "git-lock clean" "git-lock wait" "git-lock run")

options_of() { # option names (--x) listed in a help text on stdin
  sed -n '/^Options:/,/^Examples:/p; /^[A-Z][a-z ]*:$/,/^Examples:/p' | grep -oE '^ +(-[a-zA-Z], )?--[a-z][a-z0-9-]*' | grep -oE -- '--[a-z][a-z0-9-]*' | sort -u
}

@test "every help page exits 0 and shows usage and at least two examples" {
  for page in "${HELP_PAGES[@]}"; do
    read -r -a words <<<"$page"
    run "$DIST/${words[0]}" "${words[@]:1}" --help
    assert_success
    assert_output --partial "${words[0]}"
    n=$(printf '%s\n' "$output" | sed -n '/^Examples:/,$p' | grep -cE "^ +${words[0]}")
    [ "$n" -ge 2 ] || fail "$page --help has $n examples"
  done
}

@test "every option in every help page is documented in README.md" {
  missing=()
  for page in "${HELP_PAGES[@]}"; do
    read -r -a words <<<"$page"
    help=$("$DIST/${words[0]}" "${words[@]:1}" --help)
    while read -r opt; do
      [ -n "$opt" ] || continue
      grep -qF -- "\`$opt" "$HARDSHELL_ROOT/README.md" || missing+=("$page $opt")
    done < <(printf '%s\n' "$help" | options_of)
  done
  [ ${#missing[@]} -eq 0 ] || fail "not in README.md: ${missing[*]}"
}

@test "every command has a README section and prints <command> <semver> for --version" {
  for cmd in atomic-write sqlite-exec git-lock; do
    grep -qE "^## \`$cmd\`" "$HARDSHELL_ROOT/README.md" || fail "no README section for $cmd"
    run "$DIST/$cmd" --version
    assert_success
    assert_output --regexp "^$cmd [0-9]+\.[0-9]+\.[0-9]+$"
  done
}

@test "every command prints a bash completion script that bash accepts" {
  for cmd in atomic-write sqlite-exec git-lock; do
    run "$DIST/$cmd" --completion
    assert_success
    bash -n <(printf '%s\n' "$output") || fail "$cmd --completion is not valid bash"
    run bash -c "source <(\"$DIST/$cmd\" --completion) && complete -p $cmd"
    assert_success
  done
}

@test "a .env or bunfig.toml in the current directory changes nothing about any command" {
  git init -q -b main repo
  cd repo
  printf 'GIT_DIR=/nonexistent\nHARDSHELL_DEBUG=1\n' > .env
  printf 'preload = ["./boom.ts"]\n' > bunfig.toml
  printf 'console.log("preloaded code ran"); process.exit(9)\n' > boom.ts
  run git-lock status
  assert_success
  refute_output --partial "preloaded"
  run sqlite-exec --create t.db 'select 1'
  assert_success
  assert_output "1"
  run atomic-write f -- echo ok
  assert_success
  [ "$(cat f)" = ok ]
}

@test "SECURITY.md names every environment variable the runtime honours before hardshell code runs, and each is real" {
  # The threat model says BUN_OPTIONS and BUN_BE_BUN act like LD_PRELOAD. Prove both still do what it says, so the
  # document is updated the day a runtime upgrade changes either.
  for v in BUN_OPTIONS BUN_BE_BUN; do
    grep -q "$v" "$HARDSHELL_ROOT/SECURITY.md" || fail "SECURITY.md does not mention $v"
  done
  printf 'console.log("preloaded code ran")\n' > pre.js
  for cmd in atomic-write sqlite-exec git-lock; do
    run env BUN_OPTIONS="--preload $T/pre.js" "$DIST/$cmd" --version
    assert_line "preloaded code ran"
    run env BUN_BE_BUN=1 "$DIST/$cmd" --version
    refute_output --partial "$cmd"
    assert_output --regexp '^[0-9]+\.[0-9]+\.[0-9]+'
  done
  grep -q "env_keep" "$HARDSHELL_ROOT/SECURITY.md"
  grep -q "setuid" "$HARDSHELL_ROOT/SECURITY.md"
}

@test "HARDSHELL_DEBUG=1 traces name the TypeScript source file and line, and the real class names" {
  # A trace from the compiled binary is only useful in a bug report if it points at the source.
  run env HARDSHELL_DEBUG=1 sqlite-exec "$T/missing.db" "SELECT 1"
  [ "$status" -eq 66 ]
  assert_line --index 0 --partial "sqlite-exec: database does not exist"
  assert_line --regexp '^NoInputError[0-9]*: database does not exist'
  assert_line --regexp '^    at [A-Za-z_$][A-Za-z0-9_$]* \(lib/sqlite/[a-z]+\.ts:[0-9]+:[0-9]+\)$'
  refute_output --partial '$bunfs'
  [ ! -e "$T/missing.db" ]
  run env HARDSHELL_DEBUG=1 atomic-write "$T/no/such/dir/f" -- echo x
  [ "$status" -eq 73 ]
  assert_line --regexp '^    at [A-Za-z_$][A-Za-z0-9_$]* \((lib|cmd)/[a-z/_-]+\.ts:[0-9]+:[0-9]+\)$'
  [ ! -e "$T/no" ]
}
