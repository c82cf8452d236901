#!/usr/bin/env bats
# Every example in every --help page (and so in every man page, which shows the same ones) is run, in order,
# against a fixture: a git repository with an origin, the input files the examples read, and stand-ins for the
# user's own programs (render-config, $EDITOR). A broken example fails the suite. Help is also checked to fit
# the width it is given without splitting an example's command.
load test_helper
bats_require_minimum_version 1.5.0

PAGES=("atomic-write" "sqlite-exec" "git-lock" "git-lock status" "git-lock clean" "git-lock wait" "git-lock run")

examples_of() { # the example command lines of a help text on stdin (each on its own line, two spaces in)
  sed -n '/^Examples:/,/^$/p' | sed -n 's/^  \([^ ].*\)$/\1/p'
}

man_examples_of() { # the example command lines of a man page on stdin, unescaped (groff_man(7))
  sed -n 's/^\\f(CR\(.*\)\\fR$/\1/p' | sed -e 's/\\-/-/g' -e 's/\\&//g' -e 's/\\e/\\/g'
}

# The fixture every example runs in: $T/repo, a clone (with upstream) of $T/origin.git.
make_fixture() {
  mkdir -p "$T/bin" "$HOME/src"
  cat > "$T/bin/render-config" <<'EOF'
#!/bin/sh
# stand-in for the user's config generator
printf 'env=%s\n' "$2"
EOF
  cat > "$T/bin/fake-editor" <<'EOF'
#!/bin/sh
# stand-in for $EDITOR: an edit a person would make
printf 'edited by the editor\n' >> "$1"
EOF
  chmod +x "$T/bin/render-config" "$T/bin/fake-editor"
  export PATH="$T/bin:$PATH" EDITOR="$T/bin/fake-editor"
  git init -q --bare -b main "$T/origin.git"
  git clone -q "$T/origin.git" "$T/repo" 2>/dev/null
  git init -q -b main "$HOME/src/app"
  cd "$T/repo"
  printf '#!/bin/sh\necho deployed\n' > deploy.sh && chmod +x deploy.sh
  printf 'release:\n\t@echo released\n' > Makefile
  git add deploy.sh Makefile && git commit -q -m init && git push -q -u origin main 2>/dev/null
  printf '[{"path": "/a", "n": 2}, {"path": "/b", "n": 3}]\n' > rows.json
  printf '{"v": 1}\n' > new.json
  printf 'hello\n' > notes.txt
}

# Run one example with bash -c in the current directory: it must exit 0 and print no diagnostic of ours (a --soft
# example hides its failure in the exit code, not on stderr). Prints why and returns 1 otherwise.
check_example() {
  local ex="$1" out rc=0
  if [[ $ex == */dev/tty* ]]; then
    # Needs a terminal for the editor: give it one (script(1) runs it on a pseudo-terminal).
    out=$(script -qec "bash -c $(printf '%q' "$ex")" /dev/null </dev/null 2>&1) || rc=$?
  else
    out=$(bash -c "$ex" </dev/null 2>&1) || rc=$?
  fi
  if [ "$rc" -ne 0 ]; then printf 'example failed (exit %s): %s\n%s\n' "$rc" "$ex" "$out"; return 1; fi
  if grep -E "^(atomic-write|sqlite-exec|git-lock): " <<<"$out"; then printf 'example printed a diagnostic: %s\n' "$ex"; return 1; fi
}

# Run each example of the pages of one command, in order, in the current directory.
run_examples() {
  local cmd="$1" page ex n=0 words exs
  for page in "${PAGES[@]}"; do
    [[ $page == "$cmd" || $page == "$cmd "* ]] || continue
    read -r -a words <<<"$page"
    mapfile -t exs < <(COLUMNS=100 "$DIST/${words[0]}" "${words[@]:1}" --help | examples_of)
    for ex in "${exs[@]}"; do
      n=$((n + 1))
      check_example "$ex" || fail "$page: example $n is broken"
    done
  done
  [ "$n" -ge 2 ] || fail "$cmd: only $n examples found"
}

@test "every atomic-write example runs as shown and does what it says" {
  make_fixture
  run_examples atomic-write
  [ "$(cat counter)" = 1 ]
  [ "$(cat app.conf)" = "env=prod" ]
  [ "$(cat notes.txt)" = $'hello\nedited by the editor' ]
  [ -s log.txt ]
  cmp new.json state.json
  [ "$(stat -c %a token.txt)" = 600 ]
  # The last one says "exit 1 (nothing written) when it exists": it does.
  before=$(cat token.txt)
  run atomic-write --if-absent --mode 0600 token.txt -- openssl rand -hex 16
  [ "$status" -eq 1 ]
  [ "$(cat token.txt)" = "$before" ]
}

@test "every sqlite-exec example runs as shown, in order, from a fresh directory" {
  make_fixture
  run_examples sqlite-exec
  # 1 row, 2 bulk rows, 1 dotlock row; the --soft UPDATE really happened (it did not fail silently).
  [ "$(sqlite-exec --raw app.db "SELECT count(*) FROM hits")" = 4 ]
  [ "$(sqlite-exec --raw app.db "SELECT n FROM hits WHERE path = '/index.html'")" = 2 ]
  [ "$(sqlite-exec --raw app-copy.db "SELECT count(*) FROM hits")" = 3 ]
}

@test "every git-lock example (overview and each subcommand) runs as shown in a clone" {
  make_fixture
  run_examples git-lock
  [ ! -e "$(git rev-parse --git-common-dir)/hardshell-run.lock" ]
}

@test "a broken example makes the examples test fail: an error, or a diagnostic that --soft turned into exit 0" {
  make_fixture
  sqlite-exec --create app.db "CREATE TABLE hits(path TEXT)"
  run check_example 'sqlite-exec app.db "INSERT INTO jobs(name) VALUES (1)"'
  assert_failure
  assert_output --partial "example failed (exit 65)"
  run check_example 'sqlite-exec --soft app.db "INSERT INTO jobs(name) VALUES (1)"'
  assert_failure
  assert_output --partial "example printed a diagnostic"
  run check_example 'sqlite-exec app.db "INSERT INTO hits(path) VALUES (1)"'
  assert_success
}

@test "the man pages show exactly the examples of the help pages" {
  for cmd in atomic-write sqlite-exec git-lock; do
    help_ex=$(for page in "${PAGES[@]}"; do
      read -r -a words <<<"$page"
      [ "${words[0]}" = "$cmd" ] && "$DIST/$cmd" "${words[@]:1}" --help | examples_of
    done | sort)
    man_ex=$("$DIST/$cmd" --man | man_examples_of | sort)
    [ -n "$help_ex" ]
    [ "$help_ex" = "$man_ex" ] || fail "$cmd: man and help examples differ:"$'\n'"$(diff <(echo "$help_ex") <(echo "$man_ex"))"
  done
}

@test "help fits COLUMNS at any width and never splits an example's command" {
  for page in "${PAGES[@]}"; do
    read -r -a words <<<"$page"
    wide=$(COLUMNS=300 "$DIST/${words[0]}" "${words[@]:1}" --help | examples_of)
    for w in 40 60 80 132 200; do
      text=$(COLUMNS=$w "$DIST/${words[0]}" "${words[@]:1}" --help)
      [ "$(examples_of <<<"$text")" = "$wide" ] || fail "$page at $w columns: examples differ from the unwrapped ones"
      usage=$(sed -n '/^Usage:/,/^$/p' <<<"$text")
      while IFS= read -r line; do
        [ "${#line}" -le "$w" ] && continue
        grep -qxF -- "$line" <<<"$usage" && continue # a synopsis is a command too: never split
        [[ $line =~ ^\ +\`[^\`]+\`[^\ ]*$ ]] && continue  # so is a `quoted command` in running text
        grep -qxF -- "  ${line#  }" <<<"$(sed 's/^/  /' <<<"$wide")" && continue # an example longer than the width stays whole
        fail "$page at $w columns: line of ${#line}: $line"
      done <<<"$text"
    done
  done
  # Not capped at 100 any more: at 200 columns the description's first line runs past 150.
  run env COLUMNS=200 sqlite-exec --help
  assert_line --regexp '^Run the whole script as ONE transaction .{150,}$'
}

@test "help is 80 columns wide in a pipe without COLUMNS, and the terminal's width on a terminal" {
  run bash -c 'unset COLUMNS; sqlite-exec --help | awk "length > 80 && !/^  [^ ]/" | grep -c .'
  [ "$output" = 0 ]
  run bash -c 'unset COLUMNS; sqlite-exec --help | grep -c "^Run the whole script as ONE transaction (BEGIN IMMEDIATE when it writes) and$"'
  [ "$output" = 1 ]
  # On a 150-column pseudo-terminal (script(1)), without COLUMNS: the description's first line is wider than 100.
  run script -qec 'unset COLUMNS; stty cols 150; sqlite-exec --help' /dev/null
  assert_success
  assert_output --regexp 'Run the whole script as ONE transaction \(BEGIN IMMEDIATE when it writes\) and retry it with exponential backoff and full'
}

@test "every help page lists --completion, and it works from each of them" {
  for page in "${PAGES[@]}"; do
    read -r -a words <<<"$page"
    run "$DIST/${words[0]}" "${words[@]:1}" --help
    assert_line --regexp '^ +--completion '
    run "$DIST/${words[0]}" "${words[@]:1}" --completion
    assert_success
    assert_output --partial "complete -F _hardshell_${words[0]//-/_} ${words[0]}"
  done
}

@test "git-lock --help lists every subcommand with its description, and the exit codes" {
  run git-lock --help
  assert_success
  assert_line --regexp '^  status +List the repository.s lock files'
  assert_line --regexp '^  clean +Remove stale locks'
  assert_line --regexp '^  wait +Wait until no live lock remains'
  assert_line --regexp '^  run +Run CMD while holding the repository-wide lock'
  [[ $(tr '\n' ' ' <<<"$output") =~ Exit\ codes:\ 0\ .*1\ status:\ stale\ locks\ exist.*66\ not\ a\ repository.*75\ wait,\ run ]]
}
