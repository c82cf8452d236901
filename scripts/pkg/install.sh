#!/bin/sh
# install.sh: install (or --uninstall) this hardshell release into a prefix.
#
#   ./install.sh [--prefix DIR]        default DIR: /usr/local
#   ./install.sh --uninstall [--prefix DIR]
#
# Installs DIR/bin/hardshell (one binary) and DIR/bin/{atomic-write,git-lock,sqlite-exec}
# as symlinks to it, the man pages (DIR/share/man/man1), bash completions
# (DIR/share/bash-completion/completions), DIR/share/hardshell/hardshell.sh and
# DIR/share/doc/hardshell/{README.md,LICENSE}.
#
# Idempotent: running it again gives the same result. Each file is copied to a
# temporary name beside its destination and renamed over it, so a script that
# is running a command right now keeps its old binary (no "text file busy") and
# never sees a half-copied one. --uninstall removes exactly the files listed
# here (a command link only when it points at hardshell), then hardshell's own
# directories (share/hardshell, share/doc/hardshell) if they are empty.
# POSIX sh: runs under dash, busybox sh and macOS /bin/sh.
set -eu

COMMANDS="atomic-write git-lock sqlite-exec"
prefix=/usr/local
action=install

usage() {
  sed -n '2,6p' "$0" | sed 's/^# \{0,1\}//'
}
die() {
  echo "install.sh: $*" >&2
  exit "${2:-1}"
}

while [ $# -gt 0 ]; do
  case "$1" in
    --prefix) [ $# -ge 2 ] || { echo "install.sh: --prefix needs a directory" >&2; exit 64; }; prefix=$2; shift 2 ;;
    --prefix=*) prefix=${1#--prefix=}; shift ;;
    --uninstall) action=uninstall; shift ;;
    -h|--help) usage; exit 0 ;;
    *) echo "install.sh: unknown argument: $1 (see --help)" >&2; exit 64 ;;
  esac
done
[ -n "$prefix" ] || { echo "install.sh: --prefix is empty" >&2; exit 64; }
case "$prefix" in /*) ;; *) prefix=$(pwd)/$prefix ;; esac

here=$(cd "$(dirname "$0")" && pwd)

# The files, relative to the archive root and to the prefix (same layout), and their modes.
files() {
  echo "bin/hardshell 755"
  for c in hardshell $COMMANDS; do echo "share/man/man1/$c.1 644"; done
  for c in $COMMANDS; do echo "share/bash-completion/completions/$c 644"; done
  echo "share/hardshell/hardshell.sh 644"
  echo "share/doc/hardshell/README.md 644"
  echo "share/doc/hardshell/LICENSE 644"
}

# Source of a file in this archive (README and LICENSE sit at the top of the archive).
src_of() {
  case "$1" in
    share/doc/hardshell/*) echo "$here/${1##*/}" ;;
    *) echo "$here/$1" ;;
  esac
}

install_file() { # REL MODE
  src=$(src_of "$1")
  dst=$prefix/$1
  [ -f "$src" ] || die "missing from the archive: $src" 66
  mkdir -p "$(dirname "$dst")"
  tmp=$dst.install-tmp.$$
  if ! { cp "$src" "$tmp" && chmod "$2" "$tmp" && mv -f "$tmp" "$dst"; }; then
    rm -f "$tmp"
    die "cannot install $dst" 73
  fi
}

link_command() { # NAME
  dst=$prefix/bin/$1
  if [ -e "$dst" ] && [ ! -L "$dst" ]; then
    # Not ours (a regular file): keep it rather than clobber another tool.
    echo "install.sh: $dst exists and is not a link to hardshell; left alone" >&2
    return 1
  fi
  tmp=$prefix/bin/.$1.install-tmp.$$
  if ! { ln -s hardshell "$tmp" && mv -f "$tmp" "$dst"; }; then
    rm -f "$tmp"
    die "cannot link $dst" 73
  fi
}

if [ "$action" = install ]; then
  status=0
  files | while read -r rel mode; do install_file "$rel" "$mode"; done
  for c in $COMMANDS; do link_command "$c" || status=1; done
  echo "installed hardshell into $prefix ($("$prefix/bin/hardshell" --version 2>/dev/null || echo '?'))"
  # man-db finds DIR/share/man through DIR/bin on PATH unless MANPATH overrides the search.
  case ":${MANPATH:-}:" in
    *":$prefix/share/man:"*|::) ;;
    *) echo "note: MANPATH is set; add $prefix/share/man to it for 'man atomic-write' and 'git lock --help'" ;;
  esac
  exit "$status"
fi

# --uninstall
files | while read -r rel mode; do rm -f "$prefix/$rel"; done
for c in $COMMANDS; do
  dst=$prefix/bin/$c
  if [ -L "$dst" ] && [ "$(readlink "$dst")" = hardshell ]; then rm -f "$dst"; fi
done
# Only hardshell's own directories: bin/ or share/man/ may be shared with other software.
for d in share/hardshell share/doc/hardshell; do
  rmdir "$prefix/$d" 2>/dev/null || true
done
echo "uninstalled hardshell from $prefix"
