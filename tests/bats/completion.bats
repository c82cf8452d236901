#!/usr/bin/env bats
# Bash completion, driven the way bash drives it: source the script a command prints with --completion, set
# COMP_WORDS/COMP_CWORD, call the function `complete -p` names, read COMPREPLY.
load test_helper

# complete_words CMD WORD... : the completions offered for the last WORD (may be ""), one a line, sorted.
complete_words() {
  local cmd="$1"
  shift
  bash -c '
    source <("$1" --completion) || exit 99
    fn=$(complete -p "$1" | sed -n "s/.*-F \([^ ]*\) .*/\1/p")
    shift
    COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1))
    COMP_LINE="$*"; COMP_POINT=${#COMP_LINE}
    "$fn" "$1" "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD-1]}"
    printf "%s\n" "${COMPREPLY[@]}" | sort' _ "$cmd" "$cmd" "$@"
}

local_setup() {
  mkdir -p sub/dir
  touch tsv-file.txt json.txt sub/file.sql
}

@test "--format <TAB> offers the formats, not file names, in every spelling" {
  run complete_words sqlite-exec app.db --format ""
  assert_output $'csv\njson\njsonl\ntable\ntsv'
  run complete_words sqlite-exec app.db --format j
  assert_output $'json\njsonl'
  run complete_words sqlite-exec app.db --format=j # COMP_WORDBREAKS without "="
  assert_output $'--format=json\n--format=jsonl'
  run complete_words sqlite-exec app.db --format = j # with "=" (bash's default): three words
  assert_output $'json\njsonl'
  run complete_words sqlite-exec app.db --input ""
  assert_output $'csv\njsonl\ntsv'
  run complete_words sqlite-exec app.db --checkpoint=""
  assert_output $'--checkpoint=FULL\n--checkpoint=PASSIVE\n--checkpoint=RESTART\n--checkpoint=TRUNCATE'
}

@test "an option whose value is a duration or a name offers nothing, a file option offers files, --repo directories" {
  for w in "sqlite-exec app.db --deadline" "sqlite-exec app.db --busy-timeout" "atomic-write --lock-timeout" "git-lock run --timeout" "git-lock status --stale-after" "git-lock run --name"; do
    read -r -a words <<<"$w"
    run complete_words "${words[@]}" ""
    assert_output ""
  done
  run complete_words sqlite-exec app.db --file su
  assert_output "sub"
  run complete_words sqlite-exec app.db -f sub/
  assert_output $'sub/dir\nsub/file.sql'
  run complete_words git-lock status --repo ""
  assert_output "sub"
  run complete_words sqlite-exec ""
  assert_line "tsv-file.txt"
}

@test "each git-lock subcommand offers its own options and no other's" {
  run complete_words git-lock status --
  assert_line --index 0 -- "--completion"
  assert_output $'--completion\n--force\n--help\n--json\n--quiet\n--repo\n--stale-after\n--version'
  run complete_words git-lock run --
  assert_output $'--completion\n--help\n--name\n--repo\n--timeout\n--version'
  run complete_words git-lock clean --d
  assert_output "--dry-run"
  run complete_words git-lock wait --d
  assert_output ""
  run complete_words git-lock ""
  assert_output $'clean\nrun\nstatus\nwait'
  run complete_words git-lock --
  assert_output $'--completion\n--help\n--version'
}

@test "after -- a command is completed, then its arguments" {
  run complete_words atomic-write f -- bas
  assert_line "bash"
  run complete_words git-lock run -- bas
  assert_line "bash"
  run complete_words atomic-write f -- bash tsv
  assert_output "tsv-file.txt"
  run complete_words atomic-write --
  assert_line "--append"
  assert_line "--completion"
}

@test "git lock <TAB> completes through git's own bash completion (_git_lock)" {
  gitcomp=/usr/share/bash-completion/completions/git
  [ -f "$gitcomp" ] || skip "git's bash completion is not installed at $gitcomp"
  git init -q repo && cd repo
  # git's completion loads completions/git-lock on demand (_completion_loader); here we source it, as that file does.
  run bash -c '
    source "$1" && source <(git-lock --completion) || exit 99
    try() { COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); COMP_LINE="$*"; COMP_POINT=${#COMP_LINE}; COMPREPLY=()
      __git_wrap__git_main; ((${#COMPREPLY[@]})) && printf "[%s]\n" "${COMPREPLY[@]}" | sort | tr -d "\n"; echo; }
    try git lock ""
    try git lock status --
    try git lock run --ti
    try git -C . lock clean --dry
    try git lock status --stale-after ""' _ "$gitcomp"
  assert_success
  assert_line --index 0 "[clean ][run ][status ][wait ]"
  assert_line --index 1 "[--completion ][--force ][--help ][--json ][--quiet ][--repo ][--stale-after ][--version ]"
  assert_line --index 2 "[--timeout ]"
  assert_line --index 3 "[--dry-run ]"
  assert_line --index 4 ""
}
