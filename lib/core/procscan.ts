/**
 * Scans of the process table: who has a file open (fileHolders), which
 * processes work in a directory (processesWorkingIn), and whether liveness
 * can be seen at all for a path (livenessVisibility).
 *
 * Contract:
 * - A `ProcessView` (from `processSnapshot()`) is one lazy, cached look at
 *   the table, from /proc (./procfs.ts) or from ps and lsof (./pstable.ts),
 *   as ./platform.ts chooses. Build one per question batch; do not keep it
 *   across waits: processes that appear after it listed the table are not
 *   seen, so callers that must not miss a holder re-check right before acting.
 * - Other users' processes may be partly hidden (their fds, cwd, environment):
 *   callers decide whether that matters (git-lock treats a lock owned by
 *   another uid as `unknown`).
 * - Paths are compared as the kernel reports them; callers pass real paths
 *   (symlinks resolved). A process in another mount namespace sees other
 *   paths: out of scope.
 */
import { statfsSync } from "node:fs";
import { processBackend } from "./platform";
import { ProcfsSnapshot, readLink, readText } from "./procfs";
import { PsSnapshot } from "./pstable";

export { fileId } from "./procfs";
/** The /proc snapshot by its historical name (tests and /proc-only callers build it directly). */
export { ProcfsSnapshot as ProcSnapshot } from "./procfs";

/** What the scans need from a snapshot; both backends provide it. */
export type ProcessView = Pick<
  ProcfsSnapshot,
  "root" | "pids" | "comm" | "ppid" | "startTime" | "startEpochMs" | "cmdline" | "cwd" | "cwdError" | "envVar" | "exe" | "exeId" | "uid" | "children" | "fdTargets" | "ancestors"
>;

/** A fresh snapshot from this process' backend (./platform.ts). */
export function processSnapshot(): ProcessView {
  return processBackend() === "procfs" ? new ProcfsSnapshot() : new PsSnapshot();
}

export interface FileHolder {
  pid: number;
  comm: string;
  /** The path (one of those asked about) that this process has open. */
  path: string;
}

/**
 * Which live processes have any of `paths` open (a general "who holds this
 * file": git locks, SQLite's DB.lock, ...). `paths` must be real paths.
 * With `under: true` a file anywhere below a given directory counts too.
 * Processes listed in `exclude` (e.g. this one) are skipped. Reads /proc/PID/fd
 * of every visible process once; a deleted file shows as "PATH (deleted)"
 * and does not match.
 */
export function fileHolders(
  paths: readonly string[],
  opts: { snapshot?: ProcessView; under?: boolean; exclude?: ReadonlySet<number> } = {},
): FileHolder[] {
  if (paths.length === 0) return [];
  const snap = opts.snapshot ?? processSnapshot();
  const exact = new Set(paths);
  const dirs = opts.under ? paths.map((p) => (p.endsWith("/") ? p : `${p}/`)) : [];
  const out: FileHolder[] = [];
  for (const pid of snap.pids()) {
    if (opts.exclude?.has(pid)) continue;
    const targets = snap.fdTargets(pid);
    const hit = new Set<string>();
    for (const t of targets) {
      if (exact.has(t)) hit.add(t);
      else if (dirs.length) for (const d of dirs) if (t.startsWith(d)) hit.add(d.slice(0, -1));
    }
    for (const path of hit) out.push({ pid, comm: snap.comm(pid) ?? "?", path });
  }
  return out;
}

/** True when `path` is `dir` or inside it (both real, absolute). */
export function isInside(path: string, dir: string): boolean {
  if (path === dir) return true;
  return path.startsWith(dir.endsWith("/") ? dir : `${dir}/`);
}

export interface WorkingProcess {
  pid: number;
  comm: string;
  /** Why it counts: its cwd, its `envName` variable, or a path from its argv is inside one of the directories. */
  via: "cwd" | "env" | "argv";
}

/**
 * Live processes selected by `isCandidate(comm)` (e.g. git) whose cwd is
 * inside one of `dirs`, or whose `envName` (e.g. GIT_DIR) points inside one.
 * comm is read for every process; cwd and environ only for candidates.
 */
export function processesWorkingIn(
  dirs: readonly string[],
  opts: {
    isCandidate: (comm: string) => boolean;
    envName?: string;
    /** Paths named on the candidate's command line that count like its cwd (e.g. git's -C, --git-dir). */
    argvPaths?: (argv: string[]) => string[];
    snapshot?: ProcessView;
    exclude?: ReadonlySet<number>;
  },
): WorkingProcess[] {
  const snap = opts.snapshot ?? processSnapshot();
  const out: WorkingProcess[] = [];
  for (const pid of snap.pids()) {
    if (opts.exclude?.has(pid)) continue;
    const comm = snap.comm(pid);
    if (comm === undefined || !opts.isCandidate(comm)) continue;
    const cwd = snap.cwd(pid);
    if (cwd !== undefined && dirs.some((d) => isInside(cwd, d))) {
      out.push({ pid, comm, via: "cwd" });
      continue;
    }
    const inside = (p: string): boolean => {
      if (!p.startsWith("/")) {
        if (cwd === undefined) return false;
        p = `${cwd}/${p}`;
      }
      const norm = normalizePath(p);
      return dirs.some((d) => isInside(norm, d));
    };
    if (opts.envName) {
      const v = snap.envVar(pid, opts.envName);
      if (v !== undefined && v !== "" && inside(v)) {
        out.push({ pid, comm, via: "env" });
        continue;
      }
    }
    if (opts.argvPaths) {
      const argv = snap.cmdline(pid);
      if (argv && opts.argvPaths(argv).some(inside)) out.push({ pid, comm, via: "argv" });
    }
  }
  return out;
}

/** `p` with `.`, `..` and repeated slashes resolved lexically (no symlinks followed). */
export function normalizePath(p: string): string {
  const parts: string[] = [];
  for (const seg of p.split("/")) {
    if (seg === "" || seg === ".") continue;
    if (seg === "..") parts.pop();
    else parts.push(seg);
  }
  return `/${parts.join("/")}`;
}

/** statfs(2) magic numbers of file systems whose other clients' processes we cannot see. */
const REMOTE_FS_MAGIC: Record<number, string> = {
  0x6969: "nfs",
  0x517b: "smb",
  0xff534d42: "cifs",
  0xfe534d42: "smb2",
  0x65735546: "fuse",
  0x5346414f: "afs",
  0x00c36400: "ceph",
  0x01021997: "9p",
  0x73757245: "coda",
  0x01161970: "gfs2",
  0x7461636f: "ocfs2",
  0x47504653: "gpfs",
  0x0bd00bd0: "lustre",
};

export interface Visibility {
  visible: boolean;
  /** Why not, when not: "no /proc", "another pid namespace", "network file system (nfs)". */
  reason?: string;
}

/**
 * Can this process see every process that could hold a lock under `path`?
 * Not when /proc is missing, when the mounted /proc belongs to another pid
 * namespace (readlink /proc/self is not our pid), or when `path` lives on a
 * network or FUSE file system (clients on other hosts are invisible).
 */
export function livenessVisibility(path: string, root = "/proc"): Visibility {
  if (processBackend() === "portable") return portableVisibility(path);
  const self = readLink(`${root}/self`);
  if (self === undefined) return { visible: false, reason: "no /proc" };
  if (self !== String(process.pid)) return { visible: false, reason: "another pid namespace" };
  try {
    const type = Number(statfsSync(path).type) >>> 0;
    const name = REMOTE_FS_MAGIC[type];
    if (name) return { visible: false, reason: `network file system (${name})` };
  } catch {
    /* no statfs: fall back to mountinfo below */
  }
  const fstype = mountFsType(path, root);
  if (fstype && /^(nfs|nfs4|cifs|smb3?|fuse(\..*)?|9p|afs|ceph|glusterfs|lustre|gpfs)$/.test(fstype)) {
    return { visible: false, reason: `network file system (${fstype})` };
  }
  return { visible: true };
}

/** fstype of the mount holding `path` (longest mount point prefix in /proc/self/mountinfo). */
export function mountFsType(path: string, root = "/proc"): string | undefined {
  const text = readText(`${root}/self/mountinfo`);
  if (text === undefined) return undefined;
  let best = -1;
  let type: string | undefined;
  for (const line of text.split("\n")) {
    const f = line.split(" ");
    const mp = f[4]?.replace(/\\040/g, " ");
    const sep = f.indexOf("-");
    if (!mp || sep < 0) continue;
    if (isInside(path, mp) && mp.length > best) {
      best = mp.length;
      type = f[sep + 1];
    }
  }
  return type;
}

/**
 * Without /proc: only the file system can hide holders (its other clients are
 * on other hosts). statfs(2) type numbers are Linux's, so elsewhere the mount
 * table of `mount(8)` names the file system type.
 */
function portableVisibility(path: string): Visibility {
  if (process.platform === "linux") {
    try {
      const name = REMOTE_FS_MAGIC[Number(statfsSync(path).type) >>> 0];
      if (name) return { visible: false, reason: `network file system (${name})` };
    } catch {
      /* cannot tell: local, as on the procfs path */
    }
    return { visible: true };
  }
  try {
    const out = Bun.spawnSync(["mount"], { stdout: "pipe", stderr: "ignore" }).stdout.toString();
    let best = -1;
    let type = "";
    for (const line of out.split("\n")) {
      // macOS / BSD: `dev on /mount/point (type, flags...)`
      const m = / on (.+) \(([^,)]+)/.exec(line);
      if (m && isInside(path, m[1]!) && m[1]!.length > best) {
        best = m[1]!.length;
        type = m[2]!;
      }
    }
    if (/^(nfs|smbfs|afpfs|webdav|cifs|fuse|osxfuse|macfuse)/.test(type)) return { visible: false, reason: `network file system (${type})` };
  } catch {
    /* no mount(8): local */
  }
  return { visible: true };
}
