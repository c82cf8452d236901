#!/usr/bin/env bats
# Every recipe in docs/recipes.md is extracted and run here, so the docs cannot rot.
load test_helper

# recipe NAME: print the code block that follows `<!-- recipe: NAME -->`.
recipe() {
  awk -v name="$1" '
    $0 == "<!-- recipe: " name " -->" { want = 1; next }
    want && /^```/ { if (inside) exit; inside = 1; next }
    want && inside { print }
  ' "$HARDSHELL_ROOT/docs/recipes.md"
}

local_setup() {
  git init -q -b main repo
  (cd repo && echo a > a && git add a && git commit -qm init)
}

@test "every recipe block in docs/recipes.md is covered by this file" {
  names=$(grep -oE '<!-- recipe: [a-z0-9-]+ -->' "$HARDSHELL_ROOT/docs/recipes.md" | sed 's/<!-- recipe: //; s/ -->//')
  for n in $names; do
    grep -q "recipe $n" "$BATS_TEST_FILENAME" || fail "recipe $n is not exercised"
    [ -n "$(recipe "$n")" ] || fail "recipe $n is empty"
  done
}

@test "post-merge hook recipe removes a crashed git's stale index.lock and git works again" {
  recipe post-merge-hook > repo/.git/hooks/post-merge && chmod +x repo/.git/hooks/post-merge
  git -C repo checkout -q -b feature && git -C repo checkout -q main
  touch repo/.git/index.lock && touch -d '1 hour ago' repo/.git/index.lock
  (cd repo && sh .git/hooks/post-merge)
  [ ! -e repo/.git/index.lock ]
  git -C repo merge -q feature
}

@test "pre-commit hook recipe lets git commit -a succeed while its own index.lock stays" {
  recipe pre-commit-hook > repo/.git/hooks/pre-commit && chmod +x repo/.git/hooks/pre-commit
  echo b >> repo/a
  touch repo/.git/refs/heads/crashed.lock
  # A git that started after a lock appeared cannot be its holder (git-lock's start-time
  # rule, 1 s of slack): let the crashed lock be older than the commit's git.
  sleep 1.2
  run git -C repo commit -qam change
  assert_success
  [ "$(git -C repo log --oneline | wc -l)" -eq 2 ]
  [ ! -e repo/.git/refs/heads/crashed.lock ]
}

@test "wait-for-repo recipe clears a stale lock and goes on" {
  git clone -q repo clone
  touch clone/.git/index.lock && touch -d '1 hour ago' clone/.git/index.lock
  run bash -c "cd clone && $(recipe wait-for-repo)"
  assert_success
  [ ! -e clone/.git/index.lock ]
}

@test "cron telemetry recipe records a row and never fails the job" {
  run bash -c "$(recipe cron-telemetry)"
  assert_success
  [ "$(sqlite3 metrics.db 'select count(*) from samples')" -eq 1 ]
  chmod 000 metrics.db 2>/dev/null; rm -f metrics.db; mkdir metrics.db
  run bash -c "$(recipe cron-telemetry | tail -n 3)"
  assert_success
}

@test "exclusive cron recipe runs once at a time" {
  git clone -q repo site
  run bash -c "cd site && $(recipe exclusive-cron)"
  assert_success
  assert_output --partial deployed
}

@test "edit JSON recipe changes the config, and a failing jq leaves it untouched" {
  command -v jq >/dev/null || skip "jq is not installed"
  echo '{"retries": 1, "hosts": ["db1"]}' > config.json
  run bash -c "$(recipe edit-json)"
  assert_success
  [ "$(jq -c . config.json)" = '{"retries":5,"hosts":["db1","db2"]}' ]
  before=$(cat config.json)
  run atomic-write --edit config.json -- jq '.retries = ('
  assert_failure
  [ "$(cat config.json)" = "$before" ]
  [ -z "$(leftovers . config.json repo)" ]
}

@test "command-mode recipe replaces the report and keeps the old one as a backup" {
  sqlite3 metrics.db 'create table samples(ts, host, load); insert into samples values (1, "h", 0.5)'
  echo old > report.csv
  run bash -c "$(recipe command-mode)"
  assert_success
  [ "$(cat report.csv~)" = old ]
  assert_equal "$(head -1 report.csv)" "ts,host,load"
}

@test "migrate-script recipe runs unchanged on hardshell.sh" {
  sqlite3 metrics.db 'create table samples(ts, host, load)'
  cd repo
  mv ../metrics.db .
  touch .git/index.lock && touch -d '1 hour ago' .git/index.lock
  # Under set -u with only what the recipe documents: HARDSHELL_SH (default: the installed path).
  run env -u HARDSHELL_DIST HARDSHELL_SH="$HARDSHELL_SH" bash -c "set -euo pipefail; $(recipe migrate-script)"
  assert_success
  grep -q '^last-run=' state.txt
  [ "$(sqlite3 metrics.db 'select count(*) from samples')" -eq 1 ]
  [ ! -e .git/index.lock ]
}

@test "every crontab entry in the docs comes after a PATH= line naming where hardshell is (cron's PATH is /usr/bin:/bin)" {
  bad=$(awk '
    FNR == 1 { path = 0 }
    /^```/ { path = 0 }
    /^#?[[:space:]]*PATH=/ { path = 1 }
    /^#?[[:space:]]*(@(reboot|hourly|daily|weekly|monthly)|[*0-9\/,-]+[[:space:]]+[*0-9\/,-]+[[:space:]]+[*0-9\/,-]+[[:space:]]+[*0-9\/,-]+[[:space:]]+[*0-9\/,-]+)[[:space:]]+[^[:space:]]/ {
      if (!path && $0 !~ /(^|[[:space:]])\/[^[:space:]]*\/(atomic-write|git-lock|sqlite-exec)/) print FILENAME ":" FNR ": " $0
    }
  ' "$HARDSHELL_ROOT/README.md" "$HARDSHELL_ROOT/docs/recipes.md")
  [ -z "$bad" ] || fail "crontab lines without PATH=: $bad"
}
