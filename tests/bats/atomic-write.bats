#!/usr/bin/env bats
# Black-box tests of dist/atomic-write (design.md §3), real processes only.
load test_helper

AW="$DIST/atomic-write"

# The temp files of FILE in its directory (debris check).
temps_of() { ls -A "$(dirname "$1")" | grep -F ".$(basename "$1").hardshell-" || true; }

# Once f's temp file holds at least $2 bytes (a ~5 s hang guard), SIGTERM atomic-write (pid $1):
# it must have been seen under way, exit 143, and leave f "old" with no temp file.
aw_term_mid_copy() {
  local i t="" rc=0
  for ((i = 0; i < 500; i++)); do
    t=$(temps_of f)
    [ -n "$t" ] && [ "$(stat -c %s "$t" 2>/dev/null || echo 0)" -ge "$2" ] && break
    sleep 0.01
  done
  kill -TERM "$1"
  wait "$1" || rc=$?
  [ -n "$t" ] || { echo "the copy was never seen under way"; return 1; }
  assert_equal "$rc" 143
  assert_equal "$(cat f)" "old"
  assert_equal "$(temps_of f)" ""
}

# A tmpfs of size $1 at small/ (local_teardown unmounts it); skips where mount is not permitted.
aw_small_fs() {
  mkdir small
  mount -t tmpfs -o size="$1" tmpfs small 2>/dev/null || skip "cannot mount a small tmpfs here (mount not permitted)"
}

# After writing small/$2 ran out of space (exit status $1, stderr in err): 74 naming ENOSPC,
# small/$2 still "old" and nothing else left in small/, which is unmounted.
aw_assert_full_fs() {
  local content left
  content=$(cat "small/$2") left=$(leftovers "$T/small" "$2")
  umount small
  assert_equal "$1" 74
  grep -q ENOSPC err
  assert_equal "$content" "old"
  assert_equal "$left" ""
}

# A failed disk-full test must not leave its tmpfs mounted.
local_teardown() { if mountpoint -q "$T/small" 2>/dev/null; then umount "$T/small"; fi; }

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
  aw_small_fs 1m
  echo old > small/f
  rc=0
  head -c 3000000 /dev/zero | "$AW" small/f 2>err || rc=$?
  aw_assert_full_fs "$rc" f
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
  wait_ended "$cpid"
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
    # bash dies at once on TERM; atomic-write may still be cleaning up: wait for the whole group.
    for _ in $(seq 100); do [ -n "$pgid" ] && kill -0 -- "-$pgid" 2>/dev/null || break; sleep 0.05; done
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

# ---------------------------------------------------------------- -- CMD output through a pipe

@test "-- CMD on a full file system is 74 even when CMD ignores its write errors: file untouched, no temp file" {
  aw_small_fs 1m
  echo old > small/conf
  rc=0
  # perl exits 0 although its last write failed: only atomic-write can see the ENOSPC.
  "$AW" small/conf -- perl -e 'print "x" x 3000000' 2>err || rc=$?
  aw_assert_full_fs "$rc" conf
}

@test "--edit on a full file system is 74: file untouched, no temp file or lock" {
  aw_small_fs 1m
  echo old > small/conf
  rc=0
  "$AW" --edit small/conf -- perl -e 'print "x" x 3000000' 2>err || rc=$?
  aw_assert_full_fs "$rc" conf
}

@test "-- CMD: the commit waits for EOF, so a background descendant's output is included and the file never changes after exit" {
  echo old > f
  # Not under `run`: its output capture would itself wait for the descendant, which inherits stderr.
  "$AW" f -- sh -c 'echo k=v; (sleep 1; echo late) &' 2>err
  after_exit=$(cat f; stat -c %i f)
  assert_equal "$(cat f)" "$(printf 'k=v\nlate')"
  sleep 1.5 # anything still running from CMD has had its chance to write
  assert_equal "$(cat f; stat -c %i f)" "$after_exit"
  assert_equal "$(leftovers "$T" f err)" ""
}

@test "-- CMD exiting non-zero while a descendant holds its stdout: CMD's code at once, file untouched for good" {
  echo old > f
  # The descendant keeps stdout open for 30 s; a non-zero exit must not wait for it (hang guard: timeout 20).
  run timeout 20 "$AW" f -- sh -c 'echo partial; sleep 30 2>/dev/null & echo $! > gc.pid; exit 3'
  assert_failure 3
  kill "$(cat gc.pid)" 2>/dev/null || true
  assert_equal "$(cat f)" "old"
  assert_equal "$(leftovers "$T" f gc.pid)" ""
}

@test "SIGTERM while the commit waits for a descendant to close CMD's stdout: 143, file untouched, no temp file" {
  echo old > f
  "$AW" f -- sh -c 'echo $$ > cmd.pid; echo k=v; sleep 30 2>/dev/null & echo $! > gc.pid' 2>err &
  pid=$!
  wait_for "$T/gc.pid"
  cmd=$(cat cmd.pid)
  wait_ended "$cmd" # CMD has exited 0 ...
  for _ in $(seq 40); do kill -0 "$pid" 2>/dev/null || break; sleep 0.05; done
  kill -0 "$pid" # ... and atomic-write has not committed: it waits for EOF of the pipe the descendant holds
  assert_equal "$(cat f)" "old"
  kill -TERM "$pid"
  st=0; wait "$pid" || st=$?
  kill "$(cat gc.pid)" 2>/dev/null || true
  assert_equal "$st" 143
  assert_equal "$(cat f)" "old"
  assert_equal "$(leftovers "$T" f gc.pid cmd.pid err)" ""
}

@test "-- CMD may write to /dev/stdout (its stdout is a real pipe, not a socket)" {
  run "$AW" f -- sh -c 'echo one > /dev/stdout; echo two'
  assert_success
  assert_equal "$(cat f)" "$(printf 'one\ntwo')"
  run "$AW" g -- stat -L -c %F /proc/self/fd/1
  assert_success
  assert_equal "$(cat g)" "fifo"
}

# ---------------------------------------------------------------- shared sticky directories

# A world-writable sticky directory like /tmp, owned by ${1:-root}.
sticky_dir() {
  mkdir -p "$T/shared"
  chmod 1777 "$T/shared"
  chown "${1:-root}" "$T/shared"
}

@test "sticky dir: a symlink planted by another user at FILE is not followed (77), its target untouched, nothing written" {
  sticky_dir
  echo secret > victim
  ln -s "$T/victim" shared/report.txt
  chown -h nobody shared/report.txt
  run "$AW" shared/report.txt <<<"data"
  assert_failure 77
  assert_output --partial "refusing to follow a symlink owned by uid 65534 in the world-writable sticky directory"
  assert_equal "${#lines[@]}" 1
  assert_equal "$(cat victim)" "secret"
  [ -L shared/report.txt ]
  assert_equal "$(leftovers "$T/shared" report.txt)" ""
  assert_equal "$(leftovers "$T" victim shared)" ""
}

@test "sticky dir: a file pre-created by another user is not replaced (77) and CMD does not even run" {
  sticky_dir
  echo theirs > shared/report.txt
  chown nobody shared/report.txt
  run "$AW" shared/report.txt -- sh -c 'touch "$0"; echo data' "$T/ran"
  assert_failure 77
  assert_output --partial "refusing to replace a file owned by uid 65534"
  assert_equal "$(cat shared/report.txt)" "theirs"
  assert_equal "$(stat -c %U shared/report.txt)" "nobody"
  [ ! -e ran ]
  assert_equal "$(leftovers "$T/shared" report.txt)" ""
}

@test "sticky dir: --mkdir and plain writes never go through another user's symlinked directory (77)" {
  sticky_dir
  mkdir elsewhere
  ln -s "$T/elsewhere" shared/sub
  chown -h nobody shared/sub
  run "$AW" --mkdir shared/sub/a/b/report.txt <<<"data"
  assert_failure 77
  assert_output --partial "refusing to follow a symlink"
  run "$AW" shared/sub/report.txt <<<"data"
  assert_failure 77
  assert_equal "$(leftovers "$T/elsewhere")" ""
  assert_equal "$(leftovers "$T/shared" sub)" ""
}

@test "sticky dir: a file another user plants at FILE's name while CMD runs is not replaced at the commit (77)" {
  sticky_dir
  # FILE is missing when atomic-write looks; it appears, owned by nobody, before the commit.
  run "$AW" shared/report.txt -- sh -c 'echo theirs > "$0"; chown nobody "$0"; echo mine' "$T/shared/report.txt"
  assert_failure 77
  assert_output --partial "refusing to replace a file owned by uid 65534"
  assert_equal "$(cat shared/report.txt)" "theirs"
  assert_equal "$(stat -c %U shared/report.txt)" "nobody"
  assert_equal "$(leftovers "$T/shared" report.txt)" ""
}

@test "sticky dir: --backup does not replace another user's file at the backup name (77)" {
  sticky_dir
  echo mine > shared/f
  echo theirs > shared/f~
  chown nobody shared/f~
  run "$AW" --backup shared/f <<<"new"
  assert_failure 77
  assert_equal "$(cat shared/f)" "mine"
  assert_equal "$(cat shared/f~)" "theirs"
  assert_equal "$(leftovers "$T/shared" f f~)" ""
}

@test "sticky dir: a file named like a dead writer's temp but owned by another user is not swept" {
  sticky_dir
  dead=$(dead_pid)
  planted="shared/.f.hardshell-$dead-0badf00d.tmp"
  echo theirs > "$planted"
  chown nobody "$planted"
  run "$AW" shared/f <<<"new"
  assert_success
  assert_equal "$(cat shared/f)" "new"
  assert_equal "$(cat "$planted")" "theirs"
}

@test "sticky dir: the caller's own file, the directory owner's file and symlink, and the caller's own symlink still work" {
  sticky_dir nobody
  echo a > shared/mine
  run "$AW" shared/mine <<<"A"
  assert_success
  assert_equal "$(cat shared/mine)" "A"
  echo b > shared/owners
  chown nobody shared/owners
  run "$AW" shared/owners <<<"B"
  assert_success
  assert_equal "$(cat shared/owners)" "B"
  assert_equal "$(stat -c %U shared/owners)" "nobody" # owner kept: the old file's owner
  echo c > target
  ln -s "$T/target" shared/owners-link
  chown -h nobody shared/owners-link
  run "$AW" shared/owners-link <<<"C"
  assert_success
  assert_equal "$(cat target)" "C"
  ln -s "$T/target" shared/my-link
  run "$AW" shared/my-link <<<"D"
  assert_success
  assert_equal "$(cat target)" "D"
  [ -L shared/my-link ] && [ -L shared/owners-link ]
}

@test "sticky dir, run as nobody: a third user's symlink is refused, nobody's own and the directory owner's are followed" {
  command -v setpriv >/dev/null || skip "setpriv missing: cannot run as another user"
  d=$(mktemp -d /tmp/hs-aw-sticky.XXXXXX) # owned by root, like /tmp
  chmod 1777 "$d"
  cp "$AW" "$d/atomic-write" && chmod 755 "$d/atomic-write"
  mkdir -m 777 "$d/other"
  echo keep > "$d/other/t"
  chmod 666 "$d/other/t"
  ln -s "$d/other/t" "$d/thirdlink" && chown -h 1 "$d/thirdlink"  # neither the caller nor the dir owner
  ln -s "$d/other/t" "$d/rootlink"                                # the directory's owner
  setpriv --reuid=65534 --regid=65534 --clear-groups ln -s "$d/other/t" "$d/mylink"
  as_nobody() { setpriv --reuid=65534 --regid=65534 --clear-groups env HOME=/tmp TMPDIR=/tmp "$d/atomic-write" "$@"; }
  rc1=0; echo x | as_nobody "$d/thirdlink" 2>/dev/null || rc1=$?
  c1=$(cat "$d/other/t")
  rc2=0; echo y | as_nobody "$d/mylink" || rc2=$?
  c2=$(cat "$d/other/t")
  rc3=0; echo z | as_nobody "$d/rootlink" || rc3=$?
  c3=$(cat "$d/other/t")
  left=$(leftovers "$d" atomic-write other thirdlink rootlink mylink)
  rm -rf "$d"
  assert_equal "$rc1" 77
  assert_equal "$c1" keep
  assert_equal "$rc2" 0
  assert_equal "$c2" y
  assert_equal "$rc3" 0
  assert_equal "$c3" z
  assert_equal "$left" ""
}

# ---------------------------------------------------------------- files a file system cannot replace

@test "/proc/version exists but cannot be replaced: 77 with a clear line, not 'does not exist' (--lock too)" {
  [ -f /proc/version ] || skip "no /proc here"
  before=$(cat /proc/version)
  run "$AW" /proc/version <<<"x"
  assert_failure 77
  assert_output --partial "does not allow creating files"
  refute_output --partial "does not exist"
  assert_equal "${#lines[@]}" 1
  run "$AW" --lock /proc/version <<<"x" # FILE.lock cannot be made there either: same answer
  assert_failure 77
  assert_output --partial "does not allow creating files"
  assert_equal "$(cat /proc/version)" "$before"
}

# ---------------------------------------------------------------- lock liveness

# Wait (~5s) until FILE.lock's owner record names the command run under it.
aw_wait_adopted() {
  local i
  for ((i = 0; i < 250; i++)); do grep -q '"child"' "$1/owner" 2>/dev/null && return 0; sleep 0.02; done
  return 1
}

@test "--lock -- CMD: a SIGKILLed writer's orphaned CMD keeps FILE.lock, the next writer gets 75 and FILE stays; after CMD ends the lock is taken over" {
  echo old > f
  "$AW" --lock f -- sh -c 'echo $$ > "$1"; exec sleep 60' sh "$T/job.pid" 3>&- &
  local writer=$!
  wait_for "$T/job.pid"
  local job
  job=$(cat "$T/job.pid")
  aw_wait_adopted f.lock
  kill -9 "$writer"
  wait "$writer" || true
  ! ended "$job" || false
  touch -d '2 hours ago' f.lock        # long past the stale threshold: only CMD keeps it
  run "$AW" --lock --lock-timeout 1s f <<<"new"
  assert_failure 75
  assert_output --partial "held by pid $job"
  assert_equal "$(cat f)" "old"
  [ -d f.lock ]
  kill -9 "$job"
  wait_ended "$job"
  run "$AW" --lock --lock-timeout 10s f <<<"new"
  assert_success
  assert_equal "$(cat f)" "new"
  assert_equal "$(leftovers "$T" f job.pid)" ""
}

@test "another user's flock on the (sticky, world-writable) parent directory cannot block taking over a stale FILE.lock, and it cannot flock the lock itself" {
  command -v flock >/dev/null || skip "flock(1) not installed"
  command -v runuser >/dev/null || skip "runuser(1) not installed"
  command -v setsid >/dev/null || skip "setsid(1) not installed"
  [ "$(id -u)" -eq 0 ] || skip "needs root to act as another user"
  # Somewhere nobody can reach (the checkout may be in a 0700 directory), shaped like /tmp.
  local d holder i rc=0 out="" mode="" stranger=0 held=0 content left
  d=$(mktemp -d /tmp/hardshell-flock.XXXXXX)
  chmod 1777 "$d"
  echo old > "$d/f"
  # A real stale lock: the writer is SIGKILLed by its own command, which then ends too.
  "$AW" --lock "$d/f" -- sh -c 'kill -9 $PPID' || rc=$?
  if [ "$rc" -eq 137 ] && [ -d "$d/f.lock" ]; then
    mode=$(stat -c %A "$d/f.lock")
    touch -d '2 hours ago' "$d/f.lock"
    # nobody may read the parent, so it can flock it, and keeps doing so.
    setsid runuser -u nobody -- flock "$d" sleep 60 </dev/null >/dev/null 2>&1 3>&- &
    holder=$!
    for ((i = 0; i < 250; i++)); do flock -n "$d" true || break; sleep 0.02; done
    flock -n "$d" true || held=1
    # ... but it cannot open the lock directory to flock that.
    runuser -u nobody -- flock -n "$d/f.lock" true 2>/dev/null && stranger=1
    rc=0
    out=$("$AW" --lock --lock-timeout 5s "$d/f" <<<"new" 2>&1) || rc=$?
    kill -9 -- "-$holder" 2>/dev/null || true
    wait "$holder" || true
  fi
  content=$(cat "$d/f")
  left=$(leftovers "$d" f)
  rm -rf "$d"
  [ "$held" -eq 1 ] || fail "the stale lock was not made, or nobody's flock on the parent was not taken"
  [ "$rc" -eq 0 ] || fail "takeover failed: exit $rc: $out"
  assert_equal "$content" "new"
  assert_equal "$left" ""
  [ "$stranger" -eq 0 ] || fail "nobody could flock the lock directory"
  assert_equal "$mode" "drwx--x--t"   # searchable (for the owner record), readable by its owner only
}

# ---------------------------------------------------------------- option values that look like flags

@test "option values that look like -h, --help or --version are values: a bad one is 64 and FILE stays" {
  echo old > f
  run "$AW" --lock-timeout --help f <<<"new"
  assert_failure 64
  assert_output --partial '"--help"'
  refute_output --partial "Examples"
  run "$AW" --mode -h f <<<"new"
  assert_failure 64
  assert_output --partial '"-h"'
  run "$AW" --if-unchanged --version f <<<"new"
  assert_failure 64                       # a (malformed) hash, not a version request
  assert_output --partial 'bad value for --if-unchanged: "--version"'
  run "$AW" --lock-timeout -5s --lock f <<<"new"
  assert_failure 64
  assert_equal "$(cat f)" "old"
  assert_equal "$(leftovers "$T" f)" ""
  run "$AW" --lock-timeout 5s f -- echo -h
  assert_success
  assert_equal "$(cat f)" "-h"
}

@test "another user who may not read a lock's owner record never takes the lock over, however old" {
  command -v runuser >/dev/null || skip "runuser(1) not installed"
  [ "$(id -u)" -eq 0 ] || skip "needs root to act as another user"
  local d job writer rc1=0 rc2=0 out1 out2 content
  d=$(mktemp -d /tmp/hardshell-perm.XXXXXX)
  chmod 755 "$d"
  mkdir -m 777 "$d/w"                         # world-writable, not sticky: nobody may rename the lock
  cp "$AW" "$d/atomic-write"                            # the checkout may be unreachable for nobody
  echo old > "$d/w/f" && chmod 666 "$d/w/f"
  # umask 077: the lock directory is 1700, so nobody cannot even read the owner record.
  (umask 077; exec "$AW" --lock "$d/w/f" -- sh -c 'echo $$ > "$1"; exec sleep 60' sh "$d/job.pid") 3>&- &
  writer=$!
  wait_for "$d/job.pid" || true
  aw_wait_adopted "$d/w/f.lock" || true        # checked below, after clean-up
  job=$(cat "$d/job.pid" 2>/dev/null || echo 0)
  kill -9 "$writer"; wait "$writer" || true   # no more refreshes; only the orphaned CMD holds it
  touch -d '20 seconds ago' "$d/w/f.lock"
  out1=$(runuser -u nobody -- "$d/atomic-write" --lock --lock-timeout 1s "$d/w/f" <<<"nobody" 2>&1) || rc1=$?
  touch -d '2 hours ago' "$d/w/f.lock"        # past even the unknown-owner grace
  out2=$(runuser -u nobody -- "$d/atomic-write" --lock --lock-timeout 1s "$d/w/f" <<<"nobody" 2>&1) || rc2=$?
  kill -9 "$job" 2>/dev/null || true
  content=$(cat "$d/w/f")
  local lockleft=0
  [ -d "$d/w/f.lock" ] && lockleft=1
  rm -rf "$d"
  [ "$rc1" -eq 75 ] || fail "20s old: exit $rc1: $out1"
  [ "$rc2" -eq 75 ] || fail "2h old: exit $rc2: $out2"
  assert_equal "$content" "old"
  [ "$lockleft" -eq 1 ]
}

# ---------------------------------------------------------------- big outputs: in-kernel copies

# A multi-MiB file of random bytes (NULs, no line structure) ending in $2 ("nl" or "no-nl").
big_old() {
  head -c 3145728 /dev/urandom > "$1"
  if [ "$2" = nl ]; then printf 'last line\n' >> "$1"; else printf 'no newline at the end' >> "$1"; fi
}

@test "--append onto a multi-MiB file is byte-exact: the old bytes, then stdin's bytes" {
  big_old f nl
  cp f expected
  printf 'appended line\n' >> expected
  printf 'appended line\n' | "$AW" --append f
  cmp f expected
  assert_equal "$(temps_of f)" ""
  [ ! -e f.lock ]
}

@test "--append onto a multi-MiB file without a trailing newline adds nothing between old and new bytes" {
  big_old f no-nl
  cp f expected
  printf 'tail\0bytes' >> expected
  printf 'tail\0bytes' | "$AW" --append --no-fsync f
  cmp f expected
  assert_equal "$(stat -c %s f)" "$(( $(stat -c %s expected) ))"
  assert_equal "$(temps_of f)" ""
}

@test "--append --print-hash on a multi-MiB file prints the sha256 of the whole new content" {
  big_old f nl
  run "$AW" --append --print-hash f <<<"one more"
  assert_success
  assert_output "$(sha256sum f | cut -d' ' -f1)"
  assert_equal "$(tail -n 1 f)" "one more"
}

@test "--append of a multi-MiB file onto a full file system is 74: file untouched, no temp file or lock" {
  aw_small_fs 3m
  head -c 1800000 /dev/urandom > small/log
  sum=$(sha256sum < small/log)
  run "$AW" --append small/log <<<"line"
  after=$(sha256sum < small/log)
  left=$(ls -A small)
  umount small
  assert_failure 74
  assert_output --partial "ENOSPC"
  assert_equal "$after" "$sum"
  assert_equal "$left" "log"
}

@test "-- CMD with a multi-MiB output writes it byte-exact and --print-hash matches it" {
  head -c 5000000 /dev/urandom > src
  run "$AW" --print-hash f -- cat src
  assert_success
  assert_output "$(sha256sum src | cut -d' ' -f1)"
  cmp f src
  assert_equal "$(temps_of f)" ""
}

@test "-- CMD whose output comes in bursts with pauses is committed whole at EOF" {
  run "$AW" f -- sh -c 'head -c 200000 /dev/zero; sleep 0.3; printf middle; sleep 0.3; head -c 70000 /dev/zero; printf end'
  assert_success
  assert_equal "$(stat -c %s f)" 270009
  assert_equal "$(tail -c 3 f)" "end"
  assert_equal "$(head -c 200006 f | tail -c 6)" "middle"
}

# ---------------------------------------------------------------- messages: one shape, `--` hints

@test "a forgotten -- before the command is named in the hint, not just 'unknown option', and FILE stays as it was" {
  bats_require_minimum_version 1.5.0
  echo 41 > c
  run --separate-stderr "$AW" --edit c sh -c 'read n; echo $((n+1))'
  assert_failure 64
  assert_equal "$stderr" 'atomic-write: unknown option: -c (did you forget `--` before "sh"?)'
  assert_equal "$(cat c)" "41"
  assert_equal "$(leftovers . c)" ""
}

@test "missing command after -- says where the command goes" {
  bats_require_minimum_version 1.5.0
  echo old > f
  run --separate-stderr "$AW" f --
  assert_failure 64
  assert_equal "$stderr" "atomic-write: missing command after -- (put the command after --: atomic-write [opts] FILE -- CMD [ARG...])"
  assert_equal "$(cat f)" "old"
  assert_equal "$(leftovers . f)" ""
}

@test "a negative --lock-timeout is the one bad-value line, saying what a duration looks like" {
  bats_require_minimum_version 1.5.0
  echo old > f
  run --separate-stderr "$AW" --lock --lock-timeout -5s f <<<"new"
  assert_failure 64
  assert_equal "$stderr" 'atomic-write: bad value for --lock-timeout: "-5s" (a duration such as 250ms, 10s, 5m)'
  run --separate-stderr "$AW" --mode 999 f <<<"new"
  assert_failure 64
  assert_equal "$stderr" 'atomic-write: bad value for --mode: "999" (octal, e.g. 0644)'
  assert_equal "$(cat f)" "old"
  assert_equal "$(leftovers . f)" ""
}

@test "an errno is named inside the hint, after the path as the user typed it (run as nobody)" {
  bats_require_minimum_version 1.5.0
  command -v setpriv >/dev/null || skip "setpriv missing: cannot drop root, and root bypasses permissions"
  d=$(mktemp -d /tmp/hs-aw-msg.XXXXXX)
  chmod 755 "$d"
  mkdir "$d/sub" && chmod 555 "$d/sub"
  # nobody cannot reach dist/ in a checkout under a 0700 directory: run a copy.
  b=$(mktemp -d /tmp/hs-aw-bin.XXXXXX) && chmod 755 "$b" && cp "$(readlink -f "$AW")" "$b/hardshell" && ln -s hardshell "$b/atomic-write"
  run --separate-stderr bash -c 'cd "$1" && exec setpriv --reuid=65534 --regid=65534 --clear-groups env HOME=/tmp TMPDIR=/tmp "$2/atomic-write" sub/f' _ "$d" "$b" <<<"new"
  rc=$status err=$stderr left=$(leftovers "$d/sub")
  rm -rf "$d" "$b"
  [ "$rc" -eq 77 ] || { echo "status $rc: $err"; false; }
  [[ "$err" =~ ^atomic-write:\ cannot\ create\ temp\ file:\ sub/\.f\.hardshell-[0-9]+-[0-9a-f]+\.tmp\ \(EACCES:\ permission\ denied\)$ ]] || { echo "stderr: $err"; false; }
  assert_equal "$left" ""
}

# ---------------------------------------------------------------- stdin: in-kernel copies

@test "stdin from a multi-MiB file is written byte-exact and --print-hash matches it" {
  head -c 5000017 /dev/urandom > src
  run "$AW" --print-hash f < src
  assert_success
  assert_output "$(sha256sum src | cut -d' ' -f1)"
  cmp f src
  assert_equal "$(temps_of f)" ""
}

@test "stdin from a file the shell already read part of is written from that offset on, small or multi-MiB" {
  head -c 5000017 /dev/urandom > src
  { head -c 100 >/dev/null; "$AW" f; } < src
  tail -c +101 src > expected
  cmp f expected
  printf 'ABCDEFGHIJ' > small
  { head -c 3 >/dev/null; "$AW" g; } < small
  assert_equal "$(cat g)" "DEFGHIJ"
  # and stdin's offset is left at EOF, as after cat: the next reader of the same stdin gets nothing
  { "$AW" h; wc -c | tr -d ' ' > after; } < src
  cmp h src
  assert_equal "$(cat after)" 0
  assert_equal "$(temps_of f)$(temps_of g)$(temps_of h)" ""
}

@test "stdin from a pipe with a multi-MiB output is written byte-exact and --print-hash matches it" {
  head -c 5000017 /dev/urandom > src
  run bash -c '{ cat "$1"; sleep 0.2; printf tail; } | "$2" --print-hash f' _ src "$AW"
  assert_success
  cat src > expected && printf tail >> expected
  assert_output "$(sha256sum expected | cut -d' ' -f1)"
  cmp f expected
  assert_equal "$(temps_of f)" ""
}

@test "stdin on a full file system is 74, from a file and from a pipe: file untouched, no temp file" {
  aw_small_fs 3m
  echo old > small/conf
  head -c 5000000 /dev/urandom > src
  rc1=0 rc2=0 rc3=0
  "$AW" small/conf < src 2>err1 || rc1=$?
  cat src | "$AW" small/conf 2>err2 || rc2=$?
  { head -c 100 >/dev/null; "$AW" --print-hash small/conf; } < src 2>err3 || rc3=$?
  content=$(cat small/conf) left=$(ls -A small)
  umount small
  assert_equal "$rc1 $rc2 $rc3" "74 74 74"
  grep -q ENOSPC err1 && grep -q ENOSPC err2 && grep -q ENOSPC err3
  assert_equal "$content" "old"
  assert_equal "$left" "conf"
}

@test "SIGTERM while a big stdin file is being copied: 143, file untouched, no temp file" {
  echo old > f
  truncate -s 8G big # sparse: costs no disk to hold, and takes seconds to copy
  # From offset 1: an unaligned range cannot be cloned (reflink on btrfs/xfs would be instant).
  { head -c 1 >/dev/null; exec "$AW" --no-fsync f; } < big &
  local pid=$!
  # Stop it once the copy is under way (the temp file holds some of it).
  aw_term_mid_copy "$pid" 1
  rm -f big
}

@test "SIGTERM while a big piped stdin is being copied: 143, file untouched, no temp file" {
  echo old > f
  { head -c 20000000 /dev/zero; sleep 30; } | "$AW" --no-fsync f &
  local pid=$!
  aw_term_mid_copy "$pid" 20000000
}

# ---------------------------------------------------------------- messages: FILE as typed

@test "an error on ../x/f or on an absolute path outside the cwd names the path exactly as typed" {
  bats_require_minimum_version 1.5.0
  mkdir sub && cd sub
  run --separate-stderr "$AW" ../x/f <<<"new"
  assert_failure 73
  assert_equal "$stderr" "atomic-write: directory does not exist: ../x (use --mkdir to create it for ../x/f)"
  run --separate-stderr "$AW" "$T/sub/../x/f" <<<"new"
  assert_failure 73
  assert_equal "$stderr" "atomic-write: directory does not exist: $T/sub/../x (use --mkdir to create it for $T/sub/../x/f)"
  echo old > ../f
  run --separate-stderr "$AW" --if-absent "$T/sub/../f" <<<"new"
  assert_failure 1
  assert_equal "$stderr" "atomic-write: file already exists: $T/sub/../f (--if-absent: left unchanged)"
  run --separate-stderr "$AW" --if-absent ../f <<<"new"
  assert_equal "$stderr" "atomic-write: file already exists: ../f (--if-absent: left unchanged)"
  assert_equal "$(cat ../f)" "old"
  assert_equal "$(temps_of ../f)" ""
  [ ! -e ../x ]
}

@test "the temp file in a message is FILE's directory as typed plus the temp's name (full disk, ../small/conf)" {
  bats_require_minimum_version 1.5.0
  mkdir sub
  aw_small_fs 1m
  echo old > small/conf
  head -c 3000000 /dev/zero > big
  cd sub
  run --separate-stderr "$AW" ../small/conf < ../big
  cd ..
  content=$(cat small/conf) left=$(ls -A small)
  umount small
  assert_failure 74
  [[ "$stderr" =~ ^atomic-write:\ cannot\ write\ temp\ file:\ \.\./small/\.conf\.hardshell-[0-9]+-[0-9a-f]+\.tmp\ \(ENOSPC: ]] || { echo "stderr: $stderr"; false; }
  assert_equal "$content" "old"
  assert_equal "$left" "conf"
}
