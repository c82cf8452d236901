# shellcheck shell=bash
# hardshell.sh — source this file to get hardshell's commands as the shell
# functions that hand-rolled concurrency libraries already define:
#
#   source /path/to/dist/hardshell.sh
#   write_atomic FILE [CONTENT]            # CONTENT exactly (no newline added), else stdin
#   sqlite_with_retry DB SQL [VALUE...]    # one transaction, retried while busy; VALUEs bind to ? in order
#   detect_stale_lock LOCK [MAX_AGE_S]     # 0 if LOCK (a git lock file) is stale, 1 if not
#   clean_stale_lock LOCK                  # remove LOCK only if stale; refuses paths outside a git dir
#   acquire_git_lock [REPO] [TIMEOUT_S]    # hold the repository's run lock until release_git_lock
#   release_git_lock [REPO]
#   with_git_lock [REPO] -- CMD...         # run CMD holding the repository's run lock
#
# Contract:
# - Functions return the commands' exit codes (design.md §2.1: 75 = busy, try later;
#   65 = bad SQL; ...). They never call `exit`, and never change the caller's
#   `set -e/-u/-o pipefail`, shopt settings, IFS or traps: every command that may
#   fail runs where `set -e` cannot fire (`|| rc=$?`), every variable is `local`.
# - The binaries are found next to this file (dist/), else in ../../bin (an installed
#   PREFIX/share/hardshell/hardshell.sh), else on PATH; when one is
#   missing the function says so on stderr and returns 69 (EX_UNAVAILABLE).
# - Requires bash 4+ (associative arrays for the held git locks).
# - acquire_git_lock holds the lock in a background `git-lock run` that lives
#   until release_git_lock, or until the calling shell is gone (it polls the
#   calling (sub)shell's pid every second), so a script killed with SIGKILL never leaves a
#   live-looking lock: the holder exits and the lock is released.
# - Messages are one line on stderr: "hardshell.sh: <function>: <what failed>".
# - Needs only bash, coreutils (mktemp, mkfifo, dirname, readlink), git and the binaries.

# Sourced from sh/dash/zsh the bash syntax below would be a syntax error half-way
# through the file: stop first with one clear line (this part is POSIX sh).
if [ -z "${BASH_VERSION:-}" ]; then
  echo "hardshell.sh needs bash" >&2
  # shellcheck disable=SC2317  # the exit is reached when the file is executed, not sourced
  return 1 2>/dev/null || exit 1
fi

# Directory of this file, resolved through symlinks, computed once at source time.
_hardshell_dir() {
  local src="${BASH_SOURCE[0]:-}" dir
  [ -n "$src" ] || { printf '%s\n' ""; return 0; }
  while [ -L "$src" ]; do
    dir=$(cd -P "$(dirname -- "$src")" 2>/dev/null && pwd) || break
    src=$(readlink -- "$src") || break
    case "$src" in /*) ;; *) src="$dir/$src" ;; esac
  done
  (cd -P "$(dirname -- "$src")" 2>/dev/null && pwd) || printf '%s\n' ""
}
_HARDSHELL_DIR="$(_hardshell_dir)"
declare -gA _HARDSHELL_GIT_LOCK_PIDS 2>/dev/null || true

# _hardshell_bin NAME: print the path of a hardshell binary, or say it is missing and return 69.
_hardshell_bin() {
  local name="$1"
  if [ -n "$_HARDSHELL_DIR" ] && [ -x "$_HARDSHELL_DIR/$name" ]; then
    printf '%s\n' "$_HARDSHELL_DIR/$name"
    return 0
  fi
  # Installed layout (install.sh, release archives): PREFIX/share/hardshell/hardshell.sh, PREFIX/bin/NAME.
  if [ -n "$_HARDSHELL_DIR" ] && [ -x "$_HARDSHELL_DIR/../../bin/$name" ]; then
    printf '%s\n' "$(cd -P "$_HARDSHELL_DIR/../../bin" && pwd)/$name"
    return 0
  fi
  if command -v "$name" >/dev/null 2>&1; then
    command -v "$name"
    return 0
  fi
  printf 'hardshell.sh: %s: %s not found next to %s or on PATH (run npm run build, or put dist/ on PATH)\n' "${FUNCNAME[1]:-hardshell.sh}" "$name" "${_HARDSHELL_DIR:-hardshell.sh}" >&2
  return 69
}

# write_atomic FILE [CONTENT]: replace FILE all-or-nothing with CONTENT (exactly, no
# newline added) or, when CONTENT is absent, with stdin.
write_atomic() {
  local bin file rc=0
  if [ $# -lt 1 ] || [ $# -gt 2 ]; then
    printf 'hardshell.sh: write_atomic: usage: write_atomic FILE [CONTENT]\n' >&2
    return 64
  fi
  bin=$(_hardshell_bin atomic-write) || return $?
  file="$1"
  case "$file" in -*) file="./$file" ;; esac # never read as an option
  if [ $# -eq 2 ]; then
    printf '%s' "$2" | "$bin" "$file" || rc=$?
  else
    "$bin" "$file" || rc=$?
  fi
  return "$rc"
}

# sqlite_with_retry DB SQL [VALUE...]: run SQL as one transaction, retried with
# backoff while the database is busy. VALUEs are bound to the ?s in order (never
# spliced into the SQL text). Rows are printed tab-separated.
sqlite_with_retry() {
  local bin db sql rc=0 v
  local -a args=()
  if [ $# -lt 2 ]; then
    printf 'hardshell.sh: sqlite_with_retry: usage: sqlite_with_retry DB SQL [VALUE...]\n' >&2
    return 64
  fi
  bin=$(_hardshell_bin sqlite-exec) || return $?
  db="$1" sql="$2"
  shift 2
  for v in "$@"; do args+=("--arg=$v"); done # the = form: a value may start with "-"
  "$bin" "${args[@]}" -- "$db" "$sql" || rc=$?
  return "$rc"
}

# _hardshell_lock_repo LOCK: the git dir holding LOCK (for --repo), or fail with 66.
_hardshell_lock_repo() {
  local path="$1" dir
  dir=$(dirname -- "$path")
  if [ ! -d "$dir" ]; then
    printf 'hardshell.sh: %s: no such directory: %s\n' "${FUNCNAME[1]:-hardshell.sh}" "$dir" >&2
    return 66
  fi
  dir=$(cd -P -- "$dir" && git rev-parse --absolute-git-dir 2>/dev/null) || {
    printf 'hardshell.sh: %s: not inside a git directory: %s (only git lock files are judged)\n' "${FUNCNAME[1]:-hardshell.sh}" "$path" >&2
    return 66
  }
  printf '%s\n' "$dir"
}

# detect_stale_lock LOCK [MAX_AGE_S]: return 0 when LOCK is stale (no live holder and
# older than MAX_AGE_S, default git-lock's threshold), 1 when it is live, young or gone.
# A lock whose liveness cannot be seen is never called stale.
detect_stale_lock() {
  local bin repo rc=0
  local -a age=()
  if [ $# -lt 1 ] || [ $# -gt 2 ]; then
    printf 'hardshell.sh: detect_stale_lock: usage: detect_stale_lock LOCK [MAX_AGE_S]\n' >&2
    return 64
  fi
  bin=$(_hardshell_bin git-lock) || return $?
  [ -e "$1" ] || [ -L "$1" ] || return 1
  repo=$(_hardshell_lock_repo "$1") || return $?
  [ $# -lt 2 ] || age=(--stale-after "$2")
  "$bin" status --repo "$repo" --quiet "${age[@]}" -- "$1" || rc=$?
  case "$rc" in
    0) return 1 ;; # nothing stale
    1) return 0 ;; # stale
    *) return "$rc" ;;
  esac
}

# clean_stale_lock LOCK: remove LOCK if, and only if, it is stale. Refuses paths
# that are not inside a git directory. Returns 0 when LOCK is gone afterwards or was
# left because it is live (git-lock reports which on stderr).
clean_stale_lock() {
  local bin repo rc=0
  if [ $# -ne 1 ]; then
    printf 'hardshell.sh: clean_stale_lock: usage: clean_stale_lock LOCK\n' >&2
    return 64
  fi
  bin=$(_hardshell_bin git-lock) || return $?
  [ -e "$1" ] || [ -L "$1" ] || return 0
  repo=$(_hardshell_lock_repo "$1") || return $?
  "$bin" clean --repo "$repo" -- "$1" || rc=$?
  return "$rc"
}

# _hardshell_repo_key [REPO]: the common git dir of REPO (default: cwd), used as the key of held locks.
_hardshell_repo_key() {
  local repo="${1:-.}"
  (cd -P -- "$repo" 2>/dev/null && git rev-parse --path-format=absolute --git-common-dir 2>/dev/null) || {
    printf 'hardshell.sh: %s: not a git repository: %s\n' "${FUNCNAME[1]:-hardshell.sh}" "$repo" >&2
    return 66
  }
}

# acquire_git_lock [REPO] [TIMEOUT_S]: take the repository's run lock (the one
# `git-lock run` and with_git_lock use) and hold it until release_git_lock.
# Returns 75 when it is still held by someone else after TIMEOUT_S (default 60).
# The lock belongs to the (sub)shell that called it ($BASHPID): called inside
# `$(...)` or `( ... )` it is released within a second of that subshell's end.
acquire_git_lock() {
  local bin key timeout owner dir line rc=0 pid
  bin=$(_hardshell_bin git-lock) || return $?
  key=$(_hardshell_repo_key "${1:-.}") || return $?
  timeout="${2:-60}" owner="$BASHPID"
  if [ -n "${_HARDSHELL_GIT_LOCK_PIDS[$key]:-}" ]; then
    printf 'hardshell.sh: acquire_git_lock: already held by this shell: %s\n' "$key" >&2
    return 75
  fi
  # The fifo lives in a fresh private directory: mktemp -d creates it atomically
  # with mode 0700, so nobody can plant or swap the fifo (mktemp -u + mkfifo could).
  dir=$(mktemp -d "${TMPDIR:-/tmp}/hardshell-acquire.XXXXXX") || return 74
  mkfifo -m 600 "$dir/ready" || { rm -rf -- "$dir"; return 74; }
  # The holder reports "ok <pid of git-lock>" once it holds the lock, or
  # "fail <code>" when git-lock gave up. Its stdout is not ours: a caller's pipe
  # must never wait on a process that lives until release_git_lock.
  (
    code=0
    # shellcheck disable=SC2016 # the holder script expands its own $1/$2/$PPID
    "$bin" run --repo "$key" --timeout "$timeout" -- sh -c '
      printf "ok %s\n" "$PPID" > "$1"
      trap "exit 0" TERM INT HUP
      while kill -0 "$2" 2>/dev/null; do sleep 1 & wait $!; done
    ' hardshell-holder "$dir/ready" "$owner" || code=$?
    # Only while the fifo is still there is anyone waiting for the verdict.
    if [ "$code" -ne 0 ] && [ -p "$dir/ready" ]; then printf 'fail %s\n' "$code" > "$dir/ready"; fi
  ) </dev/null >/dev/null &
  pid=$!
  IFS= read -r line < "$dir/ready" || line="fail 70"
  rm -rf -- "$dir"
  case "$line" in
    "ok "*)
      # "subshell pid:git-lock pid": release signals git-lock itself, found without pkill.
      _HARDSHELL_GIT_LOCK_PIDS[$key]="$pid:${line#ok }"
      return 0
      ;;
    *)
      wait "$pid" 2>/dev/null || true
      rc="${line#fail }"
      return "${rc:-70}"
      ;;
  esac
}

# release_git_lock [REPO]: release a lock taken by acquire_git_lock in this shell.
release_git_lock() {
  local key held pid runner
  key=$(_hardshell_repo_key "${1:-.}") || return $?
  held="${_HARDSHELL_GIT_LOCK_PIDS[$key]:-}"
  if [ -z "$held" ]; then
    printf 'hardshell.sh: release_git_lock: not held by this shell: %s\n' "$key" >&2
    return 1
  fi
  unset '_HARDSHELL_GIT_LOCK_PIDS[$key]'
  pid="${held%%:*}" runner="${held#*:}"
  # TERM the holder's git-lock: it forwards TERM to its command, releases the lock
  # and exits; then the subshell ends too. git-lock is the subshell's child, so
  # while the subshell has not been reaped (it cannot end before git-lock does)
  # the pid still names that git-lock, never a recycled process.
  if kill -0 "$pid" 2>/dev/null; then kill -TERM "$runner" 2>/dev/null || true; fi
  wait "$pid" 2>/dev/null || true
  return 0
}

# with_git_lock [REPO] -- CMD...: run CMD while holding the repository's run lock;
# returns CMD's exit code (75 if the lock could not be had within 60s).
with_git_lock() {
  local bin repo="." rc=0
  if [ $# -gt 0 ] && [ "$1" != "--" ]; then
    repo="$1"
    shift
  fi
  if [ "${1:-}" != "--" ] || [ $# -lt 2 ]; then
    printf 'hardshell.sh: with_git_lock: usage: with_git_lock [REPO] -- CMD...\n' >&2
    return 64
  fi
  shift
  bin=$(_hardshell_bin git-lock) || return $?
  "$bin" run --repo "$repo" -- "$@" || rc=$?
  return "$rc"
}
