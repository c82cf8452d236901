#!/usr/bin/env bats
# Black-box tests of dist/sqlite-exec against real peers: the sqlite3 CLI,
# python3's sqlite3 module and concurrent sqlite-exec processes.

load test_helper
bats_require_minimum_version 1.5.0

SE="sqlite-exec"

local_setup() {
  DB="$T/a.db"
  sqlite3 "$DB" "CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT NOT NULL)"
}

count() { sqlite3 "$DB" "SELECT count(*) FROM ${1:-t}"; }

# ---------------------------------------------------------------- bad input

@test "a missing database is exit 66 and nothing is created" {
  run "$SE" "$T/typo.db" "SELECT 1"
  assert_failure 66
  assert_output --partial "database does not exist: $T/typo.db"
  [ ! -e "$T/typo.db" ]
  assert_equal "$(leftovers "$T" a.db)" ""
}

@test "--create makes a missing database" {
  run "$SE" --create "$T/new.db" "CREATE TABLE x(a); INSERT INTO x VALUES (1)"
  assert_success
  assert_equal "$(sqlite3 "$T/new.db" 'SELECT a FROM x')" "1"
}

@test "bad SQL is exit 65 with a one-line error and nothing of the script committed" {
  run --separate-stderr "$SE" "$DB" "INSERT INTO t(v) VALUES ('first'); INSERT INTO t(v) VALUSE ('oops')"
  assert_failure 65
  [ "$(printf '%s\n' "$stderr" | wc -l)" -eq 1 ]
  [[ "$stderr" == "sqlite-exec: SQL error: near \"VALUSE\": syntax error"* ]]
  assert_equal "$(count)" "0"
}

@test "a constraint violation is exit 65 naming the statement, and earlier statements are rolled back" {
  run --separate-stderr "$SE" "$DB" $'INSERT INTO t(v) VALUES (\'a\');\nINSERT INTO t(v) VALUES (NULL)'
  assert_failure 65
  [ "$(printf '%s\n' "$stderr" | wc -l)" -eq 1 ]
  [[ "$stderr" == *"NOT NULL constraint failed: t.v [statement 2, line 2]"* ]]
  [[ "$stderr" == *"nothing was committed"* ]]
  assert_equal "$(count)" "0"
}

@test "a bad flag or a bad duration is exit 64" {
  run "$SE" --no-such-flag "$DB" "SELECT 1"
  assert_failure 64
  run "$SE" --deadline 3x "$DB" "SELECT 1"
  assert_failure 64
  assert_output --partial '"3x"'
  run "$SE" --busy-timeout soon "$DB" "SELECT 1"
  assert_failure 64
  run "$SE" --param "x:int=1.5" "$DB" "SELECT :x"
  assert_failure 64
  run "$SE" "$DB" "SELECT :missing"
  assert_failure 64
  assert_output --partial "no value for parameter: :missing"
}

@test "writes under --read-only are exit 77 and change nothing" {
  run "$SE" --read-only "$DB" "INSERT INTO t(v) VALUES ('x')"
  assert_failure 77
  run "$SE" --read-only "$DB" "SELECT 1; DELETE FROM t"
  assert_failure 77
  assert_equal "$(count)" "0"
  run "$SE" --read-only "$DB" "SELECT count(*) FROM t"
  assert_success
  assert_output "0"
}

# ---------------------------------------------------------------- values

@test "values with quotes, '); DROP TABLE and newlines round-trip exactly and are never spliced" {
  nasty=$'it\'s "quoted"\n\'); DROP TABLE t; --\ttab\\back'
  run "$SE" "$DB" "INSERT INTO t(v) VALUES (:v); INSERT INTO t(v) VALUES (?)" --param "v=$nasty" --arg "$nasty"
  assert_success
  assert_equal "$(count)" "2"
  run "$SE" --raw "$DB" "SELECT v FROM t WHERE id = 1"
  assert_equal "$output" "$nasty"
  # and what sqlite3 itself reads back is byte-identical
  assert_equal "$(sqlite3 "$DB" "SELECT count(*) FROM t WHERE v = CAST(x'$(printf '%s' "$nasty" | od -An -tx1 | tr -d ' \n')' AS TEXT)")" "2"
}

@test "typed parameters bind as integer, real, null and blob" {
  printf '\000\377\n' >"$T/blob"
  run "$SE" "$DB" "SELECT typeof(:i), :i + 1, typeof(:r), typeof(:n), typeof(:b), hex(:b), typeof(:s)" \
    --param i:int=9007199254740993 --param r:real=1.5 --param n:null --param "b:blob=@$T/blob" --param s=42
  assert_success
  assert_output $'integer\t9007199254740994\treal\tnull\tblob\t00FF0A\ttext'
}

# ---------------------------------------------------------------- output

@test "tsv escapes tab, newline, CR and backslash; --header and --null" {
  "$SE" "$DB" "INSERT INTO t(v) VALUES (:v)" --param $'v=a\tb\nc\\d'
  run "$SE" --header --null NULL "$DB" "SELECT v, NULL AS n FROM t"
  assert_success
  assert_output $'v\tn\na\\tb\\nc\\\\d\tNULL'
}

@test "csv, json, jsonl and table formats" {
  "$SE" "$DB" "INSERT INTO t(v) VALUES ('x,\"y\"'), ('plain')"
  run "$SE" --format csv --header "$DB" "SELECT id, v FROM t"
  assert_output $'id,v\n1,"x,""y"""\n2,plain'
  run "$SE" --json "$DB" "SELECT id, v FROM t"
  assert_equal "$(printf '%s' "$output" | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["v"])')" 'x,"y"'
  run "$SE" --format jsonl "$DB" "SELECT id FROM t"
  assert_output $'{"id":1}\n{"id":2}'
  run "$SE" --format table "$DB" "SELECT id FROM t"
  assert_line --index 1 "| id |"
}

@test "--raw prints the first value unescaped, --changes the rows changed" {
  run "$SE" --changes "$DB" "INSERT INTO t(v) VALUES ('a'), ('b'), ('c'); UPDATE t SET v = v || '!' WHERE v <> 'a'"
  assert_output "5"
  n=$("$SE" --raw "$DB" "SELECT count(*) FROM t")
  [ "$n" = "3" ]
}

@test "SQL comes from stdin, from '-' and from --file" {
  echo "INSERT INTO t(v) VALUES ('stdin');" | "$SE" "$DB"
  echo "INSERT INTO t(v) VALUES ('dash');" | "$SE" "$DB" -
  printf "INSERT INTO t(v) VALUES ('file; with semicolon');\n-- comment;\n" >"$T/s.sql"
  "$SE" --file "$T/s.sql" "$DB"
  assert_equal "$(sqlite3 "$DB" 'SELECT group_concat(v, "|") FROM t')" "stdin|dash|file; with semicolon"
}

@test "a CREATE TRIGGER body with semicolons runs as one statement" {
  run "$SE" "$DB" "CREATE TABLE log(m); CREATE TRIGGER tr AFTER INSERT ON t BEGIN INSERT INTO log VALUES ('a;b'); INSERT INTO log VALUES (CASE WHEN new.v = 'x' THEN 'x' END); END; INSERT INTO t(v) VALUES ('x')"
  assert_success
  assert_equal "$(count log)" "2"
}

@test "foreign keys are enforced by default and --no-foreign-keys turns them off" {
  sqlite3 "$DB" "CREATE TABLE p(id INTEGER PRIMARY KEY); CREATE TABLE c(p REFERENCES p(id))"
  run "$SE" "$DB" "INSERT INTO c VALUES (42)"
  assert_failure 65
  assert_output --partial "FOREIGN KEY constraint failed"
  run "$SE" --no-foreign-keys "$DB" "INSERT INTO c VALUES (42)"
  assert_success
}

@test "--wal switches the file to WAL persistently; --pragma and --synchronous apply" {
  run "$SE" --wal --synchronous NORMAL --pragma cache_size=-1000 "$DB" "PRAGMA synchronous; PRAGMA cache_size"
  assert_success
  assert_output $'1\n-1000'
  assert_equal "$(sqlite3 "$DB" 'PRAGMA journal_mode')" "wal"
  run "$SE" --pragma "cache_size=1; DROP TABLE t" "$DB" "SELECT 1"
  assert_failure 64
}

@test "--soft turns any failure into exit 0 with the diagnostic still printed" {
  run --separate-stderr "$SE" --soft "$T/missing.db" "SELECT 1"
  assert_success
  [[ "$stderr" == *"database does not exist"* ]]
  run --separate-stderr "$SE" --soft --bogus "$DB" "SELECT 1"
  assert_success
  [[ "$stderr" == *"unknown option"* ]]
}

@test "--help shows real examples and --version the semver" {
  run "$SE" --help
  assert_success
  assert_output --partial "--busy-timeout"
  assert_output --partial "Examples:"
  assert_output --partial "sqlite-exec app.db --backup app-copy.db"
  run "$SE" --version
  assert_output --regexp '^sqlite-exec [0-9]+\.[0-9]+\.[0-9]+$'
}

# ---------------------------------------------------------------- busy / retry

@test "sqlite3 holding BEGIN EXCLUSIVE for 1.5s: the default budget waits and succeeds" {
  { echo "BEGIN EXCLUSIVE; INSERT INTO t(v) VALUES ('holder');"; sleep 1.5; echo "COMMIT;"; } | sqlite3 "$DB" &
  holder=$!
  sleep 0.3
  run --separate-stderr "$SE" --stats "$DB" "INSERT INTO t(v) VALUES ('waiter')"
  wait "$holder"
  assert_success
  [[ "$stderr" =~ attempts=[0-9]+\ waited=.*\ total= ]]
  assert_equal "$(sqlite3 "$DB" 'SELECT group_concat(v) FROM t ORDER BY id')" "holder,waiter"
}

@test "sqlite3 holding BEGIN EXCLUSIVE for 1.5s: --deadline 300ms is exit 75 before the holder finishes, nothing committed" {
  { echo "BEGIN EXCLUSIVE; INSERT INTO t(v) VALUES ('holder');"; sleep 1.5; echo "COMMIT;"; } | sqlite3 "$DB" &
  holder=$!
  sleep 0.3
  start=$(date +%s%N)
  run --separate-stderr "$SE" --deadline 300ms "$DB" "INSERT INTO t(v) VALUES ('waiter')"
  took_ms=$(( ($(date +%s%N) - start) / 1000000 ))
  holder_still_running=0
  kill -0 "$holder" 2>/dev/null && holder_still_running=1
  wait "$holder"
  assert_failure 75
  [[ "$stderr" == *"database is busy"*"attempt"*"nothing was committed"* ]]
  [ "$took_ms" -lt 1100 ]
  [ "$holder_still_running" -eq 1 ]
  assert_equal "$(sqlite3 "$DB" 'SELECT group_concat(v) FROM t')" "holder"
}

@test "a busy_timeout shorter than the holder's lock is bridged by retries with backoff" {
  { echo "BEGIN EXCLUSIVE;"; sleep 1.5; echo "COMMIT;"; } | sqlite3 "$DB" &
  holder=$!
  sleep 0.3
  run --separate-stderr "$SE" --stats --busy-timeout 100ms --backoff-max 300ms --retries 30 "$DB" "INSERT INTO t(v) VALUES ('waiter')"
  wait "$holder"
  assert_success
  [[ "$stderr" =~ attempts=([0-9]+) ]]
  [ "${BASH_REMATCH[1]}" -ge 2 ]
  assert_equal "$(count)" "1"
}

@test "SIGTERM mid-transaction rolls back and exits 143" {
  "$SE" "$DB" "INSERT INTO t(v) VALUES ('before')"
  "$SE" "$DB" "INSERT INTO t(v) VALUES ('doomed'); WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x+1 FROM c WHERE x < 30000000) SELECT count(*) FROM c" &
  pid=$!
  sleep 0.5
  kill -TERM "$pid"
  rc=0
  wait "$pid" || rc=$?
  [ "$rc" -eq 143 ]
  assert_equal "$(sqlite3 "$DB" 'SELECT group_concat(v) FROM t')" "before"
  assert_equal "$(sqlite3 "$DB" 'PRAGMA integrity_check')" "ok"
}

# ---------------------------------------------------------------- concurrency

# Start $1 processes at once, the i-th running `$2 i` (stdout dropped, stderr kept in $T/err.i),
# and wait for all of them: $failed counts the ones that exited non-zero; their stderr is shown.
race() {
  local n=$1 fn=$2 i p
  local pids=()
  for i in $(seq 1 "$n"); do
    "$fn" "$i" >/dev/null 2>"$T/err.$i" &
    pids+=($!)
  done
  failed=0
  for p in "${pids[@]}"; do wait "$p" || failed=$((failed + 1)); done
  cat "$T"/err.* >&2
}

@test "24 concurrent read-then-write increments all succeed and none is lost" {
  sqlite3 "$DB" "PRAGMA journal_mode=WAL; CREATE TABLE c(v INTEGER); INSERT INTO c VALUES (0)" >/dev/null
  increment() { "$SE" "$DB" "SELECT v FROM c; UPDATE c SET v = v + 1"; }
  race 24 increment
  [ "$failed" -eq 0 ]
  assert_equal "$(sqlite3 "$DB" 'SELECT v FROM c')" "24"
  # Without any retry: the write lock is taken up front (BEGIN IMMEDIATE), so busy_timeout alone
  # is enough. A deferred read-then-write would get SQLITE_BUSY_SNAPSHOT, which busy_timeout cannot cure.
  increment_once() { "$SE" --retries 0 "$DB" "SELECT v FROM c; UPDATE c SET v = v + 1"; }
  race 24 increment_once
  [ "$failed" -eq 0 ]
  assert_equal "$(sqlite3 "$DB" 'SELECT v FROM c')" "48"
}

@test "100 concurrent one-row writers on a WAL database: 100 exit 0, 100 rows, integrity ok" {
  "$SE" --wal "$DB" "SELECT 1" >/dev/null
  insert() { "$SE" "$DB" "INSERT INTO t(v) VALUES (:i)" --param "i=w$1"; }
  race 100 insert
  assert_equal "$failed" "0"
  assert_equal "$(count)" "100"
  assert_equal "$(sqlite3 "$DB" 'SELECT count(DISTINCT v) FROM t')" "100"
  assert_equal "$(sqlite3 "$DB" 'PRAGMA integrity_check')" "ok"
}

@test "mixed clients on one WAL database (sqlite-exec, sqlite3 CLI, python3) keep every row" {
  sqlite3 "$DB" "PRAGMA journal_mode=WAL" >/dev/null
  pids=()
  for i in $(seq 1 15); do
    "$SE" "$DB" "INSERT INTO t(v) VALUES (:v)" --param "v=se$i" &
    pids+=($!)
    printf '.timeout 10000\nINSERT INTO t(v) VALUES (%s);\n' "'cli$i'" | sqlite3 "$DB" &
    pids+=($!)
    python3 -c 'import sqlite3, sys
c = sqlite3.connect(sys.argv[1], timeout=10)
with c:
    c.execute("INSERT INTO t(v) VALUES (?)", (sys.argv[2],))' "$DB" "py$i" &
    pids+=($!)
  done
  fails=0
  for p in "${pids[@]}"; do wait "$p" || fails=$((fails + 1)); done
  [ "$fails" -eq 0 ]
  assert_equal "$(count)" "45"
  for k in se cli py; do
    assert_equal "$(sqlite3 "$DB" "SELECT count(*) FROM t WHERE v LIKE '$k%'")" "15"
  done
  assert_equal "$(sqlite3 "$DB" 'PRAGMA integrity_check')" "ok"
}

@test "SIGKILL a random subset of writers: every exit-0 row is there, no cleanly failed row is, integrity ok" {
  "$SE" --wal "$DB" "SELECT 1" >/dev/null
  # A holder keeps the write lock for a while so writers queue up; short deadlines make some fail cleanly (75).
  { echo "BEGIN IMMEDIATE;"; sleep 0.6; echo "COMMIT;"; } | sqlite3 "$DB" &
  holder=$!
  sleep 0.1
  pids=()
  for i in $(seq 1 30); do
    if [ $((i % 3)) -eq 0 ]; then dl=200ms; else dl=20s; fi
    # Each transaction also burns CPU after its INSERT so kills land mid-transaction too.
    "$SE" --deadline "$dl" "$DB" "INSERT INTO t(v) VALUES (:v); WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x+1 FROM c WHERE x < 200000) SELECT count(*) FROM c" --param "v=w$i" >/dev/null 2>&1 &
    pids+=($!)
  done
  sleep 0.3
  killed=0
  for idx in $(shuf -i 0-29 -n 12); do
    kill -KILL "${pids[$idx]}" 2>/dev/null && killed=$((killed + 1))
    sleep 0.0$((RANDOM % 9))
  done
  wait "$holder"
  declare -A rc
  for i in $(seq 1 30); do
    r=0
    wait "${pids[$((i - 1))]}" || r=$?
    rc[$i]=$r
  done
  ok=0 clean_fail=0 sigkilled=0
  for i in $(seq 1 30); do
    present=$(sqlite3 "$DB" "SELECT count(*) FROM t WHERE v = 'w$i'")
    if [ "${rc[$i]}" -eq 0 ]; then
      ok=$((ok + 1)); [ "$present" -eq 1 ] || { echo "w$i exited 0 but its row is missing" >&2; false; }
    elif [ "${rc[$i]}" -lt 128 ]; then
      clean_fail=$((clean_fail + 1)); [ "$present" -eq 0 ] || { echo "w$i failed cleanly (${rc[$i]}) but its row is there" >&2; false; }
    else
      sigkilled=$((sigkilled + 1))
    fi
  done
  echo "ok=$ok clean_fail=$clean_fail killed=$sigkilled" >&2
  [ "$killed" -gt 0 ]
  [ "$ok" -gt 0 ]
  assert_equal "$(sqlite3 "$DB" 'PRAGMA integrity_check')" "ok"
}

# ---------------------------------------------------------------- --each

@test "--each: 1000 jsonl rows commit" {
  for i in $(seq 1 1000); do printf '{"v":"row %d","n":%d}\n' "$i" "$i"; done >"$T/rows.jsonl"
  run "$SE" --changes "$DB" --each "INSERT INTO t(id, v) VALUES (:n, :v)" <"$T/rows.jsonl"
  assert_success
  assert_output "1000"
  assert_equal "$(count)" "1000"
  assert_equal "$(sqlite3 "$DB" 'SELECT v FROM t WHERE id = 777')" "row 777"
}

@test "--each: a malformed row is exit 65 naming its line, and nothing of its batch commits" {
  for i in $(seq 1 300); do
    if [ "$i" -eq 250 ]; then echo '{"v": "broken'; else printf '{"v":"r%d"}\n' "$i"; fi
  done >"$T/rows.jsonl"
  run --separate-stderr "$SE" "$DB" --each "INSERT INTO t(v) VALUES (:v)" --batch 100 <"$T/rows.jsonl"
  assert_failure 65
  [[ "$stderr" == *"malformed input row: line 250"* ]]
  # batches 1-100 and 101-200 committed; nothing of 201-300
  assert_equal "$(count)" "200"
  assert_equal "$(sqlite3 "$DB" "SELECT count(*) FROM t WHERE v = 'r201'")" "0"
  # without --batch the whole input is one batch: nothing at all
  sqlite3 "$DB" "DELETE FROM t"
  run "$SE" "$DB" --each "INSERT INTO t(v) VALUES (:v)" <"$T/rows.jsonl"
  assert_failure 65
  assert_equal "$(count)" "0"
}

@test "--each reads tsv and csv with a header line; a row lacking a needed field is 65" {
  printf 'v\tid\nx\\ty\t1\nplain\t2\n' | "$SE" "$DB" --input tsv --each "INSERT INTO t(id, v) VALUES (:id, :v)"
  printf 'id,v\n3,"multi\nline"\n' | "$SE" "$DB" --input csv --each "INSERT INTO t(id, v) VALUES (:id, :v)"
  assert_equal "$("$SE" --raw "$DB" "SELECT v FROM t WHERE id = 1")" $'x\ty'
  assert_equal "$("$SE" --raw "$DB" "SELECT v FROM t WHERE id = 3")" $'multi\nline'
  run "$SE" "$DB" --each "INSERT INTO t(v) VALUES (:v)" <<<'{"w":1}'
  assert_failure 65
  assert_output --partial "line 1"
}

# ---------------------------------------------------------------- maintenance

@test "--check: ok on a healthy database, exit 1 and a report on a foreign key violation" {
  run "$SE" --check "$DB"
  assert_success
  assert_output "ok"
  sqlite3 "$DB" "CREATE TABLE p(id INTEGER PRIMARY KEY); CREATE TABLE c(p REFERENCES p(id)); INSERT INTO c VALUES (9)"
  run "$SE" --check "$DB"
  assert_failure 1
  assert_output --partial "foreign key: c rowid 1"
}

@test "--backup writes a consistent copy beside DEST and renames it into place" {
  "$SE" "$DB" "INSERT INTO t(v) VALUES ('a'), ('b')"
  mkdir "$T/bk"
  run "$SE" --backup "$T/bk/copy.db" "$DB"
  assert_success
  assert_equal "$(sqlite3 "$T/bk/copy.db" 'SELECT group_concat(v) FROM t')" "a,b"
  assert_equal "$(leftovers "$T/bk" copy.db)" ""
  run "$SE" --backup "$T/nope/copy.db" "$DB"
  assert_failure 73
}

@test "--checkpoint=TRUNCATE empties the WAL" {
  "$SE" --wal "$DB" "INSERT INTO t(v) VALUES ('a')"
  python3 -c 'import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); c.execute("insert into t(v) values (1)"); c.commit(); import os; os._exit(0)' "$DB"
  run "$SE" --checkpoint=TRUNCATE "$DB"
  assert_success
  assert_output $'0\t0\t0'
  [ ! -s "$DB-wal" ]
  run "$SE" --checkpoint=SOMETIMES "$DB"
  assert_failure 64
}

# ---------------------------------------------------------------- stopping a running statement

# A write transaction that inserted a row, then a statement that never ends.
FOREVER="INSERT INTO t(v) VALUES ('doomed'); WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x+1 FROM c) SELECT count(*) FROM c"

# The transaction left nothing visible: only the committed 'before' row, integrity ok, no debris.
assert_rolled_back() {
  assert_equal "$(sqlite3 "$DB" 'SELECT group_concat(v) FROM t')" "before"
  assert_equal "$(sqlite3 "$DB" 'PRAGMA integrity_check')" "ok"
  assert_equal "$(leftovers "$T" a.db a.db-journal a.db-wal a.db-shm)" ""
}

@test "SIGINT, SIGTERM and SIGHUP stop a statement that runs forever: 130/143/129, its row never visible" {
  "$SE" "$DB" "INSERT INTO t(v) VALUES ('before')"
  for sig in INT:130 TERM:143 HUP:129; do
    # timeout sends the signal after 1 s; -k 9: SIGKILL 9 s later is the hang guard (137 fails the test).
    run timeout --preserve-status -k 9 -s "${sig%:*}" 1 "$SE" "$DB" "$FOREVER"
    [ "$status" -eq "${sig#*:}" ] || { echo "SIG${sig%:*}: exit $status, want ${sig#*:}"; false; }
    assert_output ""
    assert_rolled_back
  done
}

@test "--deadline 1s stops a statement that runs forever: exit 75 saying so, its row never visible" {
  "$SE" "$DB" "INSERT INTO t(v) VALUES ('before')"
  run --separate-stderr timeout -k 9 -s KILL 10 "$SE" --deadline 1s "$DB" "$FOREVER"
  assert_failure 75
  assert_equal "$stderr" "sqlite-exec: deadline reached while a statement was running: $DB (--deadline 1s; nothing was committed; try again later)"
  assert_output ""
  assert_rolled_back
}

@test "--deadline stops a running statement on a WAL database too, and --soft turns it into exit 0" {
  "$SE" --wal "$DB" "INSERT INTO t(v) VALUES ('before')"
  run --separate-stderr timeout -s KILL 10 "$SE" --deadline 500ms "$DB" "$FOREVER"
  assert_failure 75
  [[ "$stderr" == *"deadline reached while a statement was running"* ]]
  assert_rolled_back
  run --separate-stderr timeout -s KILL 10 "$SE" --soft --deadline 500ms "$DB" "$FOREVER"
  assert_success
  [[ "$stderr" == *"deadline reached while a statement was running"* ]]
  assert_rolled_back
  # A statement that finishes in time still commits under --deadline.
  run "$SE" --deadline 5s "$DB" "INSERT INTO t(v) VALUES ('after')"
  assert_success
  assert_equal "$(sqlite3 "$DB" 'SELECT group_concat(v) FROM t')" "before,after"
}

# ---------------------------------------------------------------- permissions (as another user)

# nobody runs a copy of the binary in a 755 directory under /tmp: the checkout may sit in a 0700 one.
nobody_setup() {
  [ "$(id -u)" -eq 0 ] || skip "needs root to run as another user"
  command -v runuser >/dev/null || skip "runuser is missing"
  PUB="$(mktemp -d /tmp/hs-nobody.XXXXXX)"
  chmod 755 "$PUB"
  cp "$DIST/sqlite-exec" "$PUB/sqlite-exec"
}
as_nobody() { runuser -u nobody -- "$PUB/sqlite-exec" "$@"; }
local_teardown() { if [ -n "${PUB:-}" ]; then rm -rf "$PUB"; fi; }

@test "permission problems are exit 77 saying what is denied: another user's 0600 db, --create, --backup, a WAL db read-only" {
  nobody_setup
  cd "$PUB"
  sqlite3 priv.db "CREATE TABLE t(a); INSERT INTO t VALUES (1)"
  chmod 600 priv.db
  mkdir ro bk
  sqlite3 ro/w.db "PRAGMA journal_mode=WAL; CREATE TABLE t(a); INSERT INTO t VALUES (1)" >/dev/null
  sqlite3 ro/j.db "CREATE TABLE t(a); INSERT INTO t VALUES (1)"
  chmod 644 ro/w.db ro/j.db
  before="$(sha1sum priv.db ro/w.db ro/j.db)"

  run --separate-stderr as_nobody priv.db "SELECT * FROM t"
  assert_failure 77
  assert_equal "$stderr" "sqlite-exec: permission denied: priv.db (mode 0600, owner uid 0; this user cannot read it)"

  run --separate-stderr as_nobody --create ro/new.db "CREATE TABLE x(a)"
  assert_failure 77
  assert_equal "$stderr" "sqlite-exec: cannot create database: ro/new.db (EACCES: permission denied; this user cannot write in ro)"
  [ ! -e ro/new.db ]

  run --separate-stderr as_nobody ro/j.db --backup bk/copy.db
  assert_failure 77
  assert_equal "$stderr" "sqlite-exec: cannot write backup: bk/copy.db (EACCES: permission denied; this user cannot create files in bk)"
  assert_equal "$(leftovers bk)" ""

  run --separate-stderr as_nobody --read-only ro/w.db "SELECT * FROM t"
  assert_failure 77
  [[ "$stderr" == "sqlite-exec: cannot read a WAL database whose directory is not writable: ro/w.db (SQLite must create ro/w.db-shm even to read, and this user cannot write in ro;"* ]]

  # A rollback-journal database reads fine read-only; writing it needs its directory.
  run as_nobody --read-only ro/j.db "SELECT * FROM t"
  assert_success
  assert_output "1"
  chmod 666 ro/j.db
  run --separate-stderr as_nobody ro/j.db "INSERT INTO t VALUES (2)"
  assert_failure 77
  [[ "$stderr" == "sqlite-exec: cannot write the database: its directory is not writable: ro/j.db"* ]]
  chmod 644 ro/j.db

  assert_equal "$(sha1sum priv.db ro/w.db ro/j.db)" "$before"
  assert_equal "$(leftovers ro w.db j.db)" ""
}

# ---------------------------------------------------------------- --backup file modes and debris

@test "--backup keeps a 0600 database's mode and never widens an existing DEST's" {
  umask 022
  "$SE" "$DB" "INSERT INTO t(v) VALUES ('secret')"
  chmod 600 "$DB"
  mkdir "$T/bk"
  run "$SE" "$DB" --backup "$T/bk/copy.db"
  assert_success
  assert_equal "$(stat -c %a "$T/bk/copy.db")" "600"
  assert_equal "$(sqlite3 "$T/bk/copy.db" 'SELECT v FROM t')" "secret"
  # A wider source does not widen the 0600 DEST it replaces.
  chmod 644 "$DB"
  run "$SE" "$DB" --backup "$T/bk/copy.db"
  assert_success
  assert_equal "$(stat -c %a "$T/bk/copy.db")" "600"
  chmod 640 "$T/bk/copy.db"
  run "$SE" "$DB" --backup "$T/bk/copy.db"
  assert_success
  assert_equal "$(stat -c %a "$T/bk/copy.db")" "640"
  assert_equal "$(leftovers "$T/bk" copy.db)" ""
}

@test "--backup removes temp files a dead backup left beside DEST, and keeps a live one's" {
  mkdir "$T/bk"
  dead="$(sh -c 'echo $$')"
  touch "$T/bk/.copy.db.hardshell-$dead-abc123.tmp" "$T/bk/.copy.db.hardshell-$$-def456.tmp" "$T/bk/.other.db.hardshell-$dead-abc123.tmp"
  run "$SE" "$DB" --backup "$T/bk/copy.db"
  assert_success
  assert_equal "$(leftovers "$T/bk" copy.db ".copy.db.hardshell-$$-def456.tmp" ".other.db.hardshell-$dead-abc123.tmp")" ""
  [ ! -e "$T/bk/.copy.db.hardshell-$dead-abc123.tmp" ]
}

# ---------------------------------------------------------------- --check on damaged files

@test "--check reports a damaged file as a finding: exit 1, text and {\"ok\":false,...}, the file untouched" {
  sqlite3 "$DB" "CREATE INDEX tv ON t(v); WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x+1 FROM c WHERE x < 2000) INSERT INTO t(v) SELECT hex(randomblob(50)) FROM c"
  # Overwrite two b-tree pages (4096-byte pages 6 and 7) with text.
  head -c 8192 /dev/zero | tr '\0' 'x' | dd of="$DB" bs=4096 seek=5 conv=notrunc status=none
  printf 'this is not a database, only text that is long enough to have a header of a hundred bytes........\n' > "$T/text.db"
  sum="$(sha1sum "$DB" "$T/text.db")"
  for f in "$DB" "$T/text.db"; do
    run --separate-stderr "$SE" --check "$f"
    assert_failure 1
    assert_equal "$stderr" ""
    [[ "$output" == "integrity: "* ]]
    run --separate-stderr "$SE" --check --json "$f"
    assert_failure 1
    assert_equal "$stderr" ""
    assert_equal "$(printf '%s' "$output" | python3 -c 'import json,sys; d=json.load(sys.stdin); print(d["ok"], len(d["problems"]) > 0)')" "False True"
  done
  run "$SE" --check --json "$T/text.db"
  assert_output '{"ok":false,"problems":["integrity: file is not a database (SQLITE_NOTADB)"]}'
  assert_equal "$(sha1sum "$DB" "$T/text.db")" "$sum"
}

# ---------------------------------------------------------------- output into a closed pipe

@test "a reader that goes away (| head -c1) ends --raw blob, text and json output alike: 141, no error line" {
  export SE DB
  for q in "--raw|SELECT randomblob(4000000)" "--raw|SELECT hex(randomblob(4000000))" "--format=tsv|SELECT hex(randomblob(4000000))" "--json|SELECT hex(randomblob(4000000))"; do
    run --separate-stderr bash -c '"$SE" "$1" "$DB" "$2" | head -c1 >/dev/null; echo "${PIPESTATUS[0]}"' _ "${q%%|*}" "${q#*|}"
    assert_output "141"
    assert_equal "$stderr" ""
  done
  run bash -c '"$SE" --raw "$DB" "SELECT randomblob(4000000)" | wc -c'
  assert_output "4000000"
}

# ---------------------------------------------------------------- retrying scripts that change the connection

@test "a script that ATTACHes a busy database is retried from a clean connection and succeeds" {
  sqlite3 "$T/m.db" "CREATE TABLE t(v TEXT)"
  # The holder takes m.db's write lock: ATTACH (a read) succeeds, the INSERT into m is busy.
  { echo "BEGIN IMMEDIATE; INSERT INTO t(v) VALUES ('holder');"; sleep 1.5; echo "COMMIT;"; } | sqlite3 "$T/m.db" &
  holder=$!
  sleep 0.3
  run --separate-stderr "$SE" --stats --busy-timeout 100ms --retries 30 --backoff-max 200ms "$DB" \
    "ATTACH '$T/m.db' AS m; INSERT INTO m.t(v) VALUES ('waiter'); DETACH m"
  wait "$holder"
  assert_success
  [[ "$stderr" =~ attempts=([0-9]+) ]]
  [ "${BASH_REMATCH[1]}" -ge 2 ]
  assert_equal "$(sqlite3 "$T/m.db" 'SELECT group_concat(v) FROM t')" "holder,waiter"
  assert_equal "$(leftovers "$T" a.db m.db)" ""
}

@test "--read-only reads a WAL database in a directory it cannot write while DB-shm exists (a writer has it open)" {
  nobody_setup
  mkdir "$PUB/ro"
  sqlite3 "$PUB/ro/w.db" "PRAGMA journal_mode=WAL; CREATE TABLE t(a); INSERT INTO t VALUES (1)" >/dev/null
  chmod 644 "$PUB/ro/w.db"
  # The writer keeps w.db open, so w.db-wal and w.db-shm exist while nobody reads.
  run python3 -c '
import sqlite3, subprocess, sys
c = sqlite3.connect(sys.argv[1] + "/ro/w.db")
c.execute("INSERT INTO t VALUES (2)"); c.commit()
r = subprocess.run(["runuser", "-u", "nobody", "--", sys.argv[1] + "/sqlite-exec", "--read-only", sys.argv[1] + "/ro/w.db", "SELECT count(*) FROM t"], capture_output=True, text=True)
print(r.returncode, r.stdout.strip(), r.stderr.strip())
' "$PUB"
  assert_output "0 2 "
}

# ---------------------------------------------------------------- option values that look like flags

@test "option values that look like -h, --help, --version or --soft are bound as values, not obeyed" {
  run "$SE" "$DB" "INSERT INTO t(v) VALUES (?)" --arg -h
  assert_success
  refute_output --partial "Examples"
  run "$SE" "$DB" "INSERT INTO t(v) VALUES (?), (?)" -a --help --arg --version
  assert_success
  run "$SE" "$DB" "INSERT INTO t(v) VALUES (:v)" --param v=x --arg --soft
  assert_failure 64   # --soft is a value (one too many), so the error is not softened to exit 0
  assert_output --partial "more --arg values than ? placeholders"
  run "$SE" "$DB" "INSERT INTO t(v) VALUES (:v)" -p v=-h
  assert_success
  assert_equal "$(sqlite3 "$DB" 'SELECT group_concat(v, " ") FROM t ORDER BY id')" "-h --help --version -h"
  run "$SE" "$DB" "SELECT ?" --arg
  assert_failure 64
  assert_equal "$(count)" "4"
}

# ---------------------------------------------------------------- messages: one shape, `--` hints, --stats, terminals

@test "--checkpoint FULL (the mode as a separate word) suggests --checkpoint=FULL, and nothing runs" {
  sqlite3 "$DB" "PRAGMA journal_mode=WAL; INSERT INTO t(v) VALUES ('a')" >/dev/null
  wal_before=$(stat -c %s "$DB-wal" 2>/dev/null || echo none)
  run --separate-stderr "$SE" "$DB" --checkpoint FULL
  assert_failure 64
  assert_equal "$stderr" "sqlite-exec: conflicting inputs: SQL argument and --checkpoint (give SQL one way only; did you mean --checkpoint=FULL?)"
  assert_equal "$(stat -c %s "$DB-wal" 2>/dev/null || echo none)" "$wal_before"
  run "$SE" "$DB" --checkpoint=full
  assert_success
}

@test "a bad value of any option is said one way: bad value for --NAME: \"TEXT\" (what would do)" {
  run --separate-stderr "$SE" --format xml "$DB" "SELECT 1"
  assert_failure 64
  assert_equal "$stderr" 'sqlite-exec: bad value for --format: "xml" (one of tsv, csv, json, jsonl, table)'
  run --separate-stderr "$SE" --retries many "$DB" "SELECT 1"
  assert_failure 64
  assert_equal "$stderr" 'sqlite-exec: bad value for --retries: "many" (a whole number >= 0)'
  run --separate-stderr "$SE" --busy-timeout 5x "$DB" "SELECT 1"
  assert_failure 64
  assert_equal "$stderr" 'sqlite-exec: bad value for --busy-timeout: "5x" (a duration such as 250ms, 10s, 5m)'
  run --separate-stderr "$SE" --param x "$DB" "INSERT INTO t(v) VALUES (:x)"
  assert_failure 64
  [[ "$stderr" == 'sqlite-exec: bad value for --param: "x" ('* ]] || { echo "$stderr"; false; }
  run --separate-stderr "$SE" --batch 0 "$DB" --each "INSERT INTO t(v) VALUES (:v)" <<<'{"v":"a"}'
  assert_failure 64
  assert_equal "$stderr" 'sqlite-exec: bad value for --batch: "0" (a whole number >= 1)'
  assert_equal "$(count)" "0"
}

@test "a directory given as the database is 73 with a hint" {
  mkdir d
  run --separate-stderr "$SE" d "SELECT 1"
  assert_failure 73
  assert_equal "$stderr" "sqlite-exec: database path is a directory: d (give the path of a database file, e.g. DIR/app.db)"
}

@test "--stats prints its line on every exit: 75 when the budget ran out, 65 on bad SQL, 0" {
  mkfifo ctl
  sqlite3 "$DB" < ctl &
  holder=$!
  exec 7>ctl # not 3: bats reports on fd 3
  echo "BEGIN EXCLUSIVE; INSERT INTO t(v) VALUES ('holder');" >&7
  for _ in $(seq 100); do sqlite3 "$DB" "BEGIN IMMEDIATE; ROLLBACK" 2>/dev/null || break; sleep 0.05; done
  run --separate-stderr "$SE" --stats --retries 2 --backoff-base 10ms --busy-timeout 10ms "$DB" "INSERT INTO t(v) VALUES ('waiter')"
  echo "COMMIT;" >&7
  exec 7>&-
  wait "$holder"
  assert_failure 75
  [[ "$stderr" == *"database is busy"* ]] || { echo "$stderr"; false; }
  [[ "$stderr" =~ sqlite-exec:\ stats:\ attempts=3\ waited=[0-9.]+m?s\ total= ]] || { echo "$stderr"; false; }
  assert_equal "$(sqlite3 "$DB" 'SELECT group_concat(v) FROM t')" "holder"
  run --separate-stderr "$SE" --stats "$DB" "SELECT * FROM nope"
  assert_failure 65
  [[ "$stderr" == *$'\n'"sqlite-exec: stats: attempts=1 waited=0ms total="* ]] || { echo "$stderr"; false; }
  run --separate-stderr "$SE" --stats "$DB" "SELECT 1"
  assert_success
  [[ "$stderr" == "sqlite-exec: stats: attempts=1 waited=0ms total="* ]] || { echo "$stderr"; false; }
}

@test "no SQL and a terminal on stdin is a usage error (64) with a hint, not a wait forever; --each too" {
  command -v script >/dev/null || skip "script(1) missing: no way to give a terminal as stdin"
  run timeout 20 script -qec "$(command -v "$SE") $DB" /dev/null
  assert_failure 64
  assert_output --partial "sqlite-exec: no SQL given, and stdin is a terminal (give SQL as an argument, with --file FILE, or on a pipe"
  run timeout 20 script -qec "$(command -v "$SE") $DB --each 'INSERT INTO t(v) VALUES (:v)'" /dev/null
  assert_failure 64
  assert_output --partial "sqlite-exec: --each reads its rows from stdin, and stdin is a terminal (pipe the rows in"
  assert_equal "$(count)" "0"
  # A pipe still carries SQL as before.
  run "$SE" "$DB" <<<"INSERT INTO t(v) VALUES ('piped')"
  assert_success
  assert_equal "$(count)" "1"
}

# ---------------------------------------------------------------- text that is not valid UTF-8

# u.db, made by the sqlite3 CLI (which stores TEXT bytes as given): row 1 'A' + C3 (invalid UTF-8),
# row 2 'ok', row 3 'real ' + EF BF BD (a real U+FFFD), row 4 C3 A9 09 FF (é, a tab, an invalid byte).
# A refusal leaves it unchanged (compared with u.orig), with nothing beside it and nothing in $TMPDIR.
make_utf8_db() {
  mkdir -p "$T/u"
  U="$T/u/u.db"
  sqlite3 "$U" "CREATE TABLE t(a); INSERT INTO t VALUES (CAST(X'41C3' AS TEXT)), ('ok'), (CAST(X'7265616C20EFBFBD' AS TEXT)), (CAST(X'C3A909FF' AS TEXT))"
  cp "$U" "$T/u.orig"
}

hexof() { od -An -v -tx1 | tr -d ' \n'; }

assert_utf8_db_unchanged() {
  cmp "$U" "$T/u.orig"
  assert_equal "$(leftovers "$T/u" u.db)" ""
  assert_equal "$(leftovers "$TMPDIR")" ""
}

@test "TEXT stored as invalid UTF-8 prints as its exact bytes in tsv, csv and --raw, never as U+FFFD" {
  make_utf8_db
  "$SE" "$U" "SELECT a FROM t ORDER BY rowid" > "$T/out.tsv"
  printf 'A\303\nok\nreal \357\277\275\n\303\251\\t\377\n' > "$T/want.tsv"
  cmp "$T/out.tsv" "$T/want.tsv"
  assert_equal "$("$SE" --format csv "$U" "SELECT a, rowid FROM t ORDER BY rowid" | hexof)" "$(printf 'A\303,1\nok,2\nreal \357\277\275,3\n\303\251\t\377,4\n' | hexof)"
  assert_equal "$("$SE" --raw "$U" "SELECT a FROM t WHERE rowid = 4" | hexof)" "c3a909ff"
  # Repeated column names (fetched whole) and --each (one statement per input row) carry the bytes too.
  assert_equal "$("$SE" "$U" "SELECT a, a FROM t WHERE rowid = 1" | hexof)" "41c30941c30a"
  assert_equal "$(printf '{"r":1}\n{"r":2}\n' | "$SE" "$U" --each "SELECT a FROM t WHERE rowid = :r" | hexof)" "41c30a6f6b0a"
  cmp "$U" "$T/u.orig"
}

@test "a real U+FFFD prints as itself in every format" {
  make_utf8_db
  q="SELECT a FROM t WHERE rowid = 3"
  assert_equal "$("$SE" "$U" "$q")" $'real \uFFFD'
  assert_equal "$("$SE" --format csv "$U" "$q")" $'real \uFFFD'
  assert_equal "$("$SE" --format jsonl "$U" "$q")" $'{"a":"real \uFFFD"}'
  assert_equal "$("$SE" --json "$U" "$q" | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["a"])')" $'real \uFFFD'
  run "$SE" --format table "$U" "$q"
  assert_success
  assert_line --index 3 $'| real \uFFFD |'
  assert_equal "$("$SE" --raw "$U" "$q" | hexof)" "7265616c20efbfbd"
}

@test "jsonl, json and table refuse invalid UTF-8 with 65 naming column and row; a script that writes commits nothing and prints nothing" {
  make_utf8_db
  for f in jsonl json table; do
    run --separate-stderr "$SE" --format "$f" "$U" "INSERT INTO t VALUES ('new'); SELECT a FROM t ORDER BY rowid"
    assert_failure 65
    assert_output ""
    assert_equal "$stderr" "sqlite-exec: text that is not valid UTF-8 cannot be printed as $f: column a, row 1 [statement 2, line 1] (select CAST(a AS BLOB) to see its bytes as hex, or print it with --format tsv, csv or --raw; nothing was committed)"
  done
  assert_utf8_db_unchanged
  # The hint works: the bytes as hex.
  assert_equal "$("$SE" --format jsonl "$U" "SELECT CAST(a AS BLOB) AS a FROM t WHERE rowid = 1")" '{"a":"41c3"}'
}

@test "a read-only jsonl result streams its rows up to an invalid value, then exits 65 saying those rows were printed" {
  make_utf8_db
  run --separate-stderr "$SE" --format jsonl "$U" "SELECT rowid AS n, a FROM t WHERE rowid >= 2 ORDER BY rowid"
  assert_failure 65
  assert_output $'{"n":2,"a":"ok"}\n{"n":3,"a":"real \uFFFD"}'
  [[ "$stderr" == *"column a, row 3 [line 1]"*"the rows before it were printed; nothing was changed)" ]]
  assert_utf8_db_unchanged
}

@test "1M rows with invalid UTF-8 near the end stream out byte-exact in bounded memory" {
  [ -x /usr/bin/time ] || skip "/usr/bin/time missing"
  make_utf8_db
  q="WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 1000000) SELECT x, CASE WHEN x % 499999 = 0 THEN CAST(X'41C3' AS TEXT) ELSE 'row ' || x END FROM c"
  sqlite3 -separator $'\t' "$U" "$q" > "$T/want.tsv"
  base=$( { /usr/bin/time -f %M "$SE" "$U" "SELECT 1" >/dev/null; } 2>&1 | tail -1)
  peak=$( { /usr/bin/time -f %M "$SE" "$U" "$q" > "$T/out.tsv"; } 2>&1 | tail -1)
  echo "peak RSS: trivial ${base} KiB, 1M rows ${peak} KiB" >&3
  cmp "$T/out.tsv" "$T/want.tsv"
  assert_equal "$(grep -c $'\tA\303$' "$T/out.tsv")" "2"
  # Reading the bytes back re-runs the query row by row beside the first run; it never holds the result
  # (a whole-result re-read of these rows takes ~180 MiB more).
  [ "$((peak - base))" -lt $((96 * 1024)) ]
}

@test "a script that writes holds invalid UTF-8 rows (beyond 4 MiB: in its temp file) and prints their exact bytes after COMMIT" {
  make_utf8_db
  q="WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 500000) SELECT x, CASE WHEN x % 100000 = 0 THEN CAST(X'FE0A' AS TEXT) ELSE 'row ' || x END FROM c"
  "$SE" "$U" "INSERT INTO t VALUES ('new'); $q" > "$T/out.tsv"
  assert_equal "$(sqlite3 "$U" "SELECT count(*) FROM t")" "5"
  assert_equal "$(wc -l < "$T/out.tsv")" "500000"
  # FE is kept as is, the newline after it escaped like in any text.
  assert_equal "$(LC_ALL=C grep -c $'\t\xfe\\\\n$' "$T/out.tsv")" "5"
  assert_equal "$(LC_ALL=C grep -c $'\xef\xbf\xbd' "$T/out.tsv")" "0"
  assert_equal "$(sed -n '100000p' "$T/out.tsv" | hexof)" "$(printf '100000\t\376\\n\n' | hexof)"
  assert_equal "$(leftovers "$TMPDIR")" ""
}

@test "INSERT ... RETURNING text with U+FFFD is refused with 65 (a write cannot be re-read to check it), nothing committed" {
  make_utf8_db
  run --separate-stderr "$SE" "$U" "INSERT INTO t VALUES ('first'); INSERT INTO t VALUES (CAST(X'41FF' AS TEXT)) RETURNING a"
  assert_failure 65
  assert_output ""
  assert_equal "$stderr" "sqlite-exec: text containing U+FFFD could not be checked for invalid UTF-8: column a, row 1 [statement 2, line 1] (a writing statement such as INSERT ... RETURNING runs only once, so its bytes cannot be read back; select CAST(a AS BLOB) to see its bytes as hex; nothing was committed)"
  assert_utf8_db_unchanged
  # Without U+FFFD, RETURNING prints as always.
  run "$SE" "$U" "INSERT INTO t VALUES ('fine') RETURNING a"
  assert_success
  assert_output "fine"
}

@test "text with U+FFFD from a result that changes from run to run is refused as unverifiable" {
  make_utf8_db
  run --separate-stderr "$SE" "$U" "SELECT a || random() AS r FROM t WHERE rowid = 1"
  assert_failure 65
  assert_output ""
  [[ "$stderr" == *"could not be checked for invalid UTF-8: column r, row 1"*"changes from run to run"* ]]
  assert_utf8_db_unchanged
}

@test "--quiet never re-reads: a write returning invalid UTF-8 runs and commits" {
  make_utf8_db
  run "$SE" --quiet "$U" "INSERT INTO t VALUES (CAST(X'41FF' AS TEXT)) RETURNING a"
  assert_success
  assert_equal "$(sqlite3 "$U" "SELECT hex(a) FROM t WHERE rowid = 5")" "41FF"
}
