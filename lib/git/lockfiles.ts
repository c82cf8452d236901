/**
 * Enumerate the lock files git (and hardshell) create in a repository
 * (design.md §4), reading the git dir directly.
 *
 * git's locking (lockfile.h, Documentation/technical/api-lockfile): to change
 * FILE, git creates `FILE.lock` with O_CREAT|O_EXCL, writes the new content
 * into it and renames it over FILE (commit) or unlinks it (rollback). A crash
 * between the two leaves `FILE.lock` behind, and every later git refuses to
 * touch FILE ("Unable to create '.../index.lock': File exists"). With
 * `core.lockfilePid` (recent git), git also writes `FILE~pid.lock` holding
 * `pid <n>`: that holder record is attached to its lock here, never listed on
 * its own.
 *
 * Listed: top-level `*.lock` of the common dir and of each worktree's private
 * dir (index, HEAD, ORIG_HEAD, FETCH_HEAD, config, packed-refs, shallow, ...),
 * `refs/**\/*.lock`, `logs/**\/*.lock`, `objects/info/*.lock` (and
 * `objects/info/commit-graphs/`), `objects/pack/multi-pack-index*.lock` (and
 * `multi-pack-index.d/`), `worktrees/*\/*.lock`, `reftable/*.lock`, `gc.pid`,
 * and hardshell's run locks `hardshell-NAME.lock` (directories, design.md §3.1).
 * Also `packed-refs.new`: git writes the new packed-refs there (create_tempfile,
 * O_EXCL) while it holds packed-refs.lock, so a pack-refs killed in between leaves
 * it behind and every later pack-refs fails with "unable to create file
 * .../packed-refs.new: File exists" — lock debris in all but name. It is
 * judged like a lock; it has no holder record.
 * Not walked: objects/ (loose objects never get .lock files), modules/
 * (submodules are repositories of their own: run git-lock there).
 *
 * Everything is lstat'ed, never followed: a symlink named `x.lock` is listed
 * (so it can be reported) with `type: "symlink"` and is never removed.
 * Concurrent git may create or remove locks during the walk; a lock that
 * vanishes between readdir and lstat is simply not listed.
 */
import { lstatSync, readdirSync, readFileSync, type Stats } from "node:fs";
import { basename, join } from "node:path";
import type { GitRepo } from "./repo";

export type LockKind =
  | "index"
  | "head"
  | "config"
  | "packed-refs"
  | "ref"
  | "reflog"
  | "shallow"
  | "objects"
  | "reftable"
  | "gc-pid"
  | "run"
  | "other";

export interface LockFile {
  /** Absolute path (inside the real git dir). */
  path: string;
  kind: LockKind;
  type: "file" | "dir" | "symlink" | "other";
  size: number;
  mtimeMs: number;
  /** Last inode change: never earlier than the lock's creation, and `touch -d` cannot move it back. */
  ctimeMs: number;
  dev: number;
  ino: number;
  uid: number;
  /** The git dir (common or a worktree's private dir) this lock lives in. */
  gitDir: string;
  /** `<name>~pid.lock` beside it, if any: path and the pid it names (undefined if unreadable). */
  pidRecord?: { path: string; pid?: number };
}

/** True for git's holder record names (`<name>~pid.lock`). */
export function isPidRecordName(name: string): boolean {
  return name.endsWith("~pid.lock");
}

/** The holder record path for a lock path: `a/b.lock` -> `a/b~pid.lock`. */
export function pidRecordPathFor(lockPath: string): string {
  return `${lockPath.slice(0, -".lock".length)}~pid.lock`;
}

/** Parse a holder record (`pid <n>`). */
export function parsePidRecord(text: string): number | undefined {
  const m = /^\s*pid\s+(\d+)\s*$/m.exec(text);
  return m ? Number(m[1]) : undefined;
}

/** Parse gc.pid (`<pid> <hostname>`, as written by `git gc`). */
export function parseGcPid(text: string): { pid: number; host: string } | undefined {
  const m = /^\s*(\d+)\s+(\S+)/.exec(text);
  return m ? { pid: Number(m[1]), host: m[2]! } : undefined;
}

function kindOf(rel: string): LockKind {
  const name = basename(rel);
  if (rel.startsWith("refs/")) return "ref";
  if (rel.startsWith("logs/")) return "reflog";
  if (rel.startsWith("objects/")) return "objects";
  if (rel.startsWith("reftable/")) return "reftable";
  if (name === "gc.pid") return "gc-pid";
  if (name.startsWith("hardshell-") && name.endsWith(".lock")) return "run";
  switch (name) {
    case "index.lock":
      return "index";
    case "config.lock":
    case "config.worktree.lock":
      return "config";
    case "packed-refs.lock":
    case "packed-refs.new":
      return "packed-refs";
    case "shallow.lock":
      return "shallow";
  }
  if (/^[A-Z_]*HEAD\.lock$/.test(name)) return "head";
  return "other";
}

function typeOf(st: Stats): LockFile["type"] {
  if (st.isSymbolicLink()) return "symlink";
  if (st.isFile()) return "file";
  if (st.isDirectory()) return "dir";
  return "other";
}

class Collector {
  readonly out: LockFile[] = [];
  private readonly seen = new Set<string>();

  add(gitDir: string, rel: string): void {
    const path = join(gitDir, rel);
    if (this.seen.has(path)) return;
    let st: Stats;
    try {
      st = lstatSync(path);
    } catch {
      return; // vanished: released by its git
    }
    this.seen.add(path);
    const lock: LockFile = {
      path,
      kind: kindOf(rel),
      type: typeOf(st),
      size: st.size,
      mtimeMs: st.mtimeMs,
      ctimeMs: st.ctimeMs,
      dev: st.dev,
      ino: st.ino,
      uid: st.uid,
      gitDir,
    };
    if (lock.kind !== "gc-pid" && lock.kind !== "run" && path.endsWith(".lock")) {
      const rec = pidRecordPathFor(path);
      try {
        const rst = lstatSync(rec);
        let pid: number | undefined;
        if (rst.isFile()) {
          try {
            pid = parsePidRecord(readFileSync(rec, "latin1"));
          } catch {
            pid = undefined;
          }
        }
        lock.pidRecord = { path: rec, pid };
      } catch {
        /* no record */
      }
    }
    this.out.push(lock);
  }

  /** `*.lock` entries of one directory (not recursive). */
  flat(gitDir: string, relDir: string, accept: (name: string) => boolean = (n) => n.endsWith(".lock")): void {
    let names: string[];
    try {
      names = readdirSync(relDir ? join(gitDir, relDir) : gitDir);
    } catch {
      return;
    }
    for (const n of names) if (accept(n) && !isPidRecordName(n)) this.add(gitDir, relDir ? `${relDir}/${n}` : n);
  }

  /** `**\/*.lock` below a directory (refs/, logs/): one readdir per directory, file types from readdir. */
  deep(gitDir: string, relDir: string): void {
    let entries;
    try {
      entries = readdirSync(join(gitDir, relDir), { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      const rel = `${relDir}/${e.name}`;
      if (e.isDirectory()) this.deep(gitDir, rel);
      else if (e.name.endsWith(".lock") && !isPidRecordName(e.name)) this.add(gitDir, rel);
    }
  }
}

/** Every lock of the repository: common dir, and every linked worktree's private dir. */
export function listLocks(repo: GitRepo): LockFile[] {
  const c = new Collector();
  const common = repo.commonDir;
  c.flat(common, "", (n) => n.endsWith(".lock") || n === "gc.pid" || n === "packed-refs.new");
  c.deep(common, "refs");
  c.deep(common, "logs");
  c.flat(common, "objects/info");
  c.flat(common, "objects/info/commit-graphs");
  c.flat(common, "objects/pack", (n) => n.startsWith("multi-pack-index") && n.endsWith(".lock"));
  c.flat(common, "objects/pack/multi-pack-index.d");
  c.flat(common, "reftable");
  const privateDirs = new Set(repo.worktreeGitDirs);
  if (repo.gitDir !== common) privateDirs.add(repo.gitDir);
  for (const wgd of privateDirs) {
    c.flat(wgd, "");
    c.deep(wgd, "refs");
    c.deep(wgd, "logs");
  }
  return c.out;
}

/**
 * Describe one named path as a lock (for `status -- PATH`) when it is not in
 * the enumerated set but is a `*.lock` or `gc.pid` directly inside a git dir.
 */
export function lockAt(gitDir: string, rel: string): LockFile | undefined {
  const c = new Collector();
  c.add(gitDir, rel);
  return c.out[0];
}
