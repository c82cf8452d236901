# Sourced by scripts/test.sh and scripts/test-release.sh: the one place a test
# driver counts its suites and prints the ONE summary line over all of them,
#   N passed, N failed
# so CI and people read the same line whichever driver ran.
passed=0 failed=0 status=0

# tally RC PASSED FAILED: add one suite's counts. A suite that exited non-zero
# without a failing test (it crashed, could not start) counts as one failure.
tally() {
  local rc=$1 p=${2:-0} f=${3:-0}
  passed=$((passed + p)); failed=$((failed + f))
  if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then failed=$((failed + 1)); fi
  [ "$rc" -eq 0 ] || status=1
}

# tap_suite LOG CMD...: run a suite that prints TAP, keep its output in LOG, tally it.
tap_suite() {
  local log=$1 rc
  shift
  "$@" 2>&1 | tee "$log"
  rc=${PIPESTATUS[0]}
  tally "$rc" "$(grep -cE '^ok ' "$log")" "$(grep -cE '^not ok ' "$log")"
}

# abort WHAT: a step before any suite failed; the summary says so and the driver stops.
abort() {
  echo "$1"
  echo "0 passed, 1 failed"
  exit 1
}

# summary: the summary line; exit non-zero when anything failed or a suite could not run.
summary() {
  echo "$passed passed, $failed failed"
  exit "$status"
}
