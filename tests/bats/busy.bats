#!/usr/bin/env bats
# One "busy" marker (lib/core/busy.ts): whatever is busy — a WAL checkpoint kept from
# completing by a reader, SQLite's own SQLITE_BUSY — goes through the same retries and
# ends with 75 when the budget runs out.

load test_helper
bats_require_minimum_version 1.5.0

local_teardown() { [ -z "${KILL_PIDS:-}" ] || kill -9 $KILL_PIDS 2>/dev/null || true; }

@test "a TRUNCATE checkpoint that a reader keeps from completing is retried, then 75; it completes once the reader is gone" {
  sqlite3 "$T/w.db" "PRAGMA journal_mode=WAL; CREATE TABLE t(v); INSERT INTO t VALUES (1), (2)" > /dev/null
  python3 -c '
import sqlite3, sys, time
c = sqlite3.connect(sys.argv[1], isolation_level=None)
c.execute("BEGIN")
c.execute("SELECT * FROM t").fetchall()
open(sys.argv[2], "w").close()
time.sleep(60)
' "$T/w.db" "$T/reading" &
  KILL_PIDS=$!
  wait_for "$T/reading"
  sqlite3 "$T/w.db" "INSERT INTO t VALUES (3)"
  run --separate-stderr sqlite-exec --busy-timeout 50ms --retries 3 "$T/w.db" --checkpoint=TRUNCATE
  assert_failure 75
  [[ "$stderr" == *"database is busy"* ]]
  [[ "$stderr" == *"4 attempts"* ]]
  [[ "$stderr" == *"checkpoint could not complete"* ]]
  kill -9 $KILL_PIDS && wait $KILL_PIDS 2>/dev/null || true
  KILL_PIDS=""
  run sqlite-exec "$T/w.db" --checkpoint=TRUNCATE
  assert_success
  [ ! -s "$T/w.db-wal" ]
  assert_equal "$(sqlite3 "$T/w.db" 'SELECT count(*) FROM t')" 3
}
