#!/usr/bin/env bash
# npm test: build dist/, then run the unit suite (bun test) and the black-box
# suite (bats against dist/), and end with ONE summary line over all suites:
#   N passed, N failed
# Exit status is non-zero when anything failed or a suite could not run.
set -uo pipefail
cd "$(dirname "$0")/.."
BUN=node_modules/.bin/bun
BATS=node_modules/bats/bin/bats
logdir=$(mktemp -d "${TMPDIR:-/tmp}/hardshell-test.XXXXXX")
trap 'rm -rf "$logdir"' EXIT

# Types first: strict tsc (tsconfig.json) over cmd, lib, scripts and tests; a type error fails the run.
node_modules/.bin/tsc --noEmit -p . || { echo "type check failed"; echo "0 passed, 1 failed"; exit 1; }
"$BUN" scripts/build.ts || { echo "build failed"; echo "0 passed, 1 failed"; exit 1; }

passed=0 failed=0 status=0

# Unit tests. bun test prints " N pass" / " N fail" at the end (on stderr).
if [ -d tests/unit ]; then
  "$BUN" test tests/unit "$@" 2>&1 | tee "$logdir/unit.log"
  rc=${PIPESTATUS[0]}
  p=$(grep -E '^ *[0-9]+ pass$' "$logdir/unit.log" | tail -1 | tr -dc 0-9)
  f=$(grep -E '^ *[0-9]+ fail$' "$logdir/unit.log" | tail -1 | tr -dc 0-9)
  passed=$((passed + ${p:-0})); failed=$((failed + ${f:-0}))
  if [ "$rc" -ne 0 ] && [ "${f:-0}" -eq 0 ]; then failed=$((failed + 1)); fi
  [ "$rc" -eq 0 ] || status=1
fi

# Black-box tests, TAP output so they can be counted.
if compgen -G "tests/bats/*.bats" >/dev/null; then
  "$BATS" --tap tests/bats 2>&1 | tee "$logdir/bats.log"
  rc=${PIPESTATUS[0]}
  p=$(grep -cE '^ok ' "$logdir/bats.log")
  f=$(grep -cE '^not ok ' "$logdir/bats.log")
  passed=$((passed + p)); failed=$((failed + f))
  if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then failed=$((failed + 1)); fi
  [ "$rc" -eq 0 ] || status=1
fi

echo "$passed passed, $failed failed"
exit $status
