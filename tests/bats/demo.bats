#!/usr/bin/env bats
# `npm run demo` is the README's quick start: it must keep passing its own checks.
load test_helper

@test "the demo runs the three main jobs end to end and every check passes" {
  export PATH="$PATH:$(dirname "$(command -v node 2>/dev/null || echo /usr/bin/node)")"
  run bash "$HARDSHELL_ROOT/scripts/demo.sh"
  assert_success
  assert_output --partial "demo: all checks passed"
  refute_output --partial "FAIL"
  assert_output --regexp "50 rows present \(50\)"
  assert_output --partial "counter is 20 (20)"
  # the demo cleans up after itself
  [ -z "$(compgen -G "$TMPDIR/hardshell-demo.*")" ]
}
