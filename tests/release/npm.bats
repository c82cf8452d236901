#!/usr/bin/env bats
# The npm path, offline and for real: the tarballs of release/npm/ are published
# to a local verdaccio registry (127.0.0.1, no uplinks), then installed from it
# with `npm install -g --prefix` and `npm install`, and every command is run.
# verdaccio itself is installed once into .tmp/verdaccio (git-ignored), not as a
# dependency of the project; its `overrides` of node-fetch 2.7.0 is needed
# because one of its dependencies asks for a dist-tag (`cjs`) the registry lacks.
load ../bats/test_helper
bats_require_minimum_version 1.5.0

REL="$HARDSHELL_ROOT/release"
VERSION="$(jq -r .version "$HARDSHELL_ROOT/package.json")"
COMMANDS=(atomic-write git-lock sqlite-exec)

setup_file() {
  local vd="$HARDSHELL_ROOT/.tmp/verdaccio" r="$BATS_FILE_TMPDIR" port i
  if [ ! -x "$vd/node_modules/.bin/verdaccio" ]; then
    mkdir -p "$vd"
    printf '%s\n' '{ "name": "hardshell-test-verdaccio", "private": true, "dependencies": { "verdaccio": "^6" }, "overrides": { "node-fetch": "2.7.0" } }' > "$vd/package.json"
    (cd "$vd" && npm install --no-audit --no-fund --loglevel=error) >&3 2>&1 || return 1
  fi
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  mkdir -p "$r/storage"
  cat > "$r/config.yaml" <<YAML
storage: $r/storage
auth:
  htpasswd:
    file: $r/htpasswd
uplinks: {}
packages:
  '**':
    access: \$all
    publish: \$all
    unpublish: \$all
max_body_size: 300mb
log: { type: stdout, format: pretty, level: warn }
YAML
  "$vd/node_modules/.bin/verdaccio" --config "$r/config.yaml" --listen "127.0.0.1:$port" > "$r/verdaccio.log" 2>&1 &
  echo $! > "$r/verdaccio.pid"
  for i in $(seq 1 300); do
    curl -fsS "http://127.0.0.1:$port/-/ping" >/dev/null 2>&1 && break
    sleep 0.1
  done
  curl -fsS "http://127.0.0.1:$port/-/ping" >/dev/null || { cat "$r/verdaccio.log" >&3; return 1; }
  printf 'registry=http://127.0.0.1:%s/\n//127.0.0.1:%s/:_authToken=dummy-token-for-a-local-registry\naudit=false\nfund=false\nupdate-notifier=false\n' "$port" "$port" > "$r/npmrc"
  for tgz in "$REL"/npm/*.tgz; do
    npm publish "$tgz" --userconfig "$r/npmrc" --cache "$r/cache" --access public --loglevel=error >>"$r/publish.log" 2>&1 || { cat "$r/publish.log" >&3; return 1; }
  done
}

teardown_file() {
  [ -f "$BATS_FILE_TMPDIR/verdaccio.pid" ] && kill "$(cat "$BATS_FILE_TMPDIR/verdaccio.pid")" 2>/dev/null
  return 0
}

local_setup() {
  export npm_config_userconfig="$BATS_FILE_TMPDIR/npmrc" npm_config_cache="$BATS_FILE_TMPDIR/cache" npm_config_loglevel=error
  # npm runs under node: keep node's directory on PATH.
  export PATH="$PATH:$(dirname "$(command -v node)")"
}

@test "npm install -g --prefix installs hardshell with only this platform's binary package, and no package has an install script" {
  run npm install -g --prefix "$T/g" hardshell
  assert_success
  run ls "$T/g/lib/node_modules/hardshell/node_modules/@hardshell"
  assert_output linux-x64
  for p in "$T/g/lib/node_modules/hardshell" "$T/g/lib/node_modules/hardshell/node_modules/@hardshell/linux-x64"; do
    [ "$(jq -c '.scripts // {} | keys' "$p/package.json")" = "[]" ] || fail "$p has scripts"
  done
}

@test "every command runs from the npm prefix under its own name: --version and a real job" {
  npm install -g --prefix "$T/g" hardshell >/dev/null
  export PATH="$T/g/bin:$PATH"
  for c in "${COMMANDS[@]}" hardshell; do
    run "$c" --version
    assert_success
    assert_output "$c $VERSION"
  done
  run atomic-write
  assert_failure 64
  assert_output --partial "atomic-write: missing FILE"
  echo old > f
  run atomic-write f -- echo new
  assert_success
  [ "$(cat f)" = new ]
  run sqlite-exec --create db.sqlite "CREATE TABLE t(x); INSERT INTO t VALUES (7); SELECT x * 6 FROM t"
  assert_output 42
  git init -q repo && git -C repo commit -q --allow-empty -m init
  touch repo/.git/index.lock && touch -d '1 hour ago' repo/.git/index.lock
  cd repo
  run git lock clean
  assert_success
  [ ! -e .git/index.lock ]
  run hardshell git-lock run -- echo ran
  assert_output ran
}

@test "the global npm install links the man pages, so man atomic-write works from the prefix" {
  command -v man >/dev/null || skip "man (man-db) is not installed"
  npm install -g --prefix "$T/g" hardshell >/dev/null
  [ -f "$T/g/share/man/man1/git-lock.1" ]
  MANPATH="$T/g/share/man" MANPAGER=cat run man atomic-write
  assert_success
  assert_output --partial "atomic-write - Replace FILE all-or-nothing"
}

@test "a local npm install runs the commands from node_modules/.bin" {
  mkdir proj && cd proj && echo '{"name":"p","private":true}' > package.json
  run npm install hardshell
  assert_success
  run node_modules/.bin/sqlite-exec --create db.sqlite "select 'local'"
  assert_success
  assert_output local
  run npm exec --no -- sqlite-exec --version
  assert_output "sqlite-exec $VERSION"
}

@test "without the platform package the launcher names what is missing and exits 69" {
  # As on a platform with no binary package (or an install with optional dependencies off).
  npm install -g --prefix "$T/g" hardshell >/dev/null
  rm -rf "$T/g/lib/node_modules/hardshell/node_modules/@hardshell"
  run "$T/g/bin/atomic-write" --version
  assert_failure 69
  assert_output --partial "atomic-write: no hardshell binary for this platform"
  assert_output --partial "@hardshell/<os>-<arch>"
}
