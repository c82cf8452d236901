# Shared set-up for every tests/bats/<command>.bats file (after rbenv's test_helper.bash):
# each test runs with its own HOME, TMPDIR and a PATH that holds dist/ and the
# system tools only, so nothing from the developer's environment leaks in.
#   load test_helper
# then use $DIST, $HARDSHELL_SH, $T (a fresh work dir), and the bats-assert helpers.

HARDSHELL_ROOT="$(cd "$BATS_TEST_DIRNAME/../.." && pwd)"
# HARDSHELL_DIST=<prefix>/bin runs the suite against an installed prefix (npm run test:release).
DIST="${HARDSHELL_DIST:-$HARDSHELL_ROOT/dist}"
# hardshell.sh: beside the binaries in dist/, in PREFIX/share/hardshell when installed.
if [ -z "${HARDSHELL_SH:-}" ]; then
  HARDSHELL_SH="$DIST/hardshell.sh"
  [ -f "$HARDSHELL_SH" ] || HARDSHELL_SH="$DIST/../share/hardshell/hardshell.sh"
fi
load "$HARDSHELL_ROOT/node_modules/bats-support/load"
load "$HARDSHELL_ROOT/node_modules/bats-assert/load"

# Tools the suites use that may live outside /usr/bin (python3 under pyenv, bun under node_modules).
_real_python="$(python3 -c 'import sys; print(sys.executable)' 2>/dev/null || echo /usr/bin/python3)"
BUN="$HARDSHELL_ROOT/node_modules/.bin/bun"

setup() {
  T="$BATS_TEST_TMPDIR/work"
  mkdir -p "$T" "$BATS_TEST_TMPDIR/home" "$BATS_TEST_TMPDIR/tmp"
  export HOME="$BATS_TEST_TMPDIR/home"
  export TMPDIR="$BATS_TEST_TMPDIR/tmp"
  export PATH="$DIST:$(dirname "$_real_python"):/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
  unset GIT_DIR GIT_WORK_TREE GIT_INDEX_FILE HARDSHELL_DEBUG NO_COLOR
  export GIT_CONFIG_NOSYSTEM=1 GIT_AUTHOR_NAME=t GIT_AUTHOR_EMAIL=t@example.invalid GIT_COMMITTER_NAME=t GIT_COMMITTER_EMAIL=t@example.invalid
  cd "$T" || return 1
  if declare -F local_setup >/dev/null; then local_setup; fi
}

teardown() {
  if declare -F local_teardown >/dev/null; then local_teardown; fi
  # Reap anything a test left running in the background.
  jobs -p | xargs -r kill -9 2>/dev/null || true
}

# Files in a directory other than the ones named (debris check): prints them, one a line.
leftovers() {
  local dir="$1"; shift
  local f base keep
  for f in "$dir"/* "$dir"/.[!.]*; do
    [ -e "$f" ] || [ -L "$f" ] || continue
    base="${f##*/}"
    keep=0
    for k in "$@"; do [ "$base" = "$k" ] && keep=1; done
    [ "$keep" -eq 1 ] || echo "$base"
  done
}

# A pid that is certainly dead on this host: a child already reaped.
dead_pid() {
  sh -c 'exit 0' 3>&- &
  local p=$!
  wait "$p"
  echo "$p"
}

# Wait (up to ~5 s, a hang guard) until a path or glob matches something.
wait_for() {
  local i
  for ((i = 0; i < 250; i++)); do
    compgen -G "$1" >/dev/null && return 0
    sleep 0.02
  done
  return 1
}
