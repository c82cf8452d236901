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
. scripts/_tally.sh

# Types first: strict tsc (tsconfig.json) over cmd, lib, scripts and tests; a type error fails the run.
node_modules/.bin/tsc --noEmit -p . || abort "type check failed"
"$BUN" scripts/build.ts || abort "build failed"

# Unit tests. bun test prints " N pass" / " N fail" at the end (on stderr).
if [ -d tests/unit ]; then
  "$BUN" test tests/unit "$@" 2>&1 | tee "$logdir/unit.log"
  rc=${PIPESTATUS[0]}
  tally "$rc" "$(grep -E '^ *[0-9]+ pass$' "$logdir/unit.log" | tail -1 | tr -dc 0-9)" "$(grep -E '^ *[0-9]+ fail$' "$logdir/unit.log" | tail -1 | tr -dc 0-9)"
fi

# Black-box tests, TAP output so they can be counted.
if compgen -G "tests/bats/*.bats" >/dev/null; then
  tap_suite "$logdir/bats.log" "$BATS" --tap tests/bats
fi

summary
