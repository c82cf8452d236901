#!/usr/bin/env bats
# Black-box tests of dist/git-lock against real git repositories and real git
# processes (design.md §4, issue 4).

load test_helper

local_setup() {
  git init -q -b main r
  git -C r commit -q --allow-empty -m init
  R="$T/r"
  G="$R/.git"
  cd "$R" || return 1
}

local_teardown() {
  [ -z "${KILL_PIDS:-}" ] || kill -9 $KILL_PIDS 2>/dev/null || true
  # A test that failed half-way must not leave a git commit blocked on its editor's fifo.
  [ ! -p "$T/fifo" ] || timeout 2 sh -c 'echo go > "$1"' sh "$T/fifo" 2>/dev/null || true
}

# Create (if missing) and age files by two hours; symlinks themselves are aged, never followed.
old() {
  local f
  for f in "$@"; do
    [ -e "$f" ] || [ -L "$f" ] || : > "$f"
    touch -h -d '2 hours ago' "$f"
  done
}

# ---- discovery -------------------------------------------------------------

@test "status finds the repository from a subdirectory and from --repo" {
  mkdir -p "$R/a/b" && old "$G/index.lock"
  cd "$R/a/b"
  run git-lock status --json
  assert_failure 1
  assert_output --partial "$G/index.lock"
  cd "$T"
  run git-lock status --repo r/a --json
  assert_failure 1
  assert_output --partial "$G/index.lock"
}

@test "a directory that is not a repository is exit 66" {
  mkdir "$T/plain"
  run git-lock status --repo "$T/plain"
  assert_failure 66
  assert_output --partial "not a git repository"
  run git-lock status --repo "$T/does-not-exist"
  assert_failure 66
  cd "$T/plain"
  GIT_CEILING_DIRECTORIES="$T" run git-lock clean
  assert_failure 66
}

@test "a linked worktree's own locks are found when run from the worktree and from the main one" {
  git -C "$R" worktree add -q ../wt -b side
  old "$G/worktrees/wt/index.lock"
  cd "$T/wt"
  run git-lock status --json
  assert_failure 1
  assert_output --partial "\"path\": \"$G/worktrees/wt/index.lock\""
  cd "$R"
  run git-lock status --json
  assert_output --partial "$G/worktrees/wt/index.lock"
  run git-lock clean
  assert_success
  [ ! -e "$G/worktrees/wt/index.lock" ]
}

@test "a submodule's locks are found through its .git file" {
  git init -q -b main "$T/sub" && git -C "$T/sub" commit -q --allow-empty -m s
  git -C "$R" -c protocol.file.allow=always submodule add -q "$T/sub" sub
  [ -f "$R/sub/.git" ]
  old "$G/modules/sub/index.lock"
  cd "$R/sub"
  run git-lock status --json
  assert_failure 1
  assert_output --partial "$G/modules/sub/index.lock"
}

@test "a bare repository and GIT_DIR are both understood" {
  git init -q --bare "$T/b.git"
  old "$T/b.git/packed-refs.lock"
  cd "$T"
  run git-lock status --repo b.git --json
  assert_failure 1
  assert_output --partial "$T/b.git/packed-refs.lock"
  assert_output --partial '"kind": "packed-refs"'
  old "$G/config.lock"
  GIT_DIR=r/.git run git-lock status --json
  assert_failure 1
  assert_output --partial "$G/config.lock"
}

# ---- the lock set ----------------------------------------------------------

@test "status lists deep ref locks, reflog, object, commit-graph, reftable and other git locks" {
  mkdir -p "$G/refs/heads/a" "$G/logs/refs/heads" "$G/objects/info/commit-graphs" "$G/reftable"
  for f in refs/heads/a/b.lock packed-refs.lock HEAD.lock ORIG_HEAD.lock FETCH_HEAD.lock shallow.lock \
           logs/refs/heads/main.lock objects/info/commit-graph.lock objects/info/commit-graphs/commit-graph-chain.lock \
           objects/pack/multi-pack-index.lock reftable/tables.list.lock; do
    : > "$G/$f"
  done
  run git-lock status --json
  assert_success # all young
  for f in refs/heads/a/b.lock packed-refs.lock HEAD.lock ORIG_HEAD.lock FETCH_HEAD.lock shallow.lock \
           logs/refs/heads/main.lock objects/info/commit-graph.lock objects/info/commit-graphs/commit-graph-chain.lock \
           objects/pack/multi-pack-index.lock reftable/tables.list.lock; do
    assert_output --partial "\"path\": \"$G/$f\""
  done
  assert_output --partial '"kind": "ref"'
  assert_output --partial '"verdict": "young"'
}

@test "a packed-refs.new left by a killed git pack-refs is removed once stale, and pack-refs works again" {
  git -C "$R" update-ref refs/heads/extra HEAD
  echo partial > "$G/packed-refs.new"      # what a pack-refs SIGKILLed mid-write leaves
  run git -C "$R" pack-refs --all
  assert_failure                            # git itself is stuck on it
  assert_output --partial "packed-refs.new"
  old "$G/packed-refs.new"
  run git-lock clean
  assert_success
  assert_output --partial "removed $G/packed-refs.new"
  git -C "$R" pack-refs --all
  grep -q refs/heads/extra "$G/packed-refs"
}

@test "a packed-refs.new that a live process is writing is kept" {
  exec 5>"$G/packed-refs.new"
  old "$G/packed-refs.new"
  run git-lock clean --force
  exec 5>&-
  assert_success
  [ -e "$G/packed-refs.new" ]
}

@test "gc.pid of a dead pid on this host is stale; a live pid or another host's is not" {
  echo "$(dead_pid) $(hostname)" > "$G/gc.pid" && old "$G/gc.pid"
  run git-lock status --json
  assert_failure 1
  assert_output --partial '"kind": "gc-pid"'
  assert_output --partial '"verdict": "stale"'

  sleep 30 & KILL_PIDS=$!
  echo "$KILL_PIDS $(hostname)" > "$G/gc.pid" && old "$G/gc.pid"
  run git-lock status --json
  assert_success
  assert_output --partial '"verdict": "active"'
  assert_output --partial "\"pid\": $KILL_PIDS"

  echo "4242 build-host-elsewhere" > "$G/gc.pid" && old "$G/gc.pid"
  run git-lock status --json
  assert_success
  assert_output --partial '"verdict": "unknown"'
  run git-lock clean --force
  [ -e "$G/gc.pid" ]
}

@test "status exits 0 with nothing stale and 1 with a stale lock, as JSON too" {
  run git-lock status
  assert_success
  assert_output ""
  : > "$G/index.lock"
  run git-lock status
  assert_success
  assert_output --partial "young"
  old "$G/index.lock"
  run git-lock status --quiet
  assert_failure 1
  assert_output ""
  run git-lock status --json
  assert_failure 1
  echo "$output" | python3 -c '
import json, sys
d = json.load(sys.stdin)
assert len(d) == 1, d
l = d[0]
assert set(["path", "kind", "verdict", "age_s", "size", "holders"]) <= set(l), l
assert l["kind"] == "index" and l["verdict"] == "stale" and l["age_s"] > 7000 and l["holders"] == [], l
'
}

@test "status suggests core.lockfilePid when a lock had no holder record" {
  old "$G/index.lock"
  run git-lock status
  assert_output --partial "git config core.lockfilePid true"
}

# ---- holder records (core.lockfilePid) ---------------------------------------

@test "a holder record naming a live pid makes its lock active and is never listed itself" {
  sleep 30 & KILL_PIDS=$!
  old "$G/index.lock"
  printf 'pid %s\n' "$KILL_PIDS" > "$G/index~pid.lock"
  run git-lock status --json
  assert_success
  assert_output --partial '"verdict": "active"'
  assert_output --partial "\"pid\": $KILL_PIDS"
  refute_output --partial "~pid.lock"
  run git-lock clean --force
  [ -e "$G/index.lock" ] && [ -e "$G/index~pid.lock" ]
}

@test "a holder record naming a dead pid beats a live git in the repo; the record goes with its lock" {
  ( exec 3>&-; sleep 30 | git -C "$R" cat-file --batch >/dev/null ) &
  local sub=$! gitpid i
  for i in $(seq 100); do gitpid=$(pgrep -P "$sub" -x git) && break; sleep 0.05; done
  KILL_PIDS="$sub $gitpid $(pgrep -P "$sub" -x sleep)"
  old "$G/index.lock"
  printf 'pid %s\n' "$(dead_pid)" > "$G/index~pid.lock"
  : > "$G/HEAD.lock" && old "$G/HEAD.lock" # no record: the live git keeps it
  run git-lock clean
  assert_success
  assert_output --partial "removed $G/index.lock"
  [ ! -e "$G/index.lock" ] && [ ! -e "$G/index~pid.lock" ]
  [ -e "$G/HEAD.lock" ]
}

@test "with core.lockfilePid, git's own record marks the lock it holds during a hook" {
  cat > "$G/hooks/pre-commit" <<EOF
#!/bin/sh
ls "$G" > "$T/ls"
git-lock status --json > "$T/st.json"
exit 0
EOF
  chmod +x "$G/hooks/pre-commit"
  echo x > "$R/f" && git -C "$R" add f && git -C "$R" commit -q -m f
  echo y > "$R/f"
  git -C "$R" -c core.lockfilePid=true commit -q -a -m y
  grep -q 'index~pid.lock' "$T/ls" || skip "git $(git --version | cut -d' ' -f3) ignores core.lockfilePid"
  grep -q '"verdict": "active"' "$T/st.json"
  ! grep -q '~pid.lock"' "$T/st.json"
}

# ---- live holders ----------------------------------------------------------

@test "a lock held open by a live process is never removed, --force included" {
  old "$G/HEAD.lock"
  ( exec 3>>"$G/HEAD.lock"; exec sleep 30 ) 3>&- &
  KILL_PIDS=$!
  sleep 0.2
  run git-lock clean --force --stale-after 0
  assert_success
  assert_output --partial "kept $G/HEAD.lock (active: open in live process $KILL_PIDS (sleep))"
  [ -e "$G/HEAD.lock" ]
  kill -9 $KILL_PIDS && wait $KILL_PIDS 2>/dev/null || true
  run git-lock status --json
  assert_failure 1
}

@test "a file held open by python is active with the holder's pid and comm" {
  old "$G/packed-refs.lock"
  python3 -c 'import sys, time; f = open(sys.argv[1], "a"); print("ok", flush=True); time.sleep(30)' "$G/packed-refs.lock" > "$T/py.out" 3>&- &
  KILL_PIDS=$!
  wait_for "$T/py.out" && until grep -q ok "$T/py.out"; do sleep 0.05; done
  run git-lock status --json
  assert_success
  assert_output --partial '"verdict": "active"'
  assert_output --partial "\"pid\": $KILL_PIDS"
  assert_output --partial '"comm": "python3'
}

@test "a live git commit waiting on its editor keeps every lock of the repository" {
  mkfifo "$T/fifo"
  printf '#!/bin/sh\n: > "%s.editing"\ncat "%s" > /dev/null\necho msg > "$1"\n' "$T/fifo" "$T/fifo" > "$T/editor" && chmod +x "$T/editor"
  ( cd "$R" && GIT_EDITOR="$T/editor" git commit -q --allow-empty ) 3>&- &
  local commit=$!
  old "$G/refs/heads/other.lock" "$G/ORIG_HEAD.lock"
  wait_for "$T/fifo.editing"
  run git-lock clean --force --stale-after 0
  assert_success
  assert_output --partial "live git process"
  refute_output --partial "removed"
  [ -e "$G/refs/heads/other.lock" ] && [ -e "$G/ORIG_HEAD.lock" ]
  echo go > "$T/fifo"
  wait "$commit"
  run git-lock clean
  assert_success
  assert_output --partial "removed $G/ORIG_HEAD.lock"
  [ ! -e "$G/refs/heads/other.lock" ]
}

@test "a live git pointed at the repository by --git-dir from elsewhere keeps its locks" {
  ( exec 3>&-; cd "$T" && sleep 30 | git --git-dir="$G" cat-file --batch >/dev/null ) &
  local sub=$! gitpid i
  for i in $(seq 100); do gitpid=$(pgrep -P "$sub" -x git) && break; sleep 0.05; done
  KILL_PIDS="$sub $gitpid $(pgrep -P "$sub" -x sleep)"
  [ "$(readlink "/proc/$gitpid/cwd")" = "$T" ]
  old "$G/HEAD.lock"
  run git-lock clean --force
  assert_success
  assert_output --partial "kept $G/HEAD.lock (active: live git process in this repository (pid $gitpid))"
  [ -e "$G/HEAD.lock" ]
}

@test "a pre-commit hook of git commit -a calling git-lock clean --force leaves index.lock and the commit succeeds" {
  echo x > "$R/f" && git -C "$R" add f && git -C "$R" commit -q -m f
  cat > "$G/hooks/pre-commit" <<EOF
#!/bin/sh
git-lock clean --force 2> "$T/hook.err"
EOF
  chmod +x "$G/hooks/pre-commit"
  echo y > "$R/f"
  run git -C "$R" commit -q -a -m y
  assert_success
  grep -q "kept $G/index.lock (active" "$T/hook.err"
  ! grep -q removed "$T/hook.err"
  [ "$(git -C "$R" log -1 --format=%s)" = y ]
  [ "$(git -C "$R" status --porcelain)" = "" ]
}

@test "a hook clears a lock left before its git started, while the parent's index.lock stays" {
  echo x > "$R/f" && git -C "$R" add f && git -C "$R" commit -q -m f
  : > "$G/refs/heads/crashed.lock"
  sleep 1.2 # older than git-lock's start-time slack: the commit below cannot have made it
  printf '#!/bin/sh\ngit-lock clean --force 2> "%s"\n' "$T/hook.err" > "$G/hooks/pre-commit"
  chmod +x "$G/hooks/pre-commit"
  echo y > "$R/f"
  run git -C "$R" commit -q -a -m y
  assert_success
  grep -q "removed $G/refs/heads/crashed.lock" "$T/hook.err"
  grep -q "kept $G/index.lock (active" "$T/hook.err"
  [ ! -e "$G/refs/heads/crashed.lock" ]
}

@test "git lock clean, dispatched by git itself, is not blocked by its own parent git" {
  old "$G/index.lock"
  cd "$R"
  run git lock clean
  assert_success
  assert_output --partial "removed $G/index.lock"
  [ ! -e "$G/index.lock" ]
}

# ---- every repository layout, git under any name (issue: live locks removed) ----

# A pre-commit hook (in hooks dir $1) that runs `git-lock clean --force` and lets the commit go on.
hook_cleans() {
  printf '#!/bin/sh\ngit-lock clean --force 2> "%s"\n' "$T/hook.err" > "$1/pre-commit"
  chmod +x "$1/pre-commit"
}

# Start `$@ commit -q -a` in directory $1 and return once it waits on its editor (pid in $COMMIT).
commit_on_editor() {
  local dir="$1"; shift
  mkfifo "$T/fifo"
  printf '#!/bin/sh\n: > "%s.editing"\ncat "%s" > /dev/null\necho edited > "$1"\n' "$T/fifo" "$T/fifo" > "$T/editor" && chmod +x "$T/editor"
  ( cd "$dir" && GIT_EDITOR="$T/editor" exec "$@" commit -q -a ) 3>&- &
  COMMIT=$!
  wait_for "$T/fifo.editing"
}

# Let the editor finish; the commit must succeed.
finish_commit() {
  echo go > "$T/fifo"
  wait "$COMMIT"
}

# A repository made with `git init --separate-git-dir`: work tree $T/sep, git dir $T/gd.
separate_repo() {
  git init -q -b main --separate-git-dir "$T/gd" "$T/sep"
  echo x > "$T/sep/f" && git -C "$T/sep" add f && git -C "$T/sep" commit -q -m x
}

# A submodule $R/sm (git dir $G/modules/sm, core.worktree set) of the main repository.
submodule_repo() {
  git init -q -b main "$T/src" && echo x > "$T/src/f" && git -C "$T/src" add f && git -C "$T/src" commit -q -m x
  git -C "$R" -c protocol.file.allow=always submodule add -q "$T/src" sm
  git -C "$R" commit -q -m sm
}

@test "separate git dir: a pre-commit hook's clean --force keeps the commit's index.lock and the commit succeeds" {
  separate_repo
  hook_cleans "$T/gd/hooks"
  echo y > "$T/sep/f"
  run git -C "$T/sep" commit -q -a -m y
  assert_success
  grep -q "kept $T/gd/index.lock (active: live git process" "$T/hook.err"
  ! grep -q removed "$T/hook.err"
  [ "$(git -C "$T/sep" log -1 --format=%s)" = y ]
  [ -z "$(git -C "$T/sep" status --porcelain)" ]
  [ ! -e "$T/gd/index.lock" ]
}

@test "submodule: a pre-commit hook's clean --force keeps the commit's index.lock and the commit succeeds" {
  submodule_repo
  hook_cleans "$G/modules/sm/hooks"
  echo y > "$R/sm/f"
  run git -C "$R/sm" commit -q -a -m y
  assert_success
  grep -q "kept $G/modules/sm/index.lock (active: live git process" "$T/hook.err"
  ! grep -q removed "$T/hook.err"
  [ "$(git -C "$R/sm" log -1 --format=%s)" = y ]
  [ -z "$(git -C "$R/sm" status --porcelain)" ]
}

@test "clean --force --repo GIT_DIR keeps the index.lock of git commit -a waiting on its editor (separate git dir and submodule)" {
  separate_repo
  submodule_repo
  echo y > "$T/sep/f"
  echo y > "$R/sm/f"
  commit_on_editor "$T/sep" git
  local first=$COMMIT
  [ -e "$T/gd/index.lock" ]
  run git-lock clean --force --repo "$T/gd"
  assert_success
  assert_output --partial "kept $T/gd/index.lock (active: live git process in this repository (pid $first))"
  refute_output --partial removed
  [ -e "$T/gd/index.lock" ]
  finish_commit
  [ "$(git -C "$T/sep" log -1 --format=%s)" = edited ]

  rm "$T/fifo" "$T/fifo.editing"
  commit_on_editor "$R/sm" git
  run git-lock clean --force --repo "$G/modules/sm"
  assert_success
  assert_output --partial "kept $G/modules/sm/index.lock (active: live git process in this repository (pid $COMMIT))"
  refute_output --partial removed
  finish_commit
  [ "$(git -C "$R/sm" log -1 --format=%s)" = edited ]
  [ -z "$(git -C "$R/sm" status --porcelain)" ]
}

@test "a linked worktree with relative gitdir files: its commit's index.lock is kept by a hook and by clean from the main work tree" {
  git -C "$R" worktree add -q -b side "$T/wt"
  # What newer git writes with worktree.useRelativePaths: both links relative.
  echo "../../../../wt/.git" > "$G/worktrees/wt/gitdir"
  echo "gitdir: ../r/.git/worktrees/wt" > "$T/wt/.git"
  [ "$(git -C "$T/wt" rev-parse --abbrev-ref HEAD)" = side ]
  echo x > "$T/wt/f" && git -C "$T/wt" add f && git -C "$T/wt" commit -q -m x
  hook_cleans "$G/hooks"
  echo y > "$T/wt/f"
  run git -C "$T/wt" commit -q -a -m y
  assert_success
  grep -q "kept $G/worktrees/wt/index.lock (active: live git process" "$T/hook.err"
  ! grep -q removed "$T/hook.err"
  [ "$(git -C "$T/wt" log -1 --format=%s)" = y ]

  rm "$G/hooks/pre-commit"
  echo z > "$T/wt/f"
  commit_on_editor "$T/wt" git
  cd "$R"
  run git-lock clean --force
  assert_success
  assert_output --partial "kept $G/worktrees/wt/index.lock (active: live git process in this repository (pid $COMMIT))"
  refute_output --partial removed
  finish_commit
  [ "$(git -C "$T/wt" log -1 --format=%s)" = edited ]
}

@test "git started through a symlink with another name is recognised by its executable and keeps its locks" {
  mkdir "$T/bin" && ln -s "$(command -v git)" "$T/bin/vcs"
  echo x > "$R/f" && git -C "$R" add f && git -C "$R" commit -q -m x
  echo y > "$R/f"
  commit_on_editor "$R" "$T/bin/vcs"
  [ "$(cat "/proc/$COMMIT/comm")" = vcs ] && [ "$(readlink "/proc/$COMMIT/exe")" = "$(readlink -f "$(command -v git)")" ]
  run git-lock clean --force
  assert_success
  assert_output --partial "kept $G/index.lock (active: live git process in this repository (pid $COMMIT))"
  refute_output --partial removed
  [ -e "$G/index.lock" ]
  finish_commit
  [ "$(git -C "$R" log -1 --format=%s)" = edited ]
  [ -z "$(git -C "$R" status --porcelain)" ]
}

@test "git lock clean through a symlink-named git is not blocked by its own dispatcher" {
  mkdir "$T/bin" && ln -s "$(command -v git)" "$T/bin/vcs"
  old "$G/index.lock"
  cd "$R"
  run "$T/bin/vcs" lock clean
  assert_success
  assert_output --partial "removed $G/index.lock"
  [ ! -e "$G/index.lock" ]
}

@test "a killed git not yet reaped by its parent (a zombie) does not keep an old lock" {
  ( cd "$R" && { sleep 30 | git cat-file --batch > /dev/null & } && echo $! > "$T/gitpid" && exec sleep 30 ) 3>&- &
  local parent=$! gitpid i
  wait_for "$T/gitpid" && gitpid=$(cat "$T/gitpid")
  KILL_PIDS="$parent $(pgrep -P "$parent" -x sleep)"
  kill -9 "$gitpid"
  for i in $(seq 100); do [ "$(awk '{print $3}' "/proc/$gitpid/stat")" = Z ] && break; sleep 0.05; done
  [ "$(awk '{print $3}' "/proc/$gitpid/stat")" = Z ] && [ "$(cat "/proc/$gitpid/comm")" = git ]
  old "$G/index.lock"
  run git-lock clean
  assert_success
  assert_output --partial "removed $G/index.lock"
}

# ---- removal ---------------------------------------------------------------

@test "an old lock with no holder is removed, reported with path, age and reason, and git add works again" {
  echo x > "$R/f"
  : > "$G/index.lock" && old "$G/index.lock"
  run git -C "$R" add f
  assert_failure
  run git-lock clean
  assert_success
  assert_output --regexp "git-lock: removed $G/index.lock \(age 2h, no live holder; older than 30s\)"
  [ -z "$(leftovers "$G" COMMIT_EDITMSG HEAD branches config description hooks index info logs objects refs)" ]
  run git -C "$R" add f
  assert_success
}

@test "--dry-run removes nothing and says what would go" {
  old "$G/index.lock" "$G/packed-refs.lock"
  run git-lock clean --dry-run
  assert_success
  assert_output --partial "would remove $G/index.lock"
  assert_output --partial "would remove $G/packed-refs.lock"
  [ -e "$G/index.lock" ] && [ -e "$G/packed-refs.lock" ]
  run git-lock clean --dry-run --json
  assert_output --partial '"action": "would-remove"'
  [ -e "$G/index.lock" ]
}

@test "a young lock is kept; --force removes it when nobody holds it" {
  : > "$G/index.lock"
  run git-lock clean
  assert_success
  assert_output --partial "kept $G/index.lock (young"
  [ -e "$G/index.lock" ]
  run git-lock clean --force
  assert_success
  [ ! -e "$G/index.lock" ]
}

@test "a lock that is a symlink is never followed and its target survives" {
  echo precious > "$T/target"
  ln -s "$T/target" "$G/index.lock"
  old "$G/index.lock" "$T/target"
  run git-lock clean --force
  assert_failure 1
  assert_output --partial "symlink"
  [ -L "$G/index.lock" ]
  [ "$(cat "$T/target")" = precious ]
}

@test "nothing outside the git dir is touched" {
  mkdir "$T/ext" && : > "$T/ext/x.lock" && : > "$T/outside.lock" && old "$T/ext/x.lock" "$T/outside.lock"
  ln -s "$T/ext" "$G/refs/heads/ext"
  run git-lock clean --force
  assert_success
  [ -e "$T/ext/x.lock" ]
  run git-lock clean --force -- "$T/outside.lock"
  assert_failure 64
  [ -e "$T/outside.lock" ]
  run git-lock clean --force -- "$G/refs/heads/ext/x.lock"
  [ -e "$T/ext/x.lock" ]
}

@test "clean -- LOCK judges only the named lock" {
  old "$G/index.lock" "$G/HEAD.lock"
  run git-lock clean -- "$G/index.lock"
  assert_success
  [ ! -e "$G/index.lock" ] && [ -e "$G/HEAD.lock" ]
}

# ---- wait ------------------------------------------------------------------

@test "wait returns 0 at once when the repository is free" {
  local t0=$SECONDS
  run git-lock wait --timeout 5s
  assert_success
  [ $((SECONDS - t0)) -le 1 ]
}

@test "wait --timeout 1s with a live holder gives 75 after about a second" {
  old "$G/index.lock"
  ( exec 3>>"$G/index.lock"; exec sleep 30 ) 3>&- &
  KILL_PIDS=$!
  sleep 0.2
  local t0 t1
  t0=$(date +%s%N)
  run git-lock wait --timeout 1s
  t1=$(date +%s%N)
  assert_failure 75
  assert_output --partial "$G/index.lock (active)"
  local ms=$(((t1 - t0) / 1000000))
  [ "$ms" -ge 950 ] && [ "$ms" -lt 3000 ]
}

@test "wait --clean removes a stale lock and returns" {
  old "$G/index.lock"
  run git-lock wait --clean --timeout 2s
  assert_success
  assert_output --partial "removed $G/index.lock"
}

# ---- run -------------------------------------------------------------------

@test "six concurrent runs never interleave" {
  cd "$R"
  for i in 1 2 3 4 5 6; do
    git-lock run -- sh -c 'echo in >> "$1"; sleep 0.2; echo out >> "$1"' sh "$T/log" 3>&- &
  done
  wait
  [ "$(wc -l < "$T/log")" -eq 12 ]
  [ "$(paste -sd' ' "$T/log")" = "in out in out in out in out in out in out" ]
  [ ! -e "$G/hardshell-run.lock" ]
}

@test "run passes the command's exit code through and releases the lock" {
  cd "$R"
  run git-lock run -- sh -c 'exit 7'
  assert_failure 7
  [ ! -e "$G/hardshell-run.lock" ]
  run git-lock run -- true
  assert_success
}

@test "run gives 75 when the lock stays busy past --timeout, and CMD never runs" {
  cd "$R"
  git-lock run -- sleep 3 3>&- &
  wait_for "$G/hardshell-run.lock"
  run git-lock run --timeout 300ms -- touch "$T/ran"
  assert_failure 75
  [ ! -e "$T/ran" ]
  run git-lock status --json
  assert_output --partial '"kind": "run"'
  assert_output --partial '"verdict": "active"'
}

@test "a SIGKILLed holder's run lock is taken over once stale and its command is gone" {
  cd "$R"
  git-lock run --stale-after 1s -- sh -c 'echo $$ > "$1"; exec sleep 30' sh "$T/child.pid" 3>&- &
  local holder=$!
  wait_for "$T/child.pid"
  KILL_PIDS="$(cat "$T/child.pid")"
  kill -9 "$holder"
  kill -9 "$KILL_PIDS"
  [ -d "$G/hardshell-run.lock" ]
  run git-lock run --stale-after 1s --timeout 10s -- echo taken
  assert_success
  assert_output "taken"
  [ ! -e "$G/hardshell-run.lock" ]
}

@test "ten waiters racing for one stale run lock never get in together" {
  mkdir "$G/hardshell-run.lock"
  printf '{"pid":%s,"host":"%s","createdAt":1}\n' "$(dead_pid)" "$(hostname)" > "$G/hardshell-run.lock/owner"
  old "$G/hardshell-run.lock"
  run git-lock status --json
  assert_failure 1
  assert_output --partial '"kind": "run"'
  cd "$R"
  for i in $(seq 10); do
    git-lock run --timeout 20s -- sh -c 'echo in >> "$1"; sleep 0.05; echo out >> "$1"' sh "$T/log" 3>&- &
  done
  wait
  [ "$(wc -l < "$T/log")" -eq 20 ]
  [ "$(paste -sd' ' "$T/log")" = "$(printf 'in out %.0s' $(seq 10) | sed 's/ $//')" ]
}

@test "clean removes a stale run lock of a dead owner and keeps a live one" {
  mkdir "$G/hardshell-run.lock"
  printf '{"pid":%s,"host":"%s","createdAt":1}\n' "$(dead_pid)" "$(hostname)" > "$G/hardshell-run.lock/owner"
  old "$G/hardshell-run.lock"
  git-lock run --name live -- sleep 3 3>&- &
  wait_for "$G/hardshell-live.lock/owner"
  run git-lock clean
  assert_success
  assert_output --partial "removed $G/hardshell-run.lock (age 2h"
  assert_output --partial "kept $G/hardshell-live.lock (active"
  [ ! -e "$G/hardshell-run.lock" ] && [ -d "$G/hardshell-live.lock" ]
}

# run_forwards SIG CODE: `run` passes SIG to its command, waits for it, releases the lock, exits CODE.
run_forwards() {
  local sig="$1" code="$2"
  cd "$R"
  git-lock run -- sh -c 'trap "echo got-$2 > \"$1\"; exit 3" "$2"; echo $$ > "$1.pid"; while :; do sleep 0.05; done' sh "$T/sig" "$sig" 3>&- &
  local holder=$!
  wait_for "$T/sig.pid"
  [ -d "$G/hardshell-run.lock" ]
  kill -"$sig" "$holder"
  local rc=0
  wait "$holder" || rc=$?
  [ "$rc" -eq "$code" ]
  [ "$(cat "$T/sig")" = "got-$sig" ]
  [ ! -e "$G/hardshell-run.lock" ]
}

@test "run forwards SIGTERM to the command and releases the lock after it ends" {
  run_forwards TERM 143
}

@test "run on SIGHUP forwards it, releases the lock and exits 129" {
  run_forwards HUP 129
}

# ---- CLI -------------------------------------------------------------------

@test "git lock status works with dist on PATH" {
  old "$G/index.lock"
  cd "$R"
  run git lock status
  assert_failure 1
  assert_output --partial "stale"
  assert_output --partial "$G/index.lock"
}

@test "bad flags, bad durations and unknown subcommands are exit 64" {
  run git-lock status --bogus
  assert_failure 64
  run git-lock wait --timeout soon
  assert_failure 64
  assert_output --partial '"soon"'
  run git-lock frobnicate
  assert_failure 64
  run git-lock run --name 'a/b' -- true
  assert_failure 64
  run git-lock run
  assert_failure 64
}

@test "git-lock with no subcommand is a usage error: the overview on stderr, nothing on stdout" {
  git-lock >out 2>err && fail "expected exit 64" || rc=$?
  [ "$rc" -eq 64 ]
  [ ! -s out ]
  grep -q "status|clean|wait|run" err
}

@test "--help shows examples and --version the version" {
  run git-lock status --help
  assert_success
  assert_output --partial "Examples:"
  run git-lock --version
  assert_output --regexp '^git-lock [0-9]+\.[0-9]+\.[0-9]+'
}

# ---- run: the command keeps its lock ---------------------------------------

# Wait (up to 5s) until the run lock's owner record names the command it runs.
wait_adopted() {
  local i
  for i in $(seq 100); do grep -q '"child"' "$1/owner" 2>/dev/null && return 0; sleep 0.05; done
  return 1
}

# True once pid $1 has ended (gone, or a zombie nobody reaps).
ended() {
  local s
  s=$(cut -d' ' -f3 "/proc/$1/stat" 2>/dev/null) || return 0
  [ "$s" = Z ] || [ "$s" = X ]
}

wait_ended() {
  local i
  for i in $(seq 100); do ended "$1" && return 0; sleep 0.05; done
  return 1
}

@test "a SIGKILLed run's orphaned command keeps the lock: the next run times out with 75 without running, then takes over once the orphan ends" {
  cd "$R"
  git-lock run --name cron -- sh -c 'echo $$ > "$1"; exec sleep 60' sh "$T/job.pid" 3>&- &
  local wrapper=$!
  wait_for "$T/job.pid"
  local job
  job=$(cat "$T/job.pid")
  KILL_PIDS="$job"
  wait_adopted "$G/hardshell-cron.lock"
  kill -9 "$wrapper"
  wait "$wrapper" || true
  ! ended "$job"                                    # orphaned, still running
  # Long past the stale threshold, as after a long job: only the orphan keeps it now.
  touch -d '2 hours ago' "$G/hardshell-cron.lock"
  run git-lock run --name cron --timeout 1s -- touch "$T/ran"
  assert_failure 75
  assert_output --partial "held by pid $job"
  [ ! -e "$T/ran" ]
  ! ended "$job"
  run git-lock status --json
  assert_success
  assert_output --partial '"verdict": "active"'
  assert_output --partial "\"pid\": $job"
  kill -9 "$job"
  wait_ended "$job"
  run git-lock run --name cron --timeout 10s -- sh -c 'echo taken; touch "$1"' sh "$T/ran"
  assert_success
  assert_output "taken"
  [ -e "$T/ran" ]
  [ ! -e "$G/hardshell-cron.lock" ]
  [ -z "$(leftovers "$G" | grep hardshell)" ]
}

@test "a run whose wrapper and command were SIGKILLed stays held while the command's process group lives" {
  command -v setsid >/dev/null || skip "setsid(1) not installed"
  cd "$R"
  # setsid makes git-lock a group leader, as an interactive shell or a service manager does.
  setsid git-lock run --name grp -- sh -c 'echo $PPID > "$1.wrapper"; sleep 60 & echo $! > "$1"; wait' sh "$T/job.pid" 3>&- &
  wait_for "$T/job.pid"
  wait_adopted "$G/hardshell-grp.lock"
  local wrapper grandchild shpid
  wrapper=$(cat "$T/job.pid.wrapper")
  grandchild=$(cat "$T/job.pid")
  shpid=$(python3 -c 'import sys,json; print(json.load(open(sys.argv[1]))["child"]["pid"])' "$G/hardshell-grp.lock/owner")
  KILL_PIDS="$grandchild $shpid"
  kill -9 "$wrapper" "$shpid"
  wait_ended "$wrapper" && wait_ended "$shpid"
  ! ended "$grandchild"
  touch -d '2 hours ago' "$G/hardshell-grp.lock"
  run git-lock run --name grp --timeout 1s -- touch "$T/ran"
  assert_failure 75
  [ ! -e "$T/ran" ]
  run git-lock clean --force
  assert_output --partial "kept $G/hardshell-grp.lock (active"
  [ -d "$G/hardshell-grp.lock" ]
  run git-lock status --json
  assert_output --partial "\"pid\": $grandchild"      # the live member of the job's group holds it
  kill -9 "$grandchild"
  wait_ended "$grandchild"
  run git-lock run --name grp --timeout 10s -- echo taken
  assert_success
  assert_output "taken"
  [ ! -e "$G/hardshell-grp.lock" ]
}

@test "status and run agree on when a dead owner's run lock is stale" {
  mkdir -m 1711 "$G/hardshell-run.lock"
  printf '{"pid":%s,"host":"%s","createdAt":1}\n' "$(dead_pid)" "$(hostname)" > "$G/hardshell-run.lock/owner"
  touch -d '15 seconds ago' "$G/hardshell-run.lock"
  run git-lock status --json
  assert_failure 1
  assert_output --partial '"verdict": "stale"'
  cd "$R"
  run git-lock run --timeout 5s -- echo taken
  assert_success
  assert_output "taken"
}

# hold_flock DIR: hold flock(2) on DIR for a minute, in this one process (no forked child to leak); touches $T/flocked once held.
hold_flock() {
  exec 3>&-
  exec python3 -c 'import fcntl, os, sys, time
fd = os.open(sys.argv[1], os.O_RDONLY)
fcntl.flock(fd, fcntl.LOCK_EX)
open(sys.argv[2], "w").close()
time.sleep(60)' "$1" "$T/flocked"
}

@test "a flock held on the repository's git dir does not block taking over a stale run lock" {
  command -v flock >/dev/null || skip "flock(1) not installed"
  mkdir -m 1711 "$G/hardshell-run.lock"
  printf '{"pid":%s,"host":"%s","createdAt":1}\n' "$(dead_pid)" "$(hostname)" > "$G/hardshell-run.lock/owner"
  old "$G/hardshell-run.lock"
  hold_flock "$G" &
  KILL_PIDS="$!"
  wait_for "$T/flocked"
  flock -n "$G" true && fail "the git dir should be flocked by now"
  cd "$R"
  run git-lock run --timeout 5s -- echo taken
  assert_success
  assert_output "taken"
  [ ! -e "$G/hardshell-run.lock" ]
  [ -z "$(leftovers "$G" | grep hardshell)" ]
}

# ---- option values that look like flags ------------------------------------

@test "run --name -h runs CMD under the lock named -h; a value is never a help or version request" {
  cd "$R"
  run git-lock run --name -h -- sh -c 'ls -d "$1"/hardshell-*.lock; echo ran' sh "$G"
  assert_success
  assert_output "$G/hardshell--h.lock
ran"
  [ ! -e "$G/hardshell--h.lock" ]
  run git-lock run --name --version -- touch "$T/ran"
  assert_success
  refute_output --partial "git-lock 0."
  [ -e "$T/ran" ] && rm "$T/ran"
  run git-lock run --timeout -5s -- touch "$T/ran"
  assert_failure 64
  assert_output --partial '"-5s"'
  [ ! -e "$T/ran" ]
  run git-lock run --timeout --help -- touch "$T/ran"
  assert_failure 64
  refute_output --partial "Examples"
  [ ! -e "$T/ran" ]
  run git-lock status --stale-after -h
  assert_failure 64
  assert_output --partial '"-h"'
  run git-lock run --name -- touch "$T/ran"   # -- ends the options: --name has no value
  assert_failure 64
  [ ! -e "$T/ran" ]
  [ -z "$(leftovers "$G" | grep hardshell)" ]
}

# ---------------------------------------------------------------- messages: one shape, `--` hints

@test "git-lock run without -- names the forgotten -- instead of a bare 'unexpected argument', and runs nothing" {
  bats_require_minimum_version 1.5.0
  run --separate-stderr git-lock run touch ran
  assert_failure 64
  assert_equal "$stderr" 'git-lock: unexpected argument: "touch" (did you forget `--` before "touch"?)'
  [ ! -e ran ]
  [ ! -e "$G/hardshell-run.lock" ]
}

@test "a repository that does not exist, and a bad --timeout, each get one line with a hint" {
  bats_require_minimum_version 1.5.0
  run --separate-stderr git-lock status --repo "$T/nope"
  assert_failure 66
  assert_equal "$stderr" "git-lock: repository does not exist: $T/nope (check the --repo path)"
  run --separate-stderr git-lock wait --repo "$R" --timeout -5s
  assert_failure 64
  assert_equal "$stderr" 'git-lock: bad value for --timeout: "-5s" (a duration such as 250ms, 10s, 5m)'
  run --separate-stderr git-lock run --repo "$R" --name 'a/b' -- true
  assert_failure 64
  assert_equal "$stderr" "git-lock: bad value for --name: \"a/b\" (letters, digits, '.', '_' and '-' only)"
}
