#!/usr/bin/env bats
# The release archives (npm run release), tested as a user gets them: checksums,
# layout, install.sh into a prefix, the manual, completions, and the binaries of
# the other targets (arm64 run under qemu-user; musl and darwin checked, not run).
# Run by scripts/test-release.sh after `npm run release`.
load ../bats/test_helper
bats_require_minimum_version 1.5.0

REL="$HARDSHELL_ROOT/release"
VERSION="$(jq -r .version "$HARDSHELL_ROOT/package.json")"
TARGETS=(linux-x64 linux-x64-musl linux-arm64 darwin-x64 darwin-arm64)
COMMANDS=(atomic-write git-lock sqlite-exec)

# unpack TARGET: extract the archive into $T, print the directory it made.
unpack() {
  tar -xzf "$REL/hardshell-$VERSION-$1.tar.gz" -C "$T" && echo "$T/hardshell-$VERSION-$1"
}

# tree DIR: every path under DIR with its type, mode, link target and content hash.
tree() {
  (cd "$1" && find . -printf '%p %y %m %l\n' | sort | while read -r p y m l; do
    if [ "$y" = f ]; then echo "$p $y $m $(sha256sum < "$p" | cut -c1-16)"; else echo "$p $y $m $l"; fi
  done)
}

@test "SHA256SUMS verifies the five archives and lists nothing else" {
  cd "$REL"
  run sha256sum -c SHA256SUMS
  assert_success
  [ "$(wc -l < SHA256SUMS)" -eq 5 ]
  for t in "${TARGETS[@]}"; do grep -q "  hardshell-$VERSION-$t.tar.gz\$" SHA256SUMS; done
}

@test "every archive holds bin/hardshell with command links, man pages, completions, hardshell.sh, README, LICENSE, install.sh" {
  for t in "${TARGETS[@]}"; do
    d=$(unpack "$t")
    [ -x "$d/bin/hardshell" ] && [ -f "$d/bin/hardshell" ] && [ ! -L "$d/bin/hardshell" ]
    for c in "${COMMANDS[@]}"; do
      [ "$(readlink "$d/bin/$c")" = hardshell ] || fail "$t: bin/$c is not a link to hardshell"
      grep -q '^\.TH ' "$d/share/man/man1/$c.1" || fail "$t: no man page for $c"
      grep -q "complete .* $c\$" "$d/share/bash-completion/completions/$c" || fail "$t: no completion for $c"
    done
    [ -f "$d/share/man/man1/hardshell.1" ]
    [ -f "$d/share/hardshell/hardshell.sh" ] && [ -f "$d/README.md" ] && grep -q '^MIT License' "$d/LICENSE"
    [ -x "$d/install.sh" ] && head -1 "$d/install.sh" | grep -qx '#!/bin/sh'
    # Every relative link of the README resolves inside the archive.
    for l in $(grep -oE '\]\([^)#:]+\)' "$d/README.md" | sed -E 's/^\]\(//; s/\)$//' | sort -u); do
      [ -e "$d/$l" ] || fail "$t: README links $l, which the archive lacks"
    done
    # The whole runtime once: the archive's binaries stay under 130 MiB.
    [ "$(du -sk "$d/bin" | cut -f1)" -le $((130 * 1024)) ]
    rm -rf "$d"
  done
}

@test "the linux binaries ask for the right ELF interpreter and the darwin ones are Mach-O 64-bit of their arch" {
  command -v readelf >/dev/null || skip "readelf (binutils) is not installed"
  declare -A interp=([linux-x64]=/lib64/ld-linux-x86-64.so.2 [linux-x64-musl]=/lib/ld-musl-x86_64.so.1 [linux-arm64]=/lib/ld-linux-aarch64.so.1)
  declare -A machine=([linux-x64]="X86-64" [linux-x64-musl]="X86-64" [linux-arm64]="AArch64")
  for t in linux-x64 linux-x64-musl linux-arm64; do
    d=$(unpack "$t")
    readelf -l "$d/bin/hardshell" | grep -qF "[Requesting program interpreter: ${interp[$t]}]" || fail "$t: wrong interpreter"
    readelf -h "$d/bin/hardshell" | grep -q "Machine: *.*${machine[$t]}" || fail "$t: wrong machine"
    rm -rf "$d"
  done
  # Mach-O: magic feedfacf (64-bit, little-endian), then cputype x86_64 = 0x01000007, arm64 = 0x0100000c.
  declare -A cpu=([darwin-x64]=01000007 [darwin-arm64]=0100000c)
  for t in darwin-x64 darwin-arm64; do
    d=$(unpack "$t")
    read -r magic cputype < <(od -An -tx4 -N8 "$d/bin/hardshell")
    [ "$magic" = feedfacf ] && [ "$cputype" = "${cpu[$t]}" ] || fail "$t: magic $magic cputype $cputype"
    rm -rf "$d"
  done
}

@test "install.sh --prefix installs commands that work; a second run changes nothing; --uninstall removes exactly what it installed" {
  d=$(unpack linux-x64)
  mkdir -p prefix/bin prefix/share/man/man1
  echo "another tool" > prefix/bin/other && echo keep > prefix/share/man/man1/other.1
  before=$(tree prefix)
  run dash "$d/install.sh" --prefix "$T/prefix"
  assert_success
  for c in "${COMMANDS[@]}"; do
    run "$T/prefix/bin/$c" --version
    assert_output "$c $VERSION"
  done
  [ "$(readlink -f prefix/bin/sqlite-exec)" = "$T/prefix/bin/hardshell" ]
  echo old > f && prefix/bin/atomic-write f -- echo new && [ "$(cat f)" = new ]
  first=$(tree prefix)
  run dash "$d/install.sh" --prefix="$T/prefix"
  assert_success
  assert_equal "$(tree prefix)" "$first"
  [ -z "$(find prefix -name '*install-tmp*')" ]
  run dash "$d/install.sh" --uninstall --prefix "$T/prefix"
  assert_success
  assert_equal "$(tree prefix | grep -v ' d ')" "$(echo "$before" | grep -v ' d ')"
  [ ! -e prefix/share/hardshell ]
}

@test "install.sh keeps a foreign file of a command's name, and rejects unknown arguments with 64" {
  d=$(unpack linux-x64)
  mkdir -p prefix/bin && echo '#!/bin/sh' > prefix/bin/git-lock
  run sh "$d/install.sh" --prefix "$T/prefix"
  assert_failure 1
  assert_output --partial "prefix/bin/git-lock exists and is not a link to hardshell; left alone"
  assert_equal "$(cat prefix/bin/git-lock)" '#!/bin/sh'
  [ "$(readlink prefix/bin/atomic-write)" = hardshell ]
  run sh "$d/install.sh" --prefx /x
  assert_failure 64
  run sh "$d/install.sh" --prefix
  assert_failure 64
}

@test "after install, man atomic-write and git lock --help show the manual, and hardshell.sh finds the installed binaries" {
  command -v man >/dev/null || skip "man (man-db) is not installed"
  d=$(unpack linux-x64)
  sh "$d/install.sh" --prefix "$T/prefix" >/dev/null
  export MANPATH="$T/prefix/share/man" PATH="$T/prefix/bin:/usr/bin:/bin" MANPAGER=cat PAGER=cat MANWIDTH=100
  run man atomic-write
  assert_success
  assert_output --partial "atomic-write - Replace FILE all-or-nothing"
  assert_output --partial "--if-unchanged"
  git init -q repo && cd repo
  run git lock --help
  assert_success
  assert_output --partial "GIT-LOCK(1)"
  assert_output --partial "git-lock clean"
  cd "$T"
  run bash -c 'source "$1"; write_atomic f hello && cat f' _ "$T/prefix/share/hardshell/hardshell.sh"
  assert_success
  assert_output hello
}

@test "the installed man pages are exactly what the binaries print, and name every option of every --help page" {
  d=$(unpack linux-x64)
  for c in "${COMMANDS[@]}" hardshell; do
    diff <("$d/bin/$c" --man) "$d/share/man/man1/$c.1" || fail "$c.1 differs from $c --man"
  done
  for page in "atomic-write" "sqlite-exec" "git-lock status" "git-lock clean" "git-lock wait" "git-lock run"; do
    read -r -a w <<<"$page"
    man=$(sed 's/\\-/-/g; s/\\f[A-Z(][A-Z]\{0,2\}//g' "$d/share/man/man1/${w[0]}.1")
    while read -r opt; do
      grep -qE -- "(^|[ ,])$opt([ =[]|$)" <<<"$man" || fail "$page: $opt is in --help but not in ${w[0]}.1"
    done < <("$d/bin/${w[0]}" "${w[@]:1}" --help | grep -oE '^ +(-[a-zA-Z], )?--[a-z][a-z0-9-]*' | grep -oE -- '--[a-z][a-z0-9-]*' | sort -u)
  done
}

@test "the installed bash completion completes a command's options" {
  d=$(unpack linux-x64)
  run bash -c 'source "$1"; COMP_WORDS=(atomic-write --if-u); COMP_CWORD=1; _hardshell_atomic_write; printf "%s\n" "${COMPREPLY[@]}"' _ "$d/share/bash-completion/completions/atomic-write"
  assert_success
  assert_output -- "--if-unchanged"
}

@test "the linux-arm64 binary runs under qemu-aarch64: --version and a real job of each command" {
  command -v qemu-aarch64 >/dev/null || skip "qemu-user is not installed"
  [ -e /usr/aarch64-linux-gnu/lib/ld-linux-aarch64.so.1 ] || skip "libc6-arm64-cross is not installed"
  d=$(unpack linux-arm64)
  q() { qemu-aarch64 -L /usr/aarch64-linux-gnu "$@"; }
  for c in "${COMMANDS[@]}"; do
    run q "$d/bin/$c" --version
    assert_output "$c $VERSION"
  done
  echo old > f
  run q "$d/bin/atomic-write" --print-hash f -- printf new
  assert_success
  assert_equal "$(cat f)" new
  assert_output "$(printf new | sha256sum | cut -d' ' -f1)"
  run q "$d/bin/sqlite-exec" --create db.sqlite "CREATE TABLE t(x); INSERT INTO t VALUES (41); UPDATE t SET x = x + 1; SELECT x FROM t"
  assert_success
  assert_output 42
  [ "$(sqlite3 db.sqlite 'select x from t')" = 42 ]
  git init -q repo && git -C repo commit -q --allow-empty -m init
  touch repo/.git/index.lock && touch -d '1 hour ago' repo/.git/index.lock
  run q "$d/bin/git-lock" clean --repo repo
  assert_success
  [ ! -e repo/.git/index.lock ]
  run q "$d/bin/hardshell" git-lock run --repo repo -- sh -c 'ls -d repo/.git/hardshell-run.lock >/dev/null && echo held'
  assert_success
  assert_output held
  [ ! -e repo/.git/hardshell-run.lock ]
}
