#!/bin/sh
# npm launcher of hardshell: exec the platform binary that npm installed as the
# optional dependency @hardshell/<os>-<arch> (no install script is involved).
# npm links PREFIX/bin/<command> (global) or node_modules/.bin/<command> (local)
# to this file, so $0 is that link: the layouts npm makes are tried relative to
# it with `[ -x ]` only (shell builtins, no fork of readlink/uname) and the
# binary is exec'd, so the launcher costs one /bin/sh start (measured in README).
n=${0##*/}
d=${0%/*}
if [ -e /lib/ld-musl-x86_64.so.1 ]; then
  plats="linux-x64-musl linux-x64 linux-arm64 darwin-arm64 darwin-x64"
else
  plats="linux-x64 linux-arm64 darwin-arm64 darwin-x64 linux-x64-musl"
fi
try() { # DIR ARG...: exec DIR/@hardshell/<platform>/bin/hardshell with ARGs if it is there
  dir=$1
  shift
  for p in $plats; do
    b=$dir/@hardshell/$p/bin/hardshell
    if [ -x "$b" ]; then
      if [ "$n" = hardshell ]; then exec "$b" "$@"; fi
      exec "$b" "$n" "$@"
    fi
  done
}
try "$d/../lib/node_modules/hardshell/node_modules" "$@"   # npm i -g: PREFIX/bin/<command>
try "$d/.." "$@"                                          # npm i: node_modules/.bin/<command>, hoisted
try "$d/../hardshell/node_modules" "$@"                   # npm i: node_modules/.bin/<command>, nested
# Called some other way: follow the link to this file and look beside the package.
self=$0
while [ -L "$self" ]; do
  l=$(readlink "$self")
  case "$l" in /*) self=$l ;; *) self=${self%/*}/$l ;; esac
done
pkg=${self%/*}/..
try "$pkg/node_modules" "$@"
try "$pkg/.." "$@"
echo "$n: no hardshell binary for this platform ($(uname -s) $(uname -m)): the optional dependency @hardshell/<os>-<arch> is not installed (npm install --include=optional, or use a release archive)" >&2
exit 69
