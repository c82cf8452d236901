#!/usr/bin/env bash
# npm run demo — hardshell's main job end to end, in a temp dir, in well under a minute:
#   1. 50 concurrent sqlite-exec writers on one WAL database while the sqlite3 CLI
#      holds a write lock: every row lands, attempts and waits summarised;
#   2. a crashed writer's stale index.lock is found and cleaned by git-lock while a
#      live one (held open by a running process) is left alone;
#   3. atomic-write --edit increments a counter from 20 processes: it ends at 20.
# Builds dist/ first if it is missing or older than the sources.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
"$root/node_modules/.bin/bun" "$root/scripts/build.ts" --if-stale >/dev/null
export PATH="$root/dist:$PATH"
for tool in sqlite3 git; do
  command -v "$tool" >/dev/null || { echo "demo: needs $tool (apt-get install $tool)" >&2; exit 69; }
done

work="$(mktemp -d "${TMPDIR:-/tmp}/hardshell-demo.XXXXXX")"
holder_pid=""
cleanup() {
  [ -z "$holder_pid" ] || kill "$holder_pid" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
cd "$work"
started=$(date +%s%N)
ok=1
say() { printf '%s\n' "$*"; }
check() { # check DESCRIPTION CONDITION...
  local what="$1"; shift
  if "$@"; then say "  ok    $what"; else say "  FAIL  $what"; ok=0; fi
}

say "hardshell demo ($work)"
say ""
say "1. sqlite-exec: 50 concurrent writers while the sqlite3 CLI holds the write lock"
sqlite-exec --create --wal app.db 'CREATE TABLE events (id INTEGER PRIMARY KEY, writer INTEGER NOT NULL, note TEXT)' >/dev/null
# The CLI takes the write lock and keeps it for 1.5 s, like a slow batch job would.
( printf 'BEGIN IMMEDIATE;\nINSERT INTO events (writer, note) VALUES (0, %s);\n' "'held by sqlite3 CLI'"; sleep 1.5; printf 'COMMIT;\n' ) | sqlite3 app.db &
holder_pid=$!
sleep 0.2
pids=()
for i in $(seq 1 50); do
  sqlite-exec --stats --param "w:int=$i" --param "note=writer $i's row; DROP TABLE events; --" \
    app.db 'INSERT INTO events (writer, note) VALUES (:w, :note)' 2>"stats.$i" &
  pids+=($!)
done
failed=0
for p in "${pids[@]}"; do wait "$p" || failed=$((failed + 1)); done
wait "$holder_pid" || true
holder_pid=""
rows=$(sqlite3 app.db 'SELECT count(*) FROM events WHERE writer > 0')
# --stats lines carry attempts=N waited=Xms (backoff sleeps) total=Yms (including SQLite's
# own busy wait inside each attempt); summarise them.
summary=$(cat stats.* | awk '
  function toms(v) { return (v ~ /ms$/) ? v + 0 : (v ~ /s$/ ? (v + 0) * 1000 : v + 0) }
  { for (i = 1; i <= NF; i++) {
      split($i, kv, "=")
      if (kv[1] == "attempts") { n = kv[2] + 0; att += n; if (n > 1) retried++; if (n > maxa) maxa = n }
      if (kv[1] == "waited")   { w = toms(kv[2]); if (w > maxw) maxw = w }
      if (kv[1] == "total")    { t = toms(kv[2]); if (t > maxt) maxt = t }
  } }
  END { printf "%d attempts in all, %d writers retried; the slowest writer took %d ms (at most %d attempts, %d ms of backoff sleep)", att, retried, maxt, maxa, maxw }')
say "  $summary"
check "50 writers exited 0 ($failed failed)" test "$failed" -eq 0
check "50 rows present ($rows), values bound not spliced" test "$rows" -eq 50
check "integrity_check ok" test "$(sqlite3 app.db 'PRAGMA integrity_check')" = ok

say ""
say "2. git-lock: a crashed git's stale lock is cleaned, a live one is left alone"
git init -q -b main repo
(cd repo && echo hello > a && git add a && git -c user.name=demo -c user.email=demo@example.invalid commit -qm init)
# The debris of a git killed mid-operation: an index.lock nobody holds, an hour old.
touch repo/.git/index.lock && touch -d '1 hour ago' repo/.git/index.lock
# A live holder: a process that keeps a ref lock open (a running `git update-ref` would).
(exec 3>repo/.git/refs/heads/main.lock; touch -d '1 hour ago' repo/.git/refs/heads/main.lock; sleep 30) &
holder_pid=$!
sleep 0.3
say "  before:"
git-lock status --repo repo 2>&1 | sed 's/^/    /' || true
git-lock clean --repo repo 2>&1 | sed 's/^/    /' || true
check "stale index.lock removed" test ! -e repo/.git/index.lock
check "live refs/heads/main.lock kept (its holder is running)" test -e repo/.git/refs/heads/main.lock
check "git add works again" git -C repo add a
kill "$holder_pid" 2>/dev/null || true
wait "$holder_pid" 2>/dev/null || true
holder_pid=""
rm -f repo/.git/refs/heads/main.lock

say ""
say "3. atomic-write --edit: 20 processes increment one counter"
printf '0\n' > counter
pids=()
for i in $(seq 1 20); do
  # shellcheck disable=SC2016 # $n belongs to the child sh
  atomic-write --edit counter -- sh -c 'read -r n; echo $((n + 1))' &
  pids+=($!)
done
failed=0
for p in "${pids[@]}"; do wait "$p" || failed=$((failed + 1)); done
check "20 increments exited 0 ($failed failed)" test "$failed" -eq 0
check "counter is 20 ($(cat counter)), no update lost" test "$(cat counter)" = 20
check "no temp or lock file left" test -z "$(compgen -G '.counter*' || true; compgen -G 'counter.lock*' || true)"

elapsed=$(( ($(date +%s%N) - started) / 1000000 ))
say ""
if [ "$ok" -eq 1 ]; then
  say "demo: all checks passed in ${elapsed} ms"
else
  say "demo: some checks FAILED (${elapsed} ms)"
  exit 1
fi
