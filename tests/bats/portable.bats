#!/usr/bin/env bats
# The macOS / BSD code paths on Linux: HARDSHELL_PLATFORM=portable makes every
# command read the process table through ps(1) and lsof(8) instead of /proc
# (lib/core/platform.ts). These tests show the override takes effect and run the
# liveness-heavy black-box tests of git-lock, of the file lock and of --dotlock that way.
# Not in the subset: "a hook clears a lock left before its git started" needs start
# times finer than ps's whole seconds (the README's Platforms section says so).

load test_helper

BATS="$HARDSHELL_ROOT/node_modules/bats/bin/bats"

# ps and lsof shims that log each call, then run the real program.
shim_tools() {
  mkdir -p "$T/shim"
  local tool real
  for tool in ps lsof; do
    real="$(command -v "$tool")"
    printf '#!/bin/sh\necho "%s $*" >> "%s/calls"\nexec "%s" "$@"\n' "$tool" "$T" "$real" > "$T/shim/$tool"
    chmod +x "$T/shim/$tool"
  done
  export PATH="$T/shim:$PATH"
}

# Run the tests of FILE whose titles match REGEX with the portable backend: all N of them must pass.
run_portable() {
  run env HARDSHELL_PLATFORM=portable "$BATS" --tap -f "$2" "$BATS_TEST_DIRNAME/$1"
  echo "$output"
  assert_success
  refute_output --partial "not ok"
  assert_equal "$(grep -c '^ok ' <<< "$output")" "$3"
}

@test "with HARDSHELL_PLATFORM=portable git-lock finds a lock's holder through ps and lsof" {
  git init -q -b main r && git -C r commit -q --allow-empty -m init
  touch -d '2 hours ago' r/.git/index.lock
  python3 -c 'import sys, time; f = open(sys.argv[1], "a"); print("ok", flush=True); time.sleep(30)' r/.git/index.lock > "$T/py.out" 3>&- &
  local holder=$!
  until grep -q ok "$T/py.out" 2>/dev/null; do sleep 0.05; done
  shim_tools
  HARDSHELL_PLATFORM=portable run git-lock status --repo r --json
  kill -9 "$holder"
  assert_success
  assert_output --partial "\"pid\": $holder"
  grep -q '^ps ' "$T/calls"
  grep -q '^lsof ' "$T/calls"
}

@test "without the override Linux reads /proc and never runs ps or lsof" {
  git init -q -b main r && git -C r commit -q --allow-empty -m init
  touch -d '2 hours ago' r/.git/index.lock
  shim_tools
  run git-lock clean --repo r
  assert_success
  assert_output --partial "removed"
  [ ! -e "$T/calls" ]
}

@test "git-lock's liveness tests pass on the portable process table" {
  run_portable git-lock.bats 'held open|holder record naming|waiting on its editor keeps every|--git-dir from elsewhere|pre-commit hook of git commit -a|symlink with another name|zombie|old lock with no holder|gc.pid of a dead pid|wait --clean|six concurrent|SIGKILLed holder.s run lock|ten waiters|stale run lock of a dead owner|forwards SIGTERM|process group lives|status and run agree' 19
}

@test "the file lock's liveness and takeover tests pass on the portable process table" {
  run_portable atomic-write.bats 'lock held by a live process|stale FILE.lock is taken over|killed between mkdir|orphaned CMD keeps FILE.lock|may not read a lock.s owner|--lock-timeout exceeded' 6
}

@test "--dotlock's holder scan and stale clearing pass on the portable process table" {
  run_portable sqlite-exec-dotlock.bats 'SIGKILLed mid-transaction|live node-sqlite3-wasm transaction|waits while DB.lock is held' 3
}
