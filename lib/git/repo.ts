/**
 * Repository discovery for git-lock, following git's own rules
 * (Documentation/gitrepository-layout.txt, git-worktree.txt "DETAILS",
 * git.txt "GIT_DIR" / "GIT_CEILING_DIRECTORIES", and setup.c's
 * setup_git_directory_gently walk) without spawning `git` (its start-up
 * would cost more than the whole scan of a clean repository):
 *
 * - Start at `--repo PATH` or the current directory; when neither is given and
 *   GIT_DIR is set (hooks, scripts), GIT_DIR names the git dir directly.
 * - Walk up: at each directory D, `D/.git` as a directory that looks like a
 *   git dir, or `D/.git` as a file holding `gitdir: X` (linked worktrees,
 *   submodules, `--separate-git-dir`), else D itself when it looks like a git
 *   dir (bare repository, or run from inside `.git`). GIT_CEILING_DIRECTORIES
 *   stops the walk as it stops git.
 * - A git dir with a `commondir` file is a linked worktree's private dir; the
 *   shared refs, objects, packed-refs and config live in the common dir.
 *
 * "Looks like a git dir" is git's test: HEAD exists, and `objects/` and
 * `refs/` exist in it or in its common dir.
 *
 * - Every layout maps to one common dir, the identity of a repository:
 *   `.git` dir, `.git` file of a `--separate-git-dir` repository or of a
 *   submodule (git dir under the superproject's `.git/modules/`), linked
 *   worktrees whose `.git` file and `worktrees/NAME/gitdir` hold absolute or
 *   relative paths (newer git writes relative ones: `worktree.useRelativePaths`),
 *   and `core.worktree` (submodules set it; it is relative to the git dir).
 *   `repoOfPath` answers "which repository does this path work in" for the
 *   git processes that verdict.ts inspects.
 *
 * What a concurrent git can observe: nothing — discovery only reads. A
 * worktree added or removed during the call may or may not be listed.
 * Out of scope: GIT_DISCOVERY_ACROSS_FILESYSTEM. A work tree reachable only
 * through GIT_WORK_TREE / GIT_DIR of some other process is not listed here;
 * verdict.ts reads those from the git processes themselves.
 */
import { existsSync, lstatSync, readdirSync, readFileSync, realpathSync, statSync } from "node:fs";
import { dirname, isAbsolute, join, resolve } from "node:path";
import { NoInputError } from "../core/errors";

export interface GitRepo {
  /** Real path of the git dir in use (per-worktree dir for a linked worktree). */
  gitDir: string;
  /** Real path of the common dir (== gitDir outside linked worktrees). */
  commonDir: string;
  /** Real path of the work tree the discovery started in, if any (none for bare). */
  workTree?: string;
  bare: boolean;
  /** Every work tree of the repository (main + linked ones that still exist), real paths. */
  workTrees: string[];
  /** Private dirs of linked worktrees (commonDir/worktrees/NAME), real paths. */
  worktreeGitDirs: string[];
}

export interface DiscoverOptions {
  /** `--repo PATH`; wins over GIT_DIR. */
  repo?: string;
  cwd?: string;
  env?: Record<string, string | undefined>;
}

function isDir(p: string): boolean {
  try {
    return statSync(p).isDirectory();
  } catch {
    return false;
  }
}

function readTrim(p: string): string | undefined {
  try {
    return readFileSync(p, "utf8").trim();
  } catch {
    return undefined;
  }
}

/** The common dir of a git dir: `commondir` file, relative to the git dir, or the git dir itself. */
function commonDirOf(gitDir: string): string {
  const c = readTrim(join(gitDir, "commondir"));
  if (!c) return gitDir;
  return resolve(gitDir, c);
}

/** git's is_git_directory(): HEAD, objects/ and refs/ (objects/refs may be in the common dir). */
export function looksLikeGitDir(dir: string): boolean {
  if (!existsSync(join(dir, "HEAD"))) return false;
  const common = commonDirOf(dir);
  return isDir(join(common, "objects")) && isDir(join(common, "refs"));
}

/** Target of a `.git` file (`gitdir: X`, X relative to the file's directory, as git reads it), or undefined. */
export function readGitFile(dotGit: string): string | undefined {
  const text = readTrim(dotGit);
  if (!text) return undefined;
  const m = /^gitdir:\s*(.+)$/m.exec(text);
  if (!m) return undefined;
  const target = m[1]!.trim();
  return isAbsolute(target) ? target : resolve(dirname(dotGit), target);
}

function real(p: string): string {
  try {
    return realpathSync(p);
  } catch {
    return resolve(p);
  }
}

/**
 * One `core.KEY` value from a git dir's config without a full parser (only
 * what discovery needs: `bare`, `worktree`; the last one wins, as in git).
 * Quoted values lose their quotes; escapes other than `\\` and `\"` are not interpreted.
 */
function configCore(gitDir: string, key: string): string | undefined {
  const text = readTrim(join(gitDir, "config"));
  if (!text) return undefined;
  let section = "";
  let value: string | undefined;
  const re = new RegExp(`^${key}\\s*=\\s*(.*)$`, "i");
  for (const raw of text.split("\n")) {
    const line = raw.trim();
    const s = /^\[\s*([A-Za-z0-9.-]+)(?:\s+"[^"]*")?\s*\]/.exec(line);
    if (s) {
      section = s[1]!.toLowerCase();
      continue;
    }
    const kv = re.exec(line);
    if (section !== "core" || !kv) continue;
    let v = kv[1]!.trim();
    if (v.startsWith('"')) v = (/^"((?:[^"\\]|\\.)*)"/.exec(v)?.[1] ?? v.slice(1)).replace(/\\(["\\])/g, "$1");
    else v = v.replace(/\s*[#;].*$/, "");
    value = v;
  }
  return value;
}

function configBare(commonDir: string): boolean | undefined {
  const v = configCore(commonDir, "bare");
  return v === undefined ? undefined : /^(true|yes|on|1)$/i.test(v);
}

/** `core.worktree` of a git dir (relative to the git dir, gitrepository-layout / git-config), as a real path. */
export function configWorkTree(gitDir: string): string | undefined {
  const v = configCore(gitDir, "worktree");
  if (!v) return undefined;
  return real(resolve(gitDir, v));
}

/**
 * The work tree of a linked worktree's private dir: `worktrees/NAME/gitdir`
 * holds the path of the worktree's `.git` file, absolute, or relative to
 * `worktrees/NAME` when git wrote it with worktree.useRelativePaths.
 */
export function linkedWorkTree(worktreeGitDir: string): string | undefined {
  const dotGit = readTrim(join(worktreeGitDir, "gitdir"));
  if (!dotGit) return undefined;
  const abs = resolve(worktreeGitDir, dotGit);
  return existsSync(abs) ? real(dirname(abs)) : undefined;
}

interface Found {
  gitDir: string;
  workTree?: string;
}

function walkUp(start: string, env: Record<string, string | undefined>): Found | undefined {
  const ceilings = (env.GIT_CEILING_DIRECTORIES ?? "")
    .split(":")
    .filter((c) => c && isAbsolute(c))
    .map((c) => real(c));
  let dir = real(start);
  for (;;) {
    const dotGit = join(dir, ".git");
    let st;
    try {
      st = statSync(dotGit);
    } catch {
      st = undefined;
    }
    if (st?.isDirectory() && looksLikeGitDir(dotGit)) return { gitDir: dotGit, workTree: dir };
    if (st?.isFile()) {
      const target = readGitFile(dotGit);
      if (target && looksLikeGitDir(target)) return { gitDir: target, workTree: dir };
    }
    if (looksLikeGitDir(dir)) return { gitDir: dir };
    const parent = dirname(dir);
    if (parent === dir || ceilings.includes(parent)) return undefined;
    dir = parent;
  }
}

/** Find the repository for `opts` the way git would. Throws NoInputError (66) when there is none. */
export function discoverRepo(opts: DiscoverOptions = {}): GitRepo {
  const env = opts.env ?? process.env;
  const cwd = opts.cwd ?? process.cwd();
  let found: Found | undefined;
  if (opts.repo !== undefined) {
    const start = resolve(cwd, opts.repo);
    if (!isDir(start)) throw new NoInputError({ what: "repository does not exist", subject: opts.repo, hint: "check the --repo path" });
    found = walkUp(start, env);
    if (!found) throw new NoInputError({ what: "not a git repository", subject: opts.repo, hint: "--repo must be inside a work tree or a git dir" });
  } else if (env.GIT_DIR) {
    const g = resolve(cwd, env.GIT_DIR);
    let gitDir = g;
    try {
      if (lstatSync(g).isFile()) gitDir = readGitFile(g) ?? g; // GIT_DIR may name a `.git` file
    } catch {
      /* checked below */
    }
    if (!looksLikeGitDir(gitDir)) throw new NoInputError({ what: "not a git repository", subject: env.GIT_DIR, hint: "GIT_DIR is set" });
    const wt = env.GIT_WORK_TREE ? resolve(cwd, env.GIT_WORK_TREE) : undefined;
    found = { gitDir, workTree: wt };
  } else {
    found = walkUp(cwd, env);
    if (!found) throw new NoInputError({ what: "not a git repository", subject: cwd, hint: "run inside a repository or pass --repo PATH" });
  }

  const gitDir = real(found.gitDir);
  const commonDir = real(commonDirOf(gitDir));
  const bare = found.workTree === undefined && (configBare(commonDir) ?? true);
  const workTree = found.workTree !== undefined ? real(found.workTree) : undefined;

  const workTrees = new Set<string>();
  if (workTree) workTrees.add(workTree);
  // The main work tree is the parent of a common dir named `.git` (unless bare).
  if (commonDir.endsWith("/.git") && configBare(commonDir) !== true) workTrees.add(dirname(commonDir));
  const worktreeGitDirs: string[] = [];
  let names: string[] = [];
  try {
    names = readdirSync(join(commonDir, "worktrees"));
  } catch {
    names = [];
  }
  // core.worktree (submodules, `git init --separate-git-dir` users who set it): a work tree too.
  for (const d of new Set([gitDir, commonDir])) {
    const cw = configWorkTree(d);
    if (cw && isDir(cw)) workTrees.add(cw);
  }
  for (const name of names) {
    const wgd = join(commonDir, "worktrees", name);
    if (!isDir(wgd)) continue;
    worktreeGitDirs.push(wgd);
    const wt = linkedWorkTree(wgd);
    if (wt) workTrees.add(wt);
  }
  return { gitDir, commonDir, workTree, bare, workTrees: [...workTrees], worktreeGitDirs };
}

/**
 * The repository a path belongs to, as git run there would find it:
 * `{gitDir, commonDir}` (real paths), or undefined when the path is in no
 * repository or cannot be read. A path may be a work tree or anything below
 * it, a git dir or anything below it, or a `.git` file (what GIT_DIR may
 * name). No GIT_CEILING_DIRECTORIES: the question is "could a git working
 * here be working on that repository", and a wider walk only answers yes more
 * often. `cache` shares answers across many processes with the same cwd.
 */
export function repoOfPath(path: string, cache?: Map<string, RepoId | null>): RepoId | undefined {
  const hit = cache?.get(path);
  if (hit !== undefined) return hit ?? undefined;
  let out: RepoId | undefined;
  try {
    let found: Found | undefined;
    const st = statSync(path);
    if (st.isFile()) {
      const target = readGitFile(path);
      if (target && looksLikeGitDir(target)) found = { gitDir: target };
    } else if (st.isDirectory()) found = walkUp(path, {});
    if (found) {
      const gitDir = real(found.gitDir);
      out = { gitDir, commonDir: real(commonDirOf(gitDir)) };
      if (found.workTree !== undefined) out.workTree = real(found.workTree);
    }
  } catch {
    out = undefined;
  }
  cache?.set(path, out ?? null);
  return out;
}

export interface RepoId {
  gitDir: string;
  commonDir: string;
  /** The directory whose `.git` was found, when found from a work tree. */
  workTree?: string;
}
