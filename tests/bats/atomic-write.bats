#!/usr/bin/env bats
# Black-box tests of dist/atomic-write (SPEC §3), real processes only.
load test_helper

AW="$DIST/atomic-write"

# The temp files of FILE in its directory (debris check).
temps_of() { ls -A "$(dirname "$1")" | grep -F ".$(basename "$1").hardshell-" || true; }

# Wait up to ~5s for a glob to match something.
wait_for() {
  local i
  for ((i = 0; i < 250; i++)); do
    compgen -G "$1" >/dev/null && return 0
    sleep 0.02
  done
  return 1
}

# A failed disk-full test must not leave its tmpfs mounted.
local_teardown() { if mountpoint -q "$T/small" 2>/dev/null; then umount "$T/small"; fi; }

# A pid that is certainly dead (a shell that already exited).
dead_pid() { sh -c 'echo $$'; }

# ---------------------------------------------------------------- content

@test "stdin bytes are copied as-is: NUL bytes kept, no newline added" {
  printf 'a\0b\0\nc' | "$AW" f
  run od -An -c f
  assert_output --partial 'a  \0   b  \0  \n   c'
  [ "$(stat -c %s f)" -eq 6 ]
  assert_equal "$(leftovers "$T" f)" ""
}

@test "empty stdin gives an empty file" {
  echo old > f
  "$AW" f </dev/null
  [ -f f ] && [ ! -s f ]
}

@test "-- CMD: the command's stdout becomes the file" {
  run "$AW" f -- printf 'hello\n'
  assert_success
  assert_equal "$(cat f)" "hello"
}

@test "a failing -- CMD passes its exit code through, leaves the file untouched and no temp file" {
  echo old > f
  run "$AW" f -- sh -c 'echo partial; exit 7'
  assert_failure 7
  assert_output --partial "command failed"
  assert_equal "$(cat f)" "old"
  assert_equal "$(leftovers "$T" f)" ""
}

@test "a missing command is exit 69 and nothing is written" {
  run "$AW" f -- /nonexistent/cmd
  assert_failure 69
  [ ! -e f ]
  assert_equal "$(leftovers "$T")" ""
}

@test "--edit pipes the old content into CMD and writes its stdout" {
  echo 41 > n
  "$AW" --edit n -- sh -c 'read x; echo $((x + 1))'
  assert_equal "$(cat n)" "42"
  assert_equal "$(leftovers "$T" n)" ""
}

@test "--edit of a missing file gives CMD empty stdin and creates the file" {
  "$AW" --edit n -- sh -c 'c=$(cat); echo "[$c]"'
  assert_equal "$(cat n)" "[]"
}

@test "--append adds stdin after the old content" {
  printf 'one\n' > f
  printf 'two\n' | "$AW" --append f
  printf 'three' | "$AW" --append f
  assert_equal "$(cat f)" "$(printf 'one\ntwo\nthree')"
}

@test "--print-hash prints the sha256 of the new content" {
  run "$AW" --print-hash f < <(printf 'abc')
  assert_success
  assert_output "$(printf 'abc' | sha256sum | cut -d' ' -f1)"
}

@test "--backup keeps the old version as FILE~, --backup=SUFFIX as FILE+SUFFIX" {
  echo v1 > f
  echo v2 | "$AW" --backup f
  assert_equal "$(cat f~)" "v1"
  echo v3 | "$AW" --backup=.bak f
  assert_equal "$(cat f.bak)" "v2"
  assert_equal "$(cat f)" "v3"
  assert_equal "$(leftovers "$T" f f~ f.bak)" ""
}

# ---------------------------------------------------------------- metadata

@test "a new file gets 0666 & ~umask; --mode overrides" {
  (umask 027 && echo x | "$AW" f)
  assert_equal "$(stat -c %a f)" "640"
  echo x | "$AW" --mode 0600 g
  assert_equal "$(stat -c %a g)" "600"
}

@test "an existing file keeps its mode, owner and group; --mode still applies" {
  echo old > f
  chmod 0604 f
  chown 65534:65534 f
  echo new | "$AW" f
  assert_equal "$(stat -c '%a %u %g' f)" "604 65534 65534"
  echo newer | "$AW" --mode 640 f
  assert_equal "$(stat -c '%a %u %g' f)" "640 65534 65534"
  assert_equal "$(cat f)" "newer"
}

@test "a symlink FILE: the final target is replaced and the link stays a link" {
  mkdir real
  echo old > real/target
  ln -s real/target mid
  ln -s mid link
  echo new | "$AW" link
  [ -L link ] && [ -L mid ]
  assert_equal "$(readlink link)" "mid"
  assert_equal "$(cat real/target)" "new"
  assert_equal "$(leftovers "$T/real" target)" ""
}

# ---------------------------------------------------------------- refusals

@test "a directory FILE is refused with 73 and nothing is written" {
  mkdir d
  run "$AW" d <<<"x"
  assert_failure 73
  assert_output --partial "refusing to replace a directory"
  assert_equal "$(leftovers "$T" d)" ""
  assert_equal "$(ls -A d)" ""
}

@test "a FIFO FILE is refused with 73 without hanging" {
  mkfifo p
  run timeout 10 "$AW" p <<<"x"
  assert_failure 73
  assert_output --partial "FIFO"
  [ -p p ]
  assert_equal "$(leftovers "$T" p)" ""
}

@test "a socket FILE is refused with 73" {
  python3 -c 'import socket,sys; s=socket.socket(socket.AF_UNIX); s.bind(sys.argv[1])' sock
  [ -S sock ]
  run timeout 10 "$AW" sock <<<"x"
  assert_failure 73
  assert_output --partial "socket"
  assert_equal "$(leftovers "$T" sock)" ""
}

@test "a device FILE (or a symlink to /dev/null) is refused with 73" {
  if mknod cdev c 1 3 2>/dev/null; then
    run timeout 10 "$AW" cdev <<<"x"
    assert_failure 73
    assert_output --partial "character device"
    [ -c cdev ]
  fi
  ln -s /dev/null devlink
  run timeout 10 "$AW" devlink <<<"x"
  assert_failure 73
  [ -c /dev/null ] && [ -L devlink ]
  assert_equal "$(leftovers "$T" cdev devlink)" ""
}

@test "a missing parent directory is 73 unless --mkdir" {
  run "$AW" no/such/dir/f <<<"x"
  assert_failure 73
  assert_output --partial "--mkdir"
  [ ! -e no ]
  echo x | "$AW" --mkdir no/such/dir/f
  assert_equal "$(cat no/such/dir/f)" "x"
}

@test "an unwritable directory is 77 and nothing is written (run as nobody)" {
  command -v setpriv >/dev/null || skip "setpriv missing: cannot drop root, and root bypasses permissions"
  d=$(mktemp -d /tmp/hs-aw-perm.XXXXXX)
  chmod 755 "$d"
  echo old > "$d/f"
  chmod 666 "$d/f"
  # nobody cannot reach dist/ in a checkout under a 0700 directory: run a copy from $d/../bin.
  b=$(mktemp -d /tmp/hs-aw-bin.XXXXXX) && chmod 755 "$b" && cp "$(readlink -f "$AW")" "$b/hardshell" && ln -s hardshell "$b/atomic-write"
  run setpriv --reuid=65534 --regid=65534 --clear-groups env HOME=/tmp TMPDIR=/tmp "$b/atomic-write" "$d/f" -- echo new
  rc=$status out=$output
  content=$(cat "$d/f") left=$(leftovers "$d" f)
  rm -rf "$d" "$b"
  [ "$rc" -eq 77 ] || { echo "status $rc: $out"; false; }
  assert_equal "$content" "old"
  assert_equal "$left" ""
}

@test "bad flags are usage errors (64)" {
  run "$AW" --mode 999 f <<<"x"
  assert_failure 64
  run "$AW" --lock-timeout 5x f <<<"x"
  assert_failure 64
  assert_output --partial '"5x"'
  run "$AW" --if-unchanged nothex f <<<"x"
  assert_failure 64
  run "$AW" --edit f
  assert_failure 64
  run "$AW"
  assert_failure 64
  assert_equal "$(leftovers "$T")" ""
}

@test "a full file system is 74: the file is untouched and no temp file is left" {
  mkdir small
  mount -t tmpfs -o size=1m tmpfs small 2>/dev/null || skip "cannot mount a small tmpfs here"
  echo old > small/f
  rc=0
  head -c 3000000 /dev/zero | "$AW" small/f 2>err || rc=$?
  content=$(cat small/f) left=$(leftovers "$T/small" f)
  umount small
  assert_equal "$rc" 74
  grep -q ENOSPC err
  assert_equal "$content" "old"
  assert_equal "$left" ""
}

# ---------------------------------------------------------------- preconditions

@test "--if-unchanged replaces only when the current hash matches; a wrong hash is 1 and nothing changes" {
  echo v1 > f
  h=$(sha256sum f | cut -d' ' -f1)
  run "$AW" --if-unchanged 0000000000000000000000000000000000000000000000000000000000000000 f <<<"v2"
  assert_failure 1
  assert_equal "$(cat f)" "v1"
  echo v2 | "$AW" --if-unchanged "$h" f
  assert_equal "$(cat f)" "v2"
  assert_equal "$(leftovers "$T" f)" ""
}

@test "--if-absent creates a missing file, and an existing one is 1 and untouched" {
  echo first | "$AW" --if-absent f
  assert_equal "$(cat f)" "first"
  run "$AW" --if-absent f <<<"second"
  assert_failure 1
  assert_equal "$(cat f)" "first"
  run "$AW" --quiet --if-absent f <<<"second"
  assert_failure 1
  assert_output ""
  assert_equal "$(leftovers "$T" f)" ""
}

@test "--if-absent is race-free: of 20 concurrent creators exactly one wins" {
  for i in $(seq 20); do ( rc=0; echo "$i" | "$AW" --quiet --no-fsync --if-absent f || rc=$?; echo "$rc" > "rc.$i" ) & done
  wait
  [ "$(cat rc.* | grep -c '^0$')" -eq 1 ]
  [ "$(cat rc.* | grep -c '^1$')" -eq 19 ]
  assert_equal "$(leftovers "$T" f $(cd "$T" && ls rc.*))" ""
}

@test "--no-empty refuses an empty replacement with 1 and keeps the file" {
  echo old > f
  run "$AW" --no-empty f </dev/null
  assert_failure 1
  assert_equal "$(cat f)" "old"
  assert_equal "$(leftovers "$T" f)" ""
}

# ---------------------------------------------------------------- durability

@test "durability order: data fsync before the rename, directory fsync after it; --no-fsync drops both" {
  command -v strace >/dev/null || skip "strace missing"
  echo old > f
  strace -f -o trace.log -e trace=fsync,fdatasync,rename,renameat,renameat2 "$AW" f -- echo new
  assert_equal "$(cat f)" "new"
  grep -E 'fsync|rename' trace.log | grep -v 'resumed>' > calls.log || true
  run grep -nE '(fsync|fdatasync)\(' calls.log
  [ "${#lines[@]}" -ge 2 ]
  ren=$(grep -nE 'rename(at2?)?\(.*\.hardshell-.*"'"$T"'/f"' calls.log | cut -d: -f1)
  [ -n "$ren" ]
  first_sync=$(grep -nE '(fsync|fdatasync)\(' calls.log | head -1 | cut -d: -f1)
  last_sync=$(grep -nE '(fsync|fdatasync)\(' calls.log | tail -1 | cut -d: -f1)
  [ "$first_sync" -lt "$ren" ]
  [ "$last_sync" -gt "$ren" ]
  strace -f -o trace2.log -e trace=fsync,fdatasync,rename,renameat,renameat2 "$AW" --no-fsync f -- echo newer
  run grep -E '(fsync|fdatasync)\(' trace2.log
  assert_output ""
  grep -qE 'rename' trace2.log
}

@test "a reader polling the file while writers replace it never sees a torn or missing file" {
  head -c 200000 /dev/zero | tr '\0' a > A
  head -c 300000 /dev/zero | tr '\0' b > B
  cp A f
  cat > reader.py <<'EOF'
import sys, os
a, b = open("A", "rb").read(), open("B", "rb").read()
bad = reads = 0
while not os.path.exists("done"):
    try:
        with open("f", "rb") as fh:
            d = fh.read()
    except FileNotFoundError:
        bad += 1; print("missing", file=sys.stderr); continue
    reads += 1
    if d != a and d != b:
        bad += 1; print("torn", len(d), file=sys.stderr)
print(reads, bad)
EOF
  python3 reader.py > result &
  rpid=$!
  for i in $(seq 60); do
    if ((i % 2)); then "$AW" --no-fsync f < B; else "$AW" --no-fsync f -- cat A; fi
  done
  touch done
  wait "$rpid"
  read -r reads bad < result
  echo "reads=$reads bad=$bad"
  [ "$reads" -gt 50 ]
  [ "$bad" -eq 0 ]
}

# ---------------------------------------------------------------- concurrency and locks

@test "40 concurrent --edit increments of a counter give exactly 40" {
  echo 0 > n
  for i in $(seq 40); do "$AW" --no-fsync --edit n -- sh -c 'read x; echo $((x + 1))' & done
  wait
  assert_equal "$(cat n)" "40"
  assert_equal "$(leftovers "$T" n)" ""
}

@test "40 concurrent --append writers give 40 distinct lines" {
  : > log
  for i in $(seq 40); do echo "line $i" | "$AW" --no-fsync --append log & done
  wait
  [ "$(wc -l < log)" -eq 40 ]
  [ "$(sort -u log | wc -l)" -eq 40 ]
  assert_equal "$(leftovers "$T" log)" ""
}

@test "--lock-timeout exceeded while another writer holds the lock is 75, nothing written" {
  echo old > f
  { sleep 3; echo late; } | "$AW" --lock f &
  wait_for "$T/f.lock/owner"
  run "$AW" --lock --lock-timeout 300ms f <<<"new"
  assert_failure 75
  assert_output --partial "lock still held"
  assert_equal "$(cat f)" "old"
  wait
  assert_equal "$(cat f)" "late"
  assert_equal "$(leftovers "$T" f)" ""
}

@test "a lock left by a writer killed between mkdir and recording its owner is taken over once 10s old" {
  echo old > data
  mkdir data.lock && chmod 1755 data.lock && : > data.lock/owner   # hardshell's mark, empty owner
  touch -d '20 seconds ago' data.lock
  run bash -c "echo new | '$AW' --lock --lock-timeout 3s data"
  assert_success
  [ "$(cat data)" = new ]
  [ -z "$(leftovers . data)" ]
}

@test "another tool's owner-less lock is respected until the conservative grace has passed" {
  echo old > data
  mkdir data.lock && touch -d '20 seconds ago' data.lock   # proper-lockfile's format: no owner, no mark
  run bash -c "echo new | '$AW' --lock --lock-timeout 1s data"
  assert_failure 75
  [ "$(cat data)" = old ]
  [ -d data.lock ]
}

@test "a dead writer's stale FILE.lock is taken over: 20 concurrent --edit incrementers give exactly 20" {
  echo 0 > n
  mkdir n.lock
  printf '{"pid":%d,"host":"%s","createdAt":1}\n' "$(dead_pid)" "$(hostname)" > n.lock/owner
  touch -d '1 hour ago' n.lock
  for i in $(seq 20); do "$AW" --no-fsync --edit n -- sh -c 'read x; echo $((x + 1))' & done
  wait
  assert_equal "$(cat n)" "20"
  assert_equal "$(leftovers "$T" n)" ""
}

@test "a lock held by a live process is never taken over however old its mtime" {
  echo old > f
  mkdir f.lock
  printf '{"pid":%d,"host":"%s","createdAt":1}\n' "$$" "$(hostname)" > f.lock/owner
  touch -d '1 hour ago' f.lock
  run "$AW" --lock --lock-timeout 500ms f <<<"new"
  assert_failure 75
  assert_equal "$(cat f)" "old"
}

# ---------------------------------------------------------------- signals and crashes

# signal_mid_write SIG CODE [OPTS...]: SIG arriving while stdin is still open must exit CODE
# with the old content intact and no temp file (and, with --lock, no lock) left.
signal_mid_write() {
  local sig="$1" code="$2"; shift 2
  echo old > f
  { printf partial; sleep 5; } | "$AW" "$@" f &
  pid=$!
  wait_for "$T/.f.hardshell-*"
  kill -"$sig" "$pid"
  st=0; wait "$pid" || st=$?
  assert_equal "$st" "$code"
  assert_equal "$(cat f)" "old"
  assert_equal "$(leftovers "$T" f)" ""
}

@test "SIGTERM mid-write: exit 143, old content intact, no temp file" {
  signal_mid_write TERM 143
}

@test "SIGINT mid-write: exit 130, old content intact, no temp file or lock" {
  signal_mid_write INT 130 --lock
}

@test "SIGHUP mid-write (a closed terminal): exit 129, old content intact, no temp file or lock" {
  signal_mid_write HUP 129 --lock
}

@test "SIGTERM in -- CMD mode is forwarded to the command; file untouched" {
  echo old > f
  "$AW" f -- sh -c 'echo $$ > child.pid; echo partial; exec sleep 30' &
  pid=$!
  wait_for "$T/child.pid"
  sleep 0.2
  kill -TERM "$pid"
  st=0; wait "$pid" || st=$?
  assert_equal "$st" 143
  cpid=$(cat child.pid)
  for _ in $(seq 50); do kill -0 "$cpid" 2>/dev/null || break; sleep 0.05; done
  ! kill -0 "$cpid" 2>/dev/null
  assert_equal "$(cat f)" "old"
  assert_equal "$(leftovers "$T" f child.pid)" ""
}

@test "SIGKILL mid-write leaves the old content; the next run removes the dead writer's temp file" {
  echo old > f
  { printf partial; sleep 5; } | "$AW" f &
  pid=$!
  wait_for "$T/.f.hardshell-$pid-*"
  kill -KILL "$pid"
  wait "$pid" || true
  assert_equal "$(cat f)" "old"
  [ -n "$(temps_of "$T/f")" ]
  run "$AW" f <<<"new"
  assert_success
  assert_output --partial "removed a dead writer's temp file"
  assert_equal "$(cat f)" "new"
  assert_equal "$(leftovers "$T" f)" ""
}

@test "the whole process group signalled 20 times at random points: never a truncated commit" {
  cat > producer.sh <<'EOF'
for i in $(seq 1 300); do echo "line $i"; if ((i % 10 == 0)); then sleep 0.01; fi; done
EOF
  seq 1 300 | sed 's/^/line /' > full
  echo OLD > f
  commits=0 kept=0
  for round in $(seq 20); do
    echo OLD > f
    setsid bash -c "bash producer.sh | '$AW' --no-fsync f" &
    pid=$!
    sleep "0.$((RANDOM % 40))"
    pgid=$(ps -o pgid= -p "$pid" | tr -d ' ')
    [ -n "$pgid" ] && kill -TERM -- "-$pgid" 2>/dev/null || true
    wait "$pid" || true
    if cmp -s f full; then commits=$((commits + 1)); elif [ "$(cat f)" = OLD ]; then kept=$((kept + 1)); else
      echo "round $round: truncated commit of $(wc -l < f) lines"; false
    fi
    assert_equal "$(leftovers "$T" f full producer.sh)" ""
  done
  echo "group SIGTERM: complete commits=$commits, old kept=$kept" >&3
  [ "$kept" -gt 0 ]
}

# ---------------------------------------------------------------- memory

@test "256 MiB through stdin keeps peak memory within 64 MiB of a trivial call" {
  [ -x /usr/bin/time ] || skip "/usr/bin/time missing"
  base=$( { /usr/bin/time -f %M "$AW" --no-fsync small </dev/null; } 2>&1 | tail -1)
  big=$( { head -c 268435456 /dev/zero | /usr/bin/time -f %M "$AW" --no-fsync big; } 2>&1 | tail -1)
  echo "peak RSS: trivial ${base} KiB, 256 MiB stream ${big} KiB" >&3
  [ "$(stat -c %s big)" -eq 268435456 ]
  [ $((big - base)) -lt 65536 ]
  rm -f big
}
