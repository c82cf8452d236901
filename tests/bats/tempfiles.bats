#!/usr/bin/env bats
# One temp-file naming scheme across the commands (lib/core/tempname.ts): what a
# SIGKILLed command leaves beside a file is recognised and removed by the next
# command that writes that file, whichever command it is.

load test_helper

# Hold an EXCLUSIVE lock on a rollback-journal database until killed; $T/locked appears once held.
hold_exclusive() {
  python3 -c '
import sqlite3, sys, time
c = sqlite3.connect(sys.argv[1], isolation_level=None)
c.execute("BEGIN EXCLUSIVE")
open(sys.argv[2], "w").close()
time.sleep(60)
' "$1" "$T/locked" &
  KILL_PIDS="${KILL_PIDS:-} $!"
  wait_for "$T/locked"
}

local_teardown() { [ -z "${KILL_PIDS:-}" ] || kill -9 $KILL_PIDS 2>/dev/null || true; }

# Start `sqlite-exec DB --backup DEST` behind a held lock, wait until its temp file exists, SIGKILL it.
killed_backup() {
  sqlite3 "$T/a.db" "CREATE TABLE t(v); INSERT INTO t VALUES ('data')"
  hold_exclusive "$T/a.db"
  mkdir -p "$T/bk"
  sqlite-exec --busy-timeout 20s --deadline 60s "$T/a.db" --backup "$T/bk/copy.db" &
  local pid=$!
  wait_for "$T/bk/.copy.db.hardshell-$pid-*.tmp"
  kill -9 "$pid"
  wait "$pid" 2>/dev/null || true
  kill -9 $KILL_PIDS 2>/dev/null || true
  KILL_PIDS=""
}

@test "a SIGKILLed --backup leaves its temp file named for its pid, and the next atomic-write of DEST removes it" {
  killed_backup
  [ -n "$(compgen -G "$T/bk/.copy.db.hardshell-*.tmp")" ]
  echo new | atomic-write "$T/bk/copy.db"
  assert_equal "$(cat "$T/bk/copy.db")" "new"
  assert_equal "$(leftovers "$T/bk" copy.db)" ""
}

@test "a SIGKILLed --backup's temp file is removed by the next --backup to DEST" {
  killed_backup
  [ -n "$(compgen -G "$T/bk/.copy.db.hardshell-*.tmp")" ]
  run sqlite-exec "$T/a.db" --backup "$T/bk/copy.db"
  assert_success
  assert_equal "$(sqlite3 "$T/bk/copy.db" 'SELECT v FROM t')" "data"
  assert_equal "$(leftovers "$T/bk" copy.db)" ""
}

@test "a temp file SIGKILLed atomic-write left is removed by the next --backup to that file" {
  sqlite3 "$T/a.db" "CREATE TABLE t(v); INSERT INTO t VALUES ('data')"
  mkdir "$T/bk"
  # atomic-write keeps its temp file open while it reads stdin: kill it there.
  mkfifo "$T/in"
  atomic-write "$T/bk/copy.db" < "$T/in" &
  local pid=$!
  sleep 60 > "$T/in" &
  KILL_PIDS="$!"
  wait_for "$T/bk/.copy.db.hardshell-$pid-*.tmp"
  kill -9 "$pid"
  wait "$pid" 2>/dev/null || true
  [ -n "$(compgen -G "$T/bk/.copy.db.hardshell-$pid-*.tmp")" ]
  run sqlite-exec "$T/a.db" --backup "$T/bk/copy.db"
  assert_success
  assert_equal "$(leftovers "$T/bk" copy.db)" ""
}

@test "git-lock clean removes a lock a SIGKILLed clean had moved aside, once that clean's pid is dead, and keeps a live one's" {
  git init -q -b main r && git -C r commit -q --allow-empty -m init
  local G="$T/r/.git" dead
  dead="$(dead_pid)"
  touch -d '2 hours ago' "$G/index.lock"
  : > "$G/.index.lock.hardshell-$dead-0badc0de.rm"
  : > "$G/.index.lock.hardshell-$$-0badc0de.rm"
  run git-lock clean --repo r
  assert_success
  assert_output --partial "removed $G/index.lock"
  [ ! -e "$G/.index.lock.hardshell-$dead-0badc0de.rm" ]
  [ -e "$G/.index.lock.hardshell-$$-0badc0de.rm" ]
  assert_equal "$(ls -A "$G" | grep -c hardshell)" 1
}
