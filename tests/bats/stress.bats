#!/usr/bin/env bats
# The torture runner of `npm run stress` in a SHORT profile (8 s per scenario, 30 commits for
# git-lock-layouts; about 50 s in all), so every `npm test` hammers the three commands with real
# concurrent processes and random SIGKILLs once. The scenarios assert invariants, never speed: what they check is
# listed in their output (scripts/stress/*.ts). A fixed seed makes a failure replayable:
#   node_modules/.bin/bun scripts/stress.ts --seconds 8 --seed 1 sqlite-exec
# HARDSHELL_STRESS_SEED / HARDSHELL_STRESS_SECONDS / HARDSHELL_STRESS_COMMITS override the profile
# (git-lock-layouts counts commits, not seconds: `npm run stress` runs it to 500).

load test_helper

stress() {
  run "$BUN" "$HARDSHELL_ROOT/scripts/stress.ts" --seconds "${HARDSHELL_STRESS_SECONDS:-8}" --seed "${HARDSHELL_STRESS_SEED:-1}" "$@"
  echo "$output"
  [ "$status" -eq 0 ]
  [[ "${lines[${#lines[@]}-1]}" =~ ^[0-9]+\ passed,\ 0\ failed$ ]]
  [[ ! "$output" =~ FAIL ]]
}

@test "stress (short): sqlite-exec writers killed at random: acknowledged = present, failed = absent, no duplicates" {
  stress sqlite-exec
}

@test "stress (short): atomic-write writers and --edit incrementers killed under readers: no torn read, no lost increment, no debris" {
  stress atomic-write
}

@test "stress (short): git-lock clean amid killed git commands: live locks kept, stale locks gone, fsck clean" {
  stress git-lock
}

@test "stress (short): git commit -a whose hooks run git-lock clean --force, in every repository layout: no live lock removed" {
  stress git-lock-layouts --commits "${HARDSHELL_STRESS_COMMITS:-30}"
}
