/**
 * Which live git processes work on a repository (evidence 3 of verdict.ts).
 *
 * A git process is recognised by what it runs and where it works, never by
 * its name alone:
 * - What it runs: the executable behind /proc/PID/exe (proc(5)), which the
 *   kernel resolves through every symlink — so `mygit -> /usr/bin/git` is git
 *   whatever argv[0] and comm say. It is git when its file name is `git` or
 *   `git-*` (git's helpers, `git-remote-https`, ...; not git-lock), when it
 *   lives in one of git's exec-path directories (`git --exec-path`:
 *   GIT_EXEC_PATH, which git exports to hooks and editors, and the usual
 *   /usr/lib/git-core, /usr/libexec/git-core, ... and `../libexec/git-core`
 *   beside every `git` on PATH), or when it is the very same file (dev:ino)
 *   as a `git` binary found there, under any name (a hard link). Where
 *   /proc/PID/exe cannot be read, and for git's shell-script commands (exe
 *   /bin/sh), a comm of `git` / `git-*` makes it a candidate too: the
 *   repository check below still has to match, so this only ever keeps more.
 * - Where it works: the repository (common git dir, repo.ts `repoOfPath`)
 *   that any of these resolves to, for every layout (`.git` dir, `.git` file
 *   of a separate git dir or submodule, linked worktree with absolute or
 *   relative gitdir files, core.worktree):
 *   its cwd (git chdirs to the top of the work tree, or into the git dir of a
 *   bare repository, during set-up); GIT_DIR, GIT_COMMON_DIR and GIT_WORK_TREE
 *   of its initial environment (/proc/PID/environ; relative ones against its
 *   cwd and against the PWD it was started with); `-C`, `--git-dir`,
 *   `--work-tree` of its command line; and the same variables in the
 *   environment of its children. git sets GIT_DIR in its own process
 *   (setup.c, set_git_dir) after discovery, which its own environ file never
 *   shows but every hook, editor and helper it starts inherits — that is how
 *   `git commit` in a separate-git-dir repository or a submodule is tied to
 *   its git dir while its pre-commit hook or editor runs.
 *   A path inside one of the repository's known git dirs or work trees counts
 *   too (a work tree named only by core.worktree has no `.git` to walk to),
 *   unless it lies in a repository nested deeper in that tree (a submodule).
 * - A git with no working directory (ENOENT: a zombie, or exiting after its
 *   atexit handlers released its locks) holds nothing. When its cwd is hidden
 *   (EACCES: another user's process, one that is not dumpable) and nothing
 *   else tied it to the repository, it may be working anywhere:
 *   it counts when it is an ancestor of this process (the git running the
 *   hook we run in) or runs as the same user as the locks it could hold.
 *
 * Excluded: this process and the `git lock ...` dispatcher among its
 * ancestors (it only started us and holds nothing).
 *
 * What a concurrent git can observe: nothing, this only reads /proc and
 * stats paths. Processes that start after the /proc listing are not seen
 * (callers re-check the lock's inode before removing it). Cost: one readlink
 * of /proc/PID/exe per process (plus its comm, and a stat of the exe when the
 * path says nothing); cwd, environ, argv and children only for candidates.
 * Out of scope: processes in other mount namespaces, a git binary copied (not
 * linked) under another name outside git's directories whose comm is not git.
 */
import { existsSync, realpathSync, statSync } from "node:fs";
import { basename, delimiter, dirname, join, resolve } from "node:path";
import { fileId, isInside, normalizePath, type ProcessView } from "../core/procscan";
import { repoOfPath, type GitRepo, type RepoId } from "./repo";

/** git processes by name: `git` itself and its helpers (`git-remote-https`, `git-upload-pack`, ...), not git-lock. */
export function isGitComm(comm: string): boolean {
  return comm === "git" || (comm.startsWith("git-") && !comm.startsWith("git-lock"));
}

/** git's subcommand in an argv (`git -C x -c a=b lock status` -> "lock"). */
export function gitSubcommand(argv: readonly string[]): string | undefined {
  for (let i = 1; i < argv.length; i++) {
    const w = argv[i]!;
    if (w === "-C" || w === "-c" || w === "--git-dir" || w === "--work-tree" || w === "--namespace" || w === "--exec-path" || w === "--config-env") {
      i++;
      continue;
    }
    if (w.startsWith("-")) continue;
    return w;
  }
  return undefined;
}

/**
 * Paths a git command line points at: `-C DIR` (cumulative, like git),
 * `--git-dir`, `--work-tree`. git applies them with chdir/setenv inside the
 * process, which /proc/PID/environ (the initial environment) does not show.
 */
export function gitArgvPaths(argv: readonly string[]): string[] {
  const out: string[] = [];
  let base = "";
  const join = (p: string) => (p.startsWith("/") || base === "" ? p : `${base}/${p}`);
  for (let i = 1; i < argv.length; i++) {
    const w = argv[i]!;
    const eq = w.indexOf("=");
    const name = w.startsWith("--") && eq > 0 ? w.slice(0, eq) : w;
    const inline = w.startsWith("--") && eq > 0 ? w.slice(eq + 1) : undefined;
    if (name === "-C") {
      const v = argv[++i];
      if (v === undefined) break;
      if (v !== "") base = join(v);
      out.push(base);
      continue;
    }
    if (name === "--git-dir" || name === "--work-tree") {
      const v = inline ?? argv[++i];
      if (v !== undefined && v !== "") out.push(join(v));
      continue;
    }
    if (name === "-c" || name === "--namespace" || name === "--exec-path" || name === "--config-env") {
      if (inline === undefined) i++;
      continue;
    }
    if (w.startsWith("-")) continue;
    break; // the subcommand: its own arguments are not git's
  }
  return out;
}

/** Where git's executables live on this machine: exec-path directories and the identities of `git` binaries. */
export interface GitBinaries {
  dirs: Set<string>;
  ids: Set<string>;
}

const EXEC_PATH_GUESSES = ["/usr/lib/git-core", "/usr/libexec/git-core", "/usr/local/libexec/git-core", "/usr/local/lib/git-core"];

function realOr(p: string): string {
  try {
    return realpathSync(p);
  } catch {
    return p;
  }
}

/**
 * git's binaries as `git --exec-path` would name them, found without running
 * git (its start-up would cost more than the whole scan): GIT_EXEC_PATH, the
 * distributions' exec paths, and for every `git` on PATH its real directory
 * and `../libexec/git-core` / `../lib/git-core` beside it (git's own
 * RUNTIME_PREFIX layout).
 */
export function gitBinaries(env: Record<string, string | undefined> = process.env): GitBinaries {
  const dirs = new Set<string>();
  const ids = new Set<string>();
  const addDir = (d: string) => {
    if (!existsSync(d)) return;
    dirs.add(d);
    dirs.add(realOr(d));
    const id = fileId(join(d, "git"));
    if (id) ids.add(id);
  };
  if (env.GIT_EXEC_PATH) for (const d of env.GIT_EXEC_PATH.split(delimiter)) if (d.startsWith("/")) addDir(d);
  for (const d of EXEC_PATH_GUESSES) addDir(d);
  for (const d of (env.PATH ?? "").split(delimiter)) {
    if (!d.startsWith("/")) continue;
    const g = join(d, "git");
    let st;
    try {
      st = statSync(g);
    } catch {
      continue;
    }
    if (!st.isFile()) continue;
    ids.add(`${st.dev}:${st.ino}`);
    const bin = dirname(realOr(g));
    for (const x of [join(bin, "..", "libexec", "git-core"), join(bin, "..", "lib", "git-core")]) addDir(resolve(x));
  }
  return { dirs, ids };
}

/** Is `pid` a git process? By its executable first (see the module comment); by comm as the fallback. */
export function isGitProcess(snap: ProcessView, pid: number, bins: () => GitBinaries): boolean {
  const exe = snap.exe(pid);
  if (exe !== undefined) {
    const b = basename(exe);
    // git-lock itself (also when installed into git's exec path for `git lock`, or run as a link to one multi-call binary).
    if (b.startsWith("git-lock") || exe === selfExe()) return false;
    if (b === "git" || b.startsWith("git-")) return true;
    if (bins().dirs.has(dirname(exe))) return true;
  }
  const comm = snap.comm(pid);
  if (comm !== undefined && isGitComm(comm)) return true;
  if (exe === undefined) return false;
  const id = snap.exeId(pid);
  return id !== undefined && bins().ids.has(id);
}

let selfExePath: string | undefined;
function selfExe(): string {
  return (selfExePath ??= realOr(process.execPath));
}

/** Ancestors of `pid` that are the `git lock` dispatcher (they hold no lock). */
export function dispatcherAncestors(snap: ProcessView, pid: number, bins: () => GitBinaries = lazyBinaries()): Set<number> {
  const out = new Set<number>();
  for (const a of snap.ancestors(pid)) {
    if (!isGitProcess(snap, a, bins)) continue;
    const argv = snap.cmdline(a);
    if (argv && gitSubcommand(argv) === "lock") out.add(a);
  }
  return out;
}

export function lazyBinaries(env?: Record<string, string | undefined>): () => GitBinaries {
  let b: GitBinaries | undefined;
  return () => (b ??= gitBinaries(env));
}

export type WorksOn = "yes" | "no" | "unknown";

export interface GitWorker {
  pid: number;
  comm: string;
  /** Why it counts: "cwd", "GIT_DIR", "argv", "child GIT_DIR", ... or "unreadable". */
  via: string;
}

const REPO_VARS = ["GIT_DIR", "GIT_COMMON_DIR", "GIT_WORK_TREE"] as const;

/**
 * Does git process `pid` work on `repo`? "yes" with the evidence that said
 * so, "no" when everything readable points elsewhere, "unknown" when nothing
 * about it could be read.
 */
export function gitWorksOn(
  snap: ProcessView,
  pid: number,
  repo: GitRepo,
  cache: Map<string, RepoId | null> = new Map(),
): { answer: WorksOn; via?: string } {
  const known = [...new Set([repo.commonDir, repo.gitDir, ...repo.worktreeGitDirs, ...repo.workTrees])];
  const matches = (p: string): boolean => {
    const n = normalizePath(p);
    const id = repoOfPath(n, cache);
    if (id?.commonDir === repo.commonDir) return true;
    const home = known.filter((d) => isInside(n, d)).sort((a, b) => b.length - a.length)[0];
    if (home === undefined) return false;
    // Inside one of our work trees, but in a repository nested deeper (a submodule, a clone
    // inside the tree): that git works there. Otherwise (our work tree named by core.worktree
    // inside someone else's tree, an unreadable path) it is ours.
    return !(id?.workTree !== undefined && id.workTree !== home && isInside(id.workTree, home));
  };
  /** An absolute or relative path from a process: relative ones against each base. */
  const anyMatches = (p: string, bases: (string | undefined)[]): boolean => {
    if (p.startsWith("/")) return matches(p);
    return bases.some((b) => b !== undefined && b.startsWith("/") && matches(`${b}/${p}`));
  };

  const cwd = snap.cwd(pid);
  if (cwd !== undefined && matches(cwd)) return { answer: "yes", via: "cwd" };
  const pwd = snap.envVar(pid, "PWD");
  for (const v of REPO_VARS) {
    const val = snap.envVar(pid, v);
    if (val && anyMatches(val, [cwd, pwd])) return { answer: "yes", via: v };
  }
  const argv = snap.cmdline(pid);
  if (argv) for (const p of gitArgvPaths(argv)) if (anyMatches(p, [cwd, pwd])) return { answer: "yes", via: "argv" };
  // What git set inside itself shows in its children's environment (hooks, editor, helpers).
  for (const c of snap.children(pid)) {
    const ccwd = snap.cwd(c);
    for (const v of REPO_VARS) {
      const val = snap.envVar(c, v);
      if (val && anyMatches(val, [ccwd, cwd])) return { answer: "yes", via: `child ${c} ${v}` };
    }
  }
  if (cwd === undefined) {
    // No working directory at all: it has exited (a zombie) or is exiting, past the atexit
    // handlers that release git's locks — not a holder. Hidden from us (EACCES: another
    // user, not dumpable): it may work anywhere.
    const why = snap.cwdError(pid);
    return { answer: why === "ENOENT" || why === "ESRCH" ? "no" : "unknown" };
  }
  return { answer: "no" };
}

/**
 * Every live git process that works on `repo` (or may: see "unknown" in the
 * module comment). `exclude`: this process and the dispatcher; `ancestors`:
 * this process' ancestors.
 */
export function gitProcessesWorkingOn(
  repo: GitRepo,
  opts: { snapshot: ProcessView; exclude: ReadonlySet<number>; ancestors: ReadonlySet<number>; uid?: number; bins?: () => GitBinaries },
): GitWorker[] {
  const snap = opts.snapshot;
  const bins = opts.bins ?? lazyBinaries();
  const cache = new Map<string, RepoId | null>();
  const uid = opts.uid ?? (typeof process.getuid === "function" ? process.getuid() : 0);
  const out: GitWorker[] = [];
  for (const pid of snap.pids()) {
    if (opts.exclude.has(pid) || !isGitProcess(snap, pid, bins)) continue;
    const r = gitWorksOn(snap, pid, repo, cache);
    const comm = snap.comm(pid) ?? "?";
    if (r.answer === "yes") out.push({ pid, comm, via: r.via! });
    else if (r.answer === "unknown" && (opts.ancestors.has(pid) || snap.uid(pid) === uid)) out.push({ pid, comm, via: "unreadable" });
  }
  return out;
}
