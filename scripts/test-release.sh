#!/usr/bin/env bash
# npm run test:release: test what users install, not dist/.
#   1. npm run release (skipped with --no-build when release/ is complete)
#   2. tests/release/archives.bats: checksums, layout, install.sh, man pages,
#      completions, ELF/Mach-O headers, the linux-arm64 binary under qemu-aarch64
#   3. the black-box suite (tests/bats) against the linux-x64 archive installed
#      into a temporary prefix with its install.sh (HARDSHELL_DIST=<prefix>/bin);
#      demo.bats and stress.bats are left out: they test scripts of the checkout
#      (scripts/demo.sh, scripts/stress.ts), which use the checkout's dist/
#   4. tests/release/npm.bats: publish the npm tarballs to a local verdaccio
#      (127.0.0.1, no uplinks) and install them globally and locally from it
# Ends with ONE summary line over all suites: N passed, N failed.
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1
BUN=node_modules/.bin/bun
BATS=node_modules/bats/bin/bats
work=$(mktemp -d "${TMPDIR:-/tmp}/hardshell-test-release.XXXXXX")
chmod 755 "$work"   # the suite runs one test as nobody from the installed prefix
trap 'rm -rf "$work"' EXIT
. scripts/_tally.sh
start=$SECONDS

version=$(jq -r .version package.json)
if [ "${1:-}" != "--no-build" ] || [ ! -f release/SHA256SUMS ]; then
  "$BUN" scripts/release.ts || abort "release failed"
fi

suite() { # NAME CMD...: run a TAP suite, count it
  local name=$1
  shift
  echo "== $name"
  tap_suite "$work/$name.log" "$@"
}

suite archives "$BATS" --tap tests/release/archives.bats

mkdir "$work/unpack"
tar -xzf "release/hardshell-$version-linux-x64.tar.gz" -C "$work/unpack"
sh "$work/unpack/hardshell-$version-linux-x64/install.sh" --prefix "$work/prefix" >/dev/null
blackbox=()
for f in tests/bats/*.bats; do
  case "$f" in */demo.bats|*/stress.bats) ;; *) blackbox+=("$f") ;; esac
done
HARDSHELL_DIST="$work/prefix/bin" suite installed-prefix "$BATS" --tap "${blackbox[@]}"

suite npm "$BATS" --tap tests/release/npm.bats

echo "test:release took $((SECONDS - start)) s"
summary
