#!/usr/bin/env bats
# Black-box tests of dist/sqlite-exec at scale: --each reading its input batch by
# batch (producers that pause, SIGTERM mid-stream, rows that never end), output
# streamed in every format at 1M rows, exact 64-bit integers, invalid UTF-8.

load test_helper
bats_require_minimum_version 1.5.0

SE="sqlite-exec"

local_setup() {
  DB="$T/a.db"
  sqlite3 "$DB" "CREATE TABLE t(id INTEGER PRIMARY KEY, v)"
}

count() { sqlite3 -cmd ".timeout 5000" "$DB" "SELECT count(*) FROM ${1:-t}"; }

# Wait (hang guard only, never a timing assertion) until the table holds $1 rows.
wait_for_rows() {
  local want="$1" i
  for i in $(seq 1 200); do
    [ "$(count)" = "$want" ] && return 0
    sleep 0.05
  done
  echo "table has $(count) rows, expected $want" >&2
  return 1
}

ONE_MILLION="WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 1000000) SELECT x AS n, 'row ' || x AS label FROM c"

# ---------------------------------------------------------------- --each reads incrementally

# Start `--each` with batches of $1 reading JSON lines from a FIFO that this shell holds open on
# fd 7, so the test decides when the producer writes, pauses and ends (pid in $pid, stderr in $T/err).
each_on_fifo() {
  mkfifo "$T/in"
  "$SE" --batch "$1" --each "INSERT INTO t(v) VALUES (:v)" "$DB" < "$T/in" 2>"$T/err" &
  pid=$!
  exec 7>"$T/in"
}

@test "--each commits a full batch while its producer is still paused" {
  each_on_fifo 3
  printf '{"v":1}\n{"v":2}\n{"v":3}\n{"v":4}\n' >&7
  # The producer now pauses: the first batch must be committed without waiting for more input.
  wait_for_rows 3
  kill -0 "$pid"
  printf '{"v":5}\n{"v":6}\n' >&7
  exec 7>&-
  wait "$pid"
  assert_equal "$(count)" "6"
  assert_equal "$(cat "$T/err")" ""
}

@test "SIGTERM mid-stream keeps every committed batch, loses only the batch in flight, leaves no temp file" {
  each_on_fifo 2
  printf '{"v":1}\n{"v":2}\n{"v":3}\n{"v":4}\n{"v":5}\n' >&7
  wait_for_rows 4
  kill -TERM "$pid"
  code=0
  wait "$pid" || code=$?
  exec 7>&-
  assert_equal "$code" 143
  assert_equal "$(sqlite3 "$DB" 'SELECT group_concat(v) FROM t')" "1,2,3,4"
  assert_equal "$(sqlite3 "$DB" 'PRAGMA integrity_check')" "ok"
  assert_equal "$(leftovers "$T" a.db in err)" ""
  assert_equal "$(leftovers "$TMPDIR")" ""
}

@test "the default batch is all rows in one transaction, also when the input is larger than memory keeps" {
  # 200k rows, ~6 MiB of JSONL: more than the 4 MiB kept in memory, so the batch is spooled to a temp file.
  python3 -c '
import sys
w = sys.stdout.write
for i in range(200000): w("{\"v\": \"%07d padding padding\"}\n" % i)
w("{\"v\": null}\n")' > "$T/rows.jsonl"
  sqlite3 "$DB" "CREATE TABLE s(v NOT NULL)"
  run "$SE" --each "INSERT INTO s(v) VALUES (:v)" "$DB" < "$T/rows.jsonl"
  assert_failure 65
  assert_output --partial "input line 200001"
  assert_equal "$(count s)" "0"
  head -n 200000 "$T/rows.jsonl" | "$SE" --each "INSERT INTO s(v) VALUES (:v)" "$DB"
  assert_equal "$(count s)" "200000"
  assert_equal "$(leftovers "$TMPDIR")" ""
}

@test "an input row longer than 16 MiB is refused with 65; earlier batches stay committed" {
  { printf '{"v":"short"}\n{"v":"'; head -c $((17 * 1024 * 1024)) /dev/zero | tr '\0' x; } > "$T/long.jsonl"
  run --separate-stderr "$SE" --batch 1 --each "INSERT INTO t(v) VALUES (:v)" "$DB" < "$T/long.jsonl"
  assert_failure 65
  [[ "$stderr" == *"line 2"*"row longer than 16 MiB"* ]]
  assert_equal "$(count)" "1"
}

@test "csv records with quoted line breaks are cut into batches at record ends" {
  printf 'v\n"a\nb"\n"c,d"\n"e\n\nf"\ng\n' | "$SE" --input csv --batch 1 --each "INSERT INTO t(v) VALUES (:v)" "$DB"
  assert_equal "$(sqlite3 "$DB" "SELECT group_concat(replace(v, char(10), '|'), ' ') FROM t")" "a|b c,d e||f g"
}

# ---------------------------------------------------------------- exact values

@test "JSON integers bind exactly to 64 bits; beyond int64 and exponent forms bind as REAL" {
  printf '%s\n' '{"v":9007199254740993}' '{"v":-9223372036854775808}' '{"v":99999999999999999999}' '{"v":1e20}' '{"v":2}' '{"v":{"big":9007199254740993}}' \
    | "$SE" --each "INSERT INTO t(v) VALUES (:v)" "$DB"
  run sqlite3 "$DB" "SELECT v || ' ' || typeof(v) FROM t ORDER BY id"
  assert_output "$(printf '%s\n' '9007199254740993 integer' '-9223372036854775808 integer' '1.0e+20 real' '1.0e+20 real' '2 integer' '{"big":9007199254740993} text')"
}

@test "sqlite-exec's own jsonl output fed back through --each round-trips INT64_MAX and INT64_MIN" {
  sqlite3 "$DB" "INSERT INTO t(v) VALUES (9223372036854775807), (-9223372036854775808), (9007199254740993), (0.5), ('text')"
  "$SE" --format jsonl "$DB" "SELECT v FROM t ORDER BY id" > "$T/out.jsonl"
  sqlite3 "$DB" "CREATE TABLE u(id INTEGER PRIMARY KEY, v)"
  "$SE" --each "INSERT INTO u(v) VALUES (:v)" "$DB" < "$T/out.jsonl"
  assert_equal "$(sqlite3 "$DB" "SELECT count(*) FROM t JOIN u USING (id) WHERE t.v IS u.v AND typeof(t.v) = typeof(u.v)")" "5"
}

@test "invalid UTF-8 in tsv input is refused with 65 naming its line, nothing committed" {
  printf 'v\nfine\nbad \xff byte\n' > "$T/in.tsv"
  run --separate-stderr "$SE" --input tsv --each "INSERT INTO t(v) VALUES (:v)" "$DB" < "$T/in.tsv"
  assert_failure 65
  [[ "$stderr" == *"line 3"*"not valid UTF-8"* ]]
  assert_equal "$(count)" "0"
}

@test "an invalid UTF-8 --param or --arg value is refused with 65; a real U+FFFD is kept" {
  run --separate-stderr "$SE" "$DB" "INSERT INTO t(v) VALUES (:v)" --param $'v=a\xffb'
  assert_failure 65
  [[ "$stderr" == *"--param value is not valid UTF-8"* ]]
  run --separate-stderr "$SE" "$DB" "INSERT INTO t(v) VALUES (?)" --arg $'\xfe'
  assert_failure 65
  assert_equal "$(count)" "0"
  run "$SE" "$DB" "INSERT INTO t(v) VALUES (:v)" --param $'v=a\xef\xbf\xbdb'
  assert_success
  assert_equal "$(sqlite3 "$DB" "SELECT hex(v) FROM t")" "61EFBFBD62"
}

# ---------------------------------------------------------------- output at scale

@test "--format table of 1M rows exits 0 with every row inside one box" {
  run bash -c "'$SE' --format table '$DB' \"$ONE_MILLION\" | awk 'NR==1 || NR==3 {print} END {print NR; print}'"
  assert_success
  # Widths come from the first 1000 rows; later, longer cells widen their column, so the closing line is wider.
  assert_output "$(printf '%s\n' '+------+----------+' '+------+----------+' 1000004 '+---------+-------------+')"
}

@test "every output format streams a 1M-row SELECT completely" {
  for f in tsv csv jsonl json; do
    run bash -c "set -o pipefail; '$SE' --format $f '$DB' \"$ONE_MILLION\" | tail -n 2"
    assert_success
    case $f in
      tsv) assert_output "$(printf '999999\trow 999999\n1000000\trow 1000000')" ;;
      csv) assert_output "$(printf '999999,row 999999\n1000000,row 1000000')" ;;
      jsonl) assert_output "$(printf '%s\n' '{"n":999999,"label":"row 999999"}' '{"n":1000000,"label":"row 1000000"}')" ;;
      json) assert_output "$(printf '%s\n' '{"n":1000000,"label":"row 1000000"}' ']')" ;;
    esac
  done
}

@test "INSERT ... RETURNING 1M rows in table format exits 0 after COMMIT and leaves no temp file" {
  run bash -c "set -o pipefail; '$SE' --format table '$DB' \"INSERT INTO t(v) SELECT n FROM ($ONE_MILLION) RETURNING id, v\" | wc -l"
  assert_success
  assert_output "1000004"
  assert_equal "$(count)" "1000000"
  assert_equal "$(leftovers "$TMPDIR")" ""
}

@test "a script that writes holds its rows in bounded memory: 4x the rows, not more memory (and within 96 MiB of a trivial call)" {
  # Rows of a script that writes are held until COMMIT (memory, then a temp file): peak memory must not grow with them.
  sqlite3 "$DB" "INSERT INTO t(v) SELECT label FROM ($ONE_MILLION)"
  base=$( { /usr/bin/time -f %M "$SE" "$DB" "SELECT 1" >/dev/null; } 2>&1 | tail -1)
  small=$( { /usr/bin/time -f %M "$SE" "$DB" "UPDATE t SET v = v WHERE id = 1; SELECT id, v FROM t WHERE id <= 250000" > "$T/small.tsv"; } 2>&1 | tail -1)
  big=$( { /usr/bin/time -f %M "$SE" "$DB" "UPDATE t SET v = v WHERE id = 1; SELECT id, v FROM t" > "$T/big.tsv"; } 2>&1 | tail -1)
  assert_equal "$(wc -l < "$T/small.tsv")" "250000"
  assert_equal "$(wc -l < "$T/big.tsv")" "1000000"
  assert_equal "$(tail -n 1 "$T/big.tsv")" "$(printf '1000000\trow 1000000')"
  echo "peak: trivial ${base} KiB, 250k rows ${small} KiB, 1M rows ${big} KiB" >&3
  [ $((big - small)) -le $((24 * 1024)) ]
  [ $((big - base)) -le $((96 * 1024)) ]
  assert_equal "$(leftovers "$TMPDIR")" ""
}

@test "an output failure after COMMIT says the transaction committed; before any write, that nothing changed" {
  run --separate-stderr bash -c "'$SE' '$DB' \"INSERT INTO t(v) VALUES ('x') RETURNING v\" > /dev/full"
  assert_failure 74
  [[ "$stderr" == *"cannot write output"*"the transaction had committed; do not run it again"* ]]
  assert_equal "$(count)" "1"
  run --separate-stderr bash -c "'$SE' '$DB' 'SELECT v FROM t' > /dev/full"
  assert_failure 74
  [[ "$stderr" == *"cannot write output"*"nothing was changed"* ]]
}

@test "a failed write prints none of its rows" {
  sqlite3 "$DB" "CREATE TABLE n(v NOT NULL)"
  run --separate-stderr "$SE" "$DB" "INSERT INTO n(v) VALUES ('a'), ('b') RETURNING v; INSERT INTO n(v) VALUES (NULL)"
  assert_failure 65
  assert_equal "$output" ""
  assert_equal "$(count n)" "0"
}

@test "a read-only SELECT retried while the database is locked prints its rows once" {
  sqlite3 "$DB" "INSERT INTO t(v) VALUES ('a'), ('b')"
  python3 - "$DB" "$T/locked" <<'EOF' &
import sqlite3, sys, time, pathlib
c = sqlite3.connect(sys.argv[1], isolation_level=None)
c.execute("BEGIN EXCLUSIVE")
pathlib.Path(sys.argv[2]).touch()
time.sleep(1.0)
c.execute("COMMIT")
EOF
  holder=$!
  for i in $(seq 1 200); do [ -e "$T/locked" ] && break; sleep 0.05; done
  run --separate-stderr "$SE" --busy-timeout 50ms --retries 100 --stats "$DB" "SELECT v FROM t ORDER BY id"
  wait "$holder"
  assert_success
  assert_equal "$output" "$(printf 'a\nb')"
  [[ "$stderr" != *"attempts=1 "* ]]
}
