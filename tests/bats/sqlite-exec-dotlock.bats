#!/usr/bin/env bats
# sqlite-exec --dotlock against real node-sqlite3-wasm writers (tests/peers/wasm-writer.cjs,
# run by node): they lock with the DB.lock directory and ignore POSIX locks (design.md §6).
# Databases are in rollback-journal mode: node-sqlite3-wasm cannot use WAL.

load test_helper
bats_require_minimum_version 1.5.0

SE="sqlite-exec"
PEER="$HARDSHELL_ROOT/tests/peers/wasm-writer.cjs"

local_setup() {
  DB="$T/a.db"
  sqlite3 "$DB" "CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT NOT NULL)"
  NODE="$(command -v node || true)"
  [ -n "$NODE" ] || skip "node is not installed"
}

# Start a node-sqlite3-wasm writer that stops mid-transaction with uncommitted pages spilled
# into the database file; sets HOLDER to its pid once it holds DB.lock.
start_holder() {
  "$NODE" "$PEER" "$DB" hold doomed 200 >"$T/hold.out" 2>"$T/hold.err" &
  local i
  for i in $(seq 100); do
    grep -q '^holding' "$T/hold.out" 2>/dev/null && break
    sleep 0.05
  done
  HOLDER="$(awk '/^holding/ {print $2}' "$T/hold.out")"
  [ -n "$HOLDER" ] || { cat "$T/hold.err" >&2; return 1; }
  [ -d "$DB.lock" ]
}

@test "node-sqlite3-wasm writers and sqlite-exec --dotlock writers racing on one database lose no acknowledged row" {
  mkdir "$T/acks"
  local pids=() k
  for k in 1 2 3; do
    "$NODE" "$PEER" "$DB" insert "w$k" 40 4 >"$T/acks/w$k" 2>"$T/acks/w$k.err" &
    pids+=($!)
  done
  for k in 1 2 3; do
    (
      for i in $(seq 25); do
        if "$SE" --dotlock --retries 1000 --backoff-max 20ms --deadline 60s "$DB" \
          "INSERT INTO t(v) VALUES (:v)" --param "v=s$k-$i" 2>>"$T/acks/s$k.err"; then
          echo "acked s$k-$i"
        fi
      done
    ) >"$T/acks/s$k" &
    pids+=($!)
  done
  for k in "${pids[@]}"; do wait "$k"; done
  cat "$T"/acks/*.err >&2
  acked="$(cat "$T"/acks/w? "$T"/acks/s? | sort)"
  present="$(sqlite3 "$DB" "SELECT 'acked ' || v FROM t" | sort)"
  assert_equal "$(printf '%s\n' "$acked" | wc -l)" "195"
  assert_equal "$present" "$acked"
  assert_equal "$(sqlite3 "$DB" 'PRAGMA integrity_check')" "ok"
  [ ! -e "$DB.lock" ]
  assert_equal "$(leftovers "$T" a.db acks)" ""
}

@test "a node-sqlite3-wasm writer SIGKILLed mid-transaction leaves DB.lock, and sqlite-exec --dotlock clears it as stale, rolls the hot journal back and writes" {
  before="$(md5sum <"$DB")"
  start_holder
  [ "$(md5sum <"$DB")" != "$before" ]  # uncommitted pages really reached the file
  kill -9 "$HOLDER"
  wait "$HOLDER" 2>/dev/null || true
  [ -d "$DB.lock" ] && [ -s "$DB-journal" ]
  # A node-sqlite3-wasm app is now locked out for good.
  run -3 "$NODE" "$PEER" "$DB" insert blocked 1 0 300
  touch -d '-2 minutes' "$DB.lock"
  run --separate-stderr "$SE" --dotlock "$DB" "INSERT INTO t(v) VALUES ('after')"
  assert_success
  assert_equal "$(printf '%s\n' "$stderr" | wc -l)" "1"
  [[ "$stderr" == "sqlite-exec: removed stale DB.lock: $DB.lock (no process has a.db open; age 2m"* ]]
  [ ! -e "$DB.lock" ] && [ ! -e "$DB-journal" ]
  run "$NODE" "$PEER" "$DB" insert again 1
  assert_success
  assert_output "acked again-1"
  assert_equal "$(sqlite3 "$DB" "SELECT group_concat(v) FROM t ORDER BY id")" "after,again-1"
  assert_equal "$(sqlite3 "$DB" "SELECT count(*) FROM t WHERE v LIKE 'doomed%'")" "0"
  assert_equal "$(sqlite3 "$DB" 'PRAGMA integrity_check')" "ok"
  assert_equal "$(leftovers "$T" a.db hold.out hold.err)" ""
}

@test "a live node-sqlite3-wasm transaction's DB.lock is never cleared, however old: exit 75 naming the holder" {
  start_holder
  ino="$(stat -c %i "$DB.lock")"
  touch -d '-1 hour' "$DB.lock"
  run --separate-stderr "$SE" --dotlock --dotlock-stale 1s --deadline 1s "$DB" "INSERT INTO t(v) VALUES ('x')"
  assert_failure 75
  [[ "$stderr" == *"$DB.lock held: pid $HOLDER (node) has a.db open"* ]]
  [ "$(stat -c %i "$DB.lock")" = "$ino" ]
  kill -0 "$HOLDER"
  assert_equal "$(leftovers "$T" a.db a.db.lock a.db-journal hold.out hold.err)" ""
  kill -9 "$HOLDER"
}

@test "--dotlock waits while DB.lock is held and proceeds once its holder releases it" {
  mkdir "$DB.lock"
  (sleep 0.3; rmdir "$DB.lock") &
  run --separate-stderr "$SE" --dotlock --retries 100 --backoff-max 50ms --stats "$DB" "INSERT INTO t(v) VALUES ('x')"
  assert_success
  [[ "$stderr" =~ attempts=([0-9]+) ]] && [ "${BASH_REMATCH[1]}" -gt 1 ]
  assert_equal "$(sqlite3 "$DB" 'SELECT v FROM t')" "x"
  [ ! -e "$DB.lock" ]
}

@test "SIGTERM during a --dotlock transaction rolls back, removes DB.lock and exits 143" {
  "$SE" --dotlock "$DB" "INSERT INTO t(v) VALUES ('never'); WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 30000000) SELECT count(*) FROM c" >/dev/null 2>&1 &
  pid=$!
  for i in $(seq 100); do [ -d "$DB.lock" ] && break; sleep 0.02; done
  [ -d "$DB.lock" ]
  kill -TERM "$pid"
  st=0
  wait "$pid" || st=$?
  assert_equal "$st" "143"
  # Mid-statement the process ends at once; its reaper removes DB.lock right after (hang guard 5 s).
  for i in $(seq 250); do [ -e "$DB.lock" ] || break; sleep 0.02; done
  [ ! -e "$DB.lock" ]
  assert_equal "$(sqlite3 "$DB" 'SELECT count(*) FROM t')" "0"
}

@test "without --dotlock an existing DB.lock draws exactly one warning line, and the SQL still runs" {
  mkdir "$DB.lock"
  run --separate-stderr "$SE" "$DB" "INSERT INTO t(v) VALUES ('a'); INSERT INTO t(v) VALUES ('b'); SELECT count(*) FROM t"
  assert_success
  assert_output "2"
  assert_equal "$(printf '%s\n' "$stderr" | wc -l)" "1"
  assert_equal "$stderr" "sqlite-exec: warning: a node-sqlite3-wasm lock exists: $DB.lock (a node-sqlite3-wasm client may be writing without SQLite locks; pass --dotlock to honour its lock)"
  rmdir "$DB.lock"
  run --separate-stderr "$SE" "$DB" "SELECT count(*) FROM t"
  assert_equal "$stderr" ""
}

@test "--dotlock refuses --wal and --dotlock-stale needs --dotlock (exit 64)" {
  run "$SE" --dotlock --wal "$DB" "SELECT 1"
  assert_failure 64
  run "$SE" --dotlock-stale 5s "$DB" "SELECT 1"
  assert_failure 64
  run "$SE" --dotlock --dotlock-stale soon "$DB" "SELECT 1"
  assert_failure 64
  assert_output --partial '"soon"'
}

# ---------------------------------------------------------------- stopping a running statement under --dotlock

FOREVER="INSERT INTO t(v) VALUES ('doomed'); WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x+1 FROM c) SELECT count(*) FROM c"

# DB.lock gone within 5 s (the reaper acts once sqlite-exec is gone), then a node-sqlite3-wasm
# writer gets in at once, and the stopped transaction's row is never visible.
assert_lock_released() {
  local i
  for i in $(seq 250); do [ -e "$DB.lock" ] || break; sleep 0.02; done
  [ ! -e "$DB.lock" ]
  run "$NODE" "$PEER" "$DB" insert after 1 0 2000
  assert_success
  assert_equal "$(sqlite3 "$DB" 'SELECT group_concat(v) FROM t')" "after-1"
  assert_equal "$(sqlite3 "$DB" 'PRAGMA integrity_check')" "ok"
  sqlite3 "$DB" "DELETE FROM t"
}

@test "--dotlock: SIGINT and --deadline stop a statement that runs forever, and DB.lock is removed after the process is gone" {
  run timeout --preserve-status -k 9 -s INT 1 "$SE" --dotlock "$DB" "$FOREVER"
  assert_failure 130
  assert_lock_released
  run --separate-stderr timeout -s KILL 10 "$SE" --dotlock --deadline 1s "$DB" "$FOREVER"
  assert_failure 75
  [[ "$stderr" == *"deadline reached while a statement was running"* ]]
  assert_lock_released
}

@test "--dotlock: a SIGKILLed sqlite-exec does not leave DB.lock behind for node-sqlite3-wasm apps" {
  "$SE" --dotlock "$DB" "$FOREVER" >/dev/null 2>&1 &
  pid=$!
  for i in $(seq 100); do [ -d "$DB.lock" ] && break; sleep 0.02; done
  [ -d "$DB.lock" ]
  sleep 0.2
  kill -KILL "$pid"
  wait "$pid" || true
  assert_lock_released
}
