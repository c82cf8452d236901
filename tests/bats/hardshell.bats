#!/usr/bin/env bats
# hardshell.sh, sourced into bash: the functions existing scripts already call,
# backed by the dist/ binaries; never touching the caller's shell state.
load test_helper
bats_require_minimum_version 1.5.0

SH="$HARDSHELL_SH"

local_setup() {
  git init -q -b main repo
  git -C repo commit -q --allow-empty -m init
}

@test "hardshell.sh passes shellcheck" {
  command -v shellcheck >/dev/null || skip "shellcheck is not installed"
  run shellcheck -s bash "$HARDSHELL_ROOT/lib/hardshell.sh"
  assert_success
}

@test "sourcing under set -euo pipefail changes no shell option, shopt, IFS or trap" {
  run bash -c '
    set -euo pipefail
    IFS=$'"'"':\n'"'"'
    trap "echo bye" EXIT
    trap "" USR1
    before="$(set -o; shopt -p; printf %q "$IFS"; trap -p)"
    source "$1"
    write_atomic f hello
    sqlite_with_retry db.sqlite "select 1" || true
    after="$(set -o; shopt -p; printf %q "$IFS"; trap -p)"
    [ "$before" = "$after" ] && echo same
  ' _ "$SH"
  assert_success
  assert_line same
}

@test "write_atomic writes CONTENT exactly, or stdin when CONTENT is absent" {
  run bash -c 'source "$1"; write_atomic a "x y"; printf "l1\nl2\n" | write_atomic b' _ "$SH"
  assert_success
  [ "$(cat a)" = "x y" ]
  [ "$(wc -c < a)" -eq 3 ]
  [ "$(cat b)" = $'l1\nl2' ]
}

@test "a failing function returns the command's exit code and never exits the caller" {
  mkdir adir
  run bash -c 'set -e; source "$1"; rc=0; write_atomic adir content || rc=$?; echo "rc=$rc alive"' _ "$SH"
  assert_success
  assert_output --partial "rc=73 alive"
}

@test "sqlite_with_retry binds values to ? and returns 65 for bad SQL, not 0" {
  sqlite3 t.db 'create table t(v text)'
  run bash -c 'source "$1"; sqlite_with_retry t.db "insert into t values (?)" "it'"'"'s; DROP TABLE t; --"' _ "$SH"
  assert_success
  [ "$(sqlite3 t.db 'select v from t')" = "it's; DROP TABLE t; --" ]
  run bash -c 'source "$1"; sqlite_with_retry t.db "insert into t values (?), (?), (?)" -1 --x ""' _ "$SH"
  assert_success
  [ "$(sqlite3 t.db "select group_concat(quote(v), ' ') from t where rowid > 1")" = "'-1' '--x' ''" ]
  run bash -c 'source "$1"; rc=0; sqlite_with_retry t.db "insert into nope values (1)" || rc=$?; echo "rc=$rc"' _ "$SH"
  assert_output --partial "rc=65"
}

@test "detect_stale_lock says 0 for an old lock with no holder and 1 for a live one" {
  touch repo/.git/index.lock
  touch -d '2 hours ago' repo/.git/index.lock
  run bash -c 'source "$1"; detect_stale_lock repo/.git/index.lock 60' _ "$SH"
  assert_success
  exec 5>repo/.git/HEAD.lock
  touch -d '2 hours ago' repo/.git/HEAD.lock
  run bash -c 'source "$1"; detect_stale_lock repo/.git/HEAD.lock 60' _ "$SH"
  assert_failure 1
  exec 5>&-
}

@test "clean_stale_lock removes a stale git lock, keeps a live one, and refuses paths outside a git dir" {
  touch repo/.git/index.lock
  touch -d '2 hours ago' repo/.git/index.lock
  exec 5>repo/.git/HEAD.lock
  touch -d '2 hours ago' repo/.git/HEAD.lock
  run bash -c 'source "$1"; clean_stale_lock repo/.git/index.lock && clean_stale_lock repo/.git/HEAD.lock' _ "$SH"
  assert_success
  [ ! -e repo/.git/index.lock ]
  [ -e repo/.git/HEAD.lock ]
  exec 5>&-
  mkdir -p notgit && touch notgit/x.lock
  run bash -c 'source "$1"; clean_stale_lock notgit/x.lock' _ "$SH"
  assert_failure 66
  [ -e notgit/x.lock ]
}

@test "acquire_git_lock excludes another shell until release_git_lock" {
  run bash -c '
    source "$1"
    acquire_git_lock repo 5 || exit 9
    rc=0; bash -c "source \"$1\"; acquire_git_lock repo 1" || rc=$?
    echo "other=$rc"
    release_git_lock repo
    bash -c "source \"$1\"; acquire_git_lock repo 5 && release_git_lock repo" && echo "after=ok"
  ' _ "$SH"
  assert_success
  assert_line "other=75"
  assert_line "after=ok"
}

@test "a lock taken by acquire_git_lock is released when the shell that took it dies" {
  bash -c 'source "$1"; acquire_git_lock repo 5; kill -KILL $$' _ "$SH" || true
  run bash -c 'source "$1"; acquire_git_lock repo 10 && release_git_lock repo && echo ok' _ "$SH"
  assert_success
  assert_line ok
}

@test "with_git_lock runs CMD under the lock and returns its exit code" {
  run bash -c 'source "$1"; rc=0; with_git_lock repo -- sh -c "echo inside; exit 7" || rc=$?; echo "rc=$rc"' _ "$SH"
  assert_line inside
  assert_line "rc=7"
}

@test "works when sourced through a symlink and from another cwd" {
  mkdir -p elsewhere/lib
  ln -s "$SH" elsewhere/lib/hs.sh
  export PATH="/usr/bin:/bin"
  run bash -c 'cd /; source "$1"; cd "$2"; write_atomic via-link ok && cat via-link' _ "$T/elsewhere/lib/hs.sh" "$T"
  assert_success
  assert_output ok
}

@test "a missing binary is a clear error and return code 69" {
  mkdir alone && cp "$SH" alone/
  export PATH="/usr/bin:/bin"
  run bash -c 'source "$1"; rc=0; write_atomic f x || rc=$?; echo "rc=$rc"' _ "$T/alone/hardshell.sh"
  assert_output --partial "atomic-write not found"
  assert_line "rc=69"
  [ ! -e f ]
}

@test "acquire_git_lock inside \$(...) returns at once and its lock ends with that subshell" {
  # The holder must not keep the command substitution's pipe open (the caller would hang until
  # release), and the lock belongs to the subshell: gone within seconds of the subshell's end.
  run timeout 20 bash -c 'source "$1"; out=$(acquire_git_lock repo 5; echo "rc=$?"); echo "$out"' _ "$SH"
  assert_success
  assert_line "rc=0"
  run timeout 20 bash -c 'source "$1"; acquire_git_lock repo 10 && release_git_lock repo && echo ok' _ "$SH"
  assert_success
  assert_line ok
}

@test "release_git_lock ends the holder without pkill on PATH" {
  mkdir bin
  for t in git mktemp mkfifo rm dirname readlink sh sleep cat; do ln -s "$(command -v "$t")" "bin/$t"; done
  ln -s "$DIST/git-lock" bin/git-lock
  run env PATH="$T/bin" "$BASH" -c '
    source "$1"
    acquire_git_lock repo 5 || exit 9
    release_git_lock repo || exit 8
    acquire_git_lock repo 2 && release_git_lock repo && echo ok' _ "$SH"
  assert_success
  assert_line ok
  [ -z "$(ls "$TMPDIR")" ] || fail "left in TMPDIR: $(ls "$TMPDIR")"
}

@test "every message of a function starts with hardshell.sh: <function>:" {
  touch plain.lock
  run bash -c 'source "$1"; write_atomic; sqlite_with_retry x; detect_stale_lock; clean_stale_lock; with_git_lock repo; release_git_lock repo; detect_stale_lock plain.lock; clean_stale_lock plain.lock; true' _ "$SH"
  assert_success
  [ "${#lines[@]}" -eq 8 ] || fail "expected 8 lines, got: $output"
  for f in write_atomic sqlite_with_retry detect_stale_lock clean_stale_lock with_git_lock release_git_lock; do
    assert_line --regexp "^hardshell\.sh: $f: "
  done
  for l in "${lines[@]}"; do [[ "$l" =~ ^hardshell\.sh:\ [a-z_]+:\  ]] || fail "bad prefix: $l"; done
}

@test "sourced from /bin/sh it prints one line 'hardshell.sh needs bash' and returns 1, the caller goes on" {
  for sh in sh dash; do
    command -v "$sh" >/dev/null || continue
    run --separate-stderr "$sh" -c '. "$1"; echo "rc=$? alive"' _ "$SH"
    assert_success
    assert_output "rc=1 alive"
    [ "$stderr" = "hardshell.sh needs bash" ]
  done
}
