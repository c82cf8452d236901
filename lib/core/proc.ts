/**
 * Process liveness, the one module every command asks "is this owner still
 * alive?" (lock owners, temp-file owners, git lock holders).
 *
 * Answers are three-way and `unknown` is never treated as dead:
 * - `running`: the pid exists on this host (kill(pid, 0) succeeds or says
 *   EPERM) and, when a start time was recorded, /proc says the same start
 *   time — so a recycled pid is not mistaken for the owner.
 * - `dead`: this host, kill(pid, 0) says ESRCH, or the pid now belongs to a
 *   process that started at another time.
 * - `unknown`: another host (a lock on NFS written elsewhere), no pid, or no
 *   way to look (no /proc, another pid namespace).
 *
 * Assumes Linux /proc for start times; without /proc only ESRCH is trusted.
 * Which processes have a file open or work in a directory, what executable a
 * process runs and its children: see the /proc scans below (ProcSnapshot,
 * fileHolders, processesWorkingIn).
 */
import { readdirSync, readFileSync, readlinkSync, statfsSync, statSync } from "node:fs";
import { hostname } from "node:os";

export type Liveness = "running" | "dead" | "unknown";

let cachedHost: string | undefined;
/** This machine's host name, as recorded in lock owner records. */
export function thisHost(): string {
  return (cachedHost ??= hostname());
}

/**
 * Start time of a process in clock ticks since boot (field 22 of
 * /proc/PID/stat, proc(5)), or undefined when it cannot be read.
 */
export function processStartTime(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "latin1");
    // comm (field 2) may contain spaces and parentheses: split after the LAST ')'.
    const rest = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    const start = Number(rest[19]); // fields 3.. are rest[0..]; field 22 -> rest[19]
    return Number.isFinite(start) ? start : undefined;
  } catch {
    return undefined;
  }
}

/** Liveness of `pid` on `host` (default: this host), optionally pinned to a recorded start time. */
export function pidLiveness(pid: number | undefined, opts: { host?: string; startTime?: number } = {}): Liveness {
  if (pid === undefined || !Number.isInteger(pid) || pid <= 0) return "unknown";
  if (opts.host !== undefined && opts.host !== thisHost()) return "unknown";
  try {
    process.kill(pid, 0);
  } catch (err) {
    const code = (err as { code?: string }).code;
    if (code === "ESRCH") return "dead";
    if (code !== "EPERM") return "unknown";
  }
  if (opts.startTime !== undefined) {
    const now = processStartTime(pid);
    if (now === undefined) return "running"; // cannot compare: the pid exists, so assume the owner
    if (now !== opts.startTime) return "dead"; // the pid was recycled by another process
  }
  return "running";
}

/* ------------------------------------------------------------------------
 * /proc scans (proc(5)): who has a file open, which processes work where,
 * comm / ppid / argv, and whether liveness is visible at all.
 *
 * Contract:
 * - A `ProcSnapshot` lists /proc once and reads each /proc/PID/<file> at most
 *   once, lazily, only when a question needs it (comm before cwd/environ,
 *   fds only for the fd scan). A scan of ~300 processes therefore costs one
 *   readdir of /proc plus the reads the question needs.
 * - Processes come and go during a scan: a pid that vanished reads as empty
 *   (no comm, no fds); a process that appears after the listing is not seen.
 *   Callers that must not miss a holder re-check right before acting.
 * - Other users' /proc/PID/{fd,cwd,environ} are unreadable unless root
 *   (EACCES): those processes are invisible to the fd and cwd scans. Callers
 *   decide whether that matters (git-lock treats a lock owned by another uid
 *   as `unknown`).
 * - Paths are compared as the kernel reports them in readlink(2) of
 *   /proc/PID/{fd/N,cwd}; callers pass real paths (symlinks resolved). A
 *   process in another mount namespace sees other paths: out of scope.
 * ---------------------------------------------------------------------- */

interface ProcEntry {
  comm?: string | null;
  stat?: { ppid: number; startTime: number } | null;
  cmdline?: string[] | null;
  cwd?: string | null;
  environ?: Map<string, string> | null;
  fds?: string[] | null;
  cwdErr?: string;
  exe?: string | null;
  exeId?: string | null;
  children?: number[];
}

/** One lazy, cached view of /proc. Build one per question batch; do not keep it across waits. */
export class ProcSnapshot {
  private pidList: number[] | undefined;
  private readonly entries = new Map<number, ProcEntry>();
  constructor(readonly root: string = "/proc") {}

  /** Every pid visible in /proc (listed once). Empty when /proc is missing. */
  pids(): number[] {
    if (this.pidList) return this.pidList;
    let names: string[] = [];
    try {
      names = readdirSync(this.root);
    } catch {
      names = [];
    }
    const out: number[] = [];
    for (const n of names) {
      const c = n.charCodeAt(0);
      if (c >= 48 && c <= 57) out.push(Number(n));
    }
    return (this.pidList = out);
  }

  private entry(pid: number): ProcEntry {
    let e = this.entries.get(pid);
    if (!e) this.entries.set(pid, (e = {}));
    return e;
  }

  /** Executable name (comm, at most 15 bytes), or undefined when gone. */
  comm(pid: number): string | undefined {
    const e = this.entry(pid);
    if (e.comm === undefined) e.comm = readText(`${this.root}/${pid}/comm`)?.replace(/\n$/, "") ?? null;
    return e.comm ?? undefined;
  }

  private stat(pid: number): { ppid: number; startTime: number } | undefined {
    const e = this.entry(pid);
    if (e.stat === undefined) {
      const s = readText(`${this.root}/${pid}/stat`);
      if (s === undefined) e.stat = null;
      else {
        const rest = s.slice(s.lastIndexOf(")") + 2).split(" ");
        e.stat = { ppid: Number(rest[1]), startTime: Number(rest[19]) };
      }
    }
    return e.stat ?? undefined;
  }

  /** Parent pid (field 4 of /proc/PID/stat), or undefined when gone. */
  ppid(pid: number): number | undefined {
    return this.stat(pid)?.ppid;
  }

  startTime(pid: number): number | undefined {
    return this.stat(pid)?.startTime;
  }

  private bootMs: number | null | undefined;
  /**
   * When the process started, in epoch ms (boot time from /proc/uptime plus
   * the start ticks, USER_HZ = 100 as on every Linux ABI). Precise to ~20 ms
   * while the wall clock is not stepped; undefined when unreadable.
   */
  startEpochMs(pid: number): number | undefined {
    if (this.bootMs === undefined) {
      const up = Number(readText(`${this.root}/uptime`)?.split(" ")[0]);
      this.bootMs = Number.isFinite(up) ? Date.now() - up * 1000 : null;
    }
    const ticks = this.startTime(pid);
    if (this.bootMs === null || ticks === undefined || !Number.isFinite(ticks)) return undefined;
    return this.bootMs + ticks * 10;
  }

  /** argv as the process set it (NUL-separated /proc/PID/cmdline). */
  cmdline(pid: number): string[] | undefined {
    const e = this.entry(pid);
    if (e.cmdline === undefined) {
      const s = readText(`${this.root}/${pid}/cmdline`);
      e.cmdline = s === undefined ? null : s.split("\0").filter((w, i, a) => i < a.length - 1 || w !== "");
    }
    return e.cmdline ?? undefined;
  }

  /** Current working directory, or undefined when unreadable (gone, other user). */
  cwd(pid: number): string | undefined {
    const e = this.entry(pid);
    if (e.cwd === undefined) {
      try {
        e.cwd = readlinkSync(`${this.root}/${pid}/cwd`);
      } catch (err) {
        e.cwd = null;
        e.cwdErr = (err as { code?: string }).code ?? "EIO";
      }
    }
    return e.cwd ?? undefined;
  }

  /**
   * Why cwd() is undefined: ENOENT/ESRCH when the process has no working
   * directory any more (exited, a zombie, in do_exit, a kernel thread), EACCES
   * when it is hidden from us (another user, not dumpable).
   */
  cwdError(pid: number): string | undefined {
    this.cwd(pid);
    return this.entry(pid).cwdErr;
  }

  /** One variable of the process' initial environment (/proc/PID/environ). */
  envVar(pid: number, name: string): string | undefined {
    const e = this.entry(pid);
    if (e.environ === undefined) {
      const s = readText(`${this.root}/${pid}/environ`);
      if (s === undefined) e.environ = null;
      else {
        const m = new Map<string, string>();
        for (const kv of s.split("\0")) {
          const i = kv.indexOf("=");
          if (i > 0) m.set(kv.slice(0, i), kv.slice(i + 1));
        }
        e.environ = m;
      }
    }
    return e.environ?.get(name);
  }

  /**
   * Path of the executable the process runs (readlink of /proc/PID/exe):
   * the file behind any symlink it was started through, whatever its argv[0]
   * or comm says. " (deleted)" (the binary was replaced since, e.g. by an
   * upgrade) is stripped. Undefined for kernel threads, vanished processes and,
   * unless root, other users' processes (ptrace access is needed).
   */
  exe(pid: number): string | undefined {
    const e = this.entry(pid);
    if (e.exe === undefined) e.exe = readLink(`${this.root}/${pid}/exe`)?.replace(/ \(deleted\)$/, "") ?? null;
    return e.exe ?? undefined;
  }

  /** `dev:ino` of the executable (stat of /proc/PID/exe): names a binary whatever path or hard link ran it. */
  exeId(pid: number): string | undefined {
    const e = this.entry(pid);
    if (e.exeId === undefined) e.exeId = fileId(`${this.root}/${pid}/exe`) ?? null;
    return e.exeId ?? undefined;
  }

  /**
   * Direct children (/proc/PID/task/TID/children of every thread, proc(5));
   * where the kernel lacks that file, found by scanning every process' ppid.
   */
  children(pid: number): number[] {
    const e = this.entry(pid);
    if (e.children) return e.children;
    let tids: string[] | undefined;
    try {
      tids = readdirSync(`${this.root}/${pid}/task`);
    } catch {
      tids = undefined;
    }
    const out = new Set<number>();
    let complete = tids !== undefined;
    for (const t of tids ?? []) {
      const s = readText(`${this.root}/${pid}/task/${t}/children`);
      if (s === undefined) {
        complete = false;
        break;
      }
      for (const c of s.split(" ")) if (c.trim()) out.add(Number(c));
    }
    if (!complete) {
      out.clear();
      for (const p of this.pids()) if (this.ppid(p) === pid) out.add(p);
    }
    return (e.children = [...out]);
  }

  /** Targets of every open fd (readlink of /proc/PID/fd/N). */
  fdTargets(pid: number): string[] {
    const e = this.entry(pid);
    if (e.fds === undefined) {
      let names: string[];
      try {
        names = readdirSync(`${this.root}/${pid}/fd`);
      } catch {
        e.fds = null;
        return [];
      }
      const out: string[] = [];
      for (const n of names) {
        const t = readLink(`${this.root}/${pid}/fd/${n}`);
        if (t !== undefined && t.charCodeAt(0) === 47 /* '/' */) out.push(t);
      }
      e.fds = out;
    }
    return e.fds ?? [];
  }

  /** `pid`'s ancestors, parent first, up to (excluding) pid 0. */
  ancestors(pid: number): number[] {
    const out: number[] = [];
    const seen = new Set<number>([pid]);
    let p = this.ppid(pid);
    while (p !== undefined && p > 0 && !seen.has(p)) {
      out.push(p);
      seen.add(p);
      p = this.ppid(p);
    }
    return out;
  }
}

function readText(path: string): string | undefined {
  try {
    return readFileSync(path, "latin1");
  } catch {
    return undefined;
  }
}

/** `dev:ino` of a file (following symlinks), or undefined. */
export function fileId(path: string): string | undefined {
  try {
    const st = statSync(path);
    return `${st.dev}:${st.ino}`;
  } catch {
    return undefined;
  }
}

function readLink(path: string): string | undefined {
  try {
    return readlinkSync(path);
  } catch {
    return undefined;
  }
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
  opts: { snapshot?: ProcSnapshot; under?: boolean; exclude?: ReadonlySet<number> } = {},
): FileHolder[] {
  if (paths.length === 0) return [];
  const snap = opts.snapshot ?? new ProcSnapshot();
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
    snapshot?: ProcSnapshot;
    exclude?: ReadonlySet<number>;
  },
): WorkingProcess[] {
  const snap = opts.snapshot ?? new ProcSnapshot();
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

function normalizePath(p: string): string {
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
 * True once `pid` has exited: gone (ESRCH) or a zombie awaiting its parent's
 * wait (state `Z` in /proc/PID/stat). Lets a synchronous signal cleanup wait
 * for a child it signalled without the event loop (which would reap it).
 */
export function hasExited(pid: number, root = "/proc"): boolean {
  const s = readText(`${root}/${pid}/stat`);
  if (s !== undefined) {
    const state = s.charAt(s.lastIndexOf(")") + 2);
    return state === "Z" || state === "X";
  }
  try {
    process.kill(pid, 0);
    return false;
  } catch (err) {
    return (err as { code?: string }).code === "ESRCH";
  }
}

/* ------------------------------------------------------------------------
 * Job liveness: is the command a lock was held around still running?
 *
 * A wrapper (git-lock run, atomit-write --lock -- CMD) can die by SIGKILL
 * while its command runs on, re-parented to init. The lock it held must stay
 * live for as long as that command, or the job it started, runs. A job is
 * recorded as the command's pid and start time, plus a process group when
 * the group belongs to the job (see lib/core/lock.ts adoptChild).
 *
 * Pid reuse: the command counts only while /proc/PID/stat shows the recorded
 * start time. A process group id is the pid of its first leader; Linux does
 * not hand that pid out again while any process still has it as its pgid
 * (the struct pid stays referenced), so a member whose leader is gone is a
 * member of the recorded group. When a process with pid == pgid exists, its
 * start time must be the recorded leader's, or the group was recycled.
 * A zombie (state Z/X) has finished: it counts as dead, so a job whose
 * orphans are never reaped (pid 1 that does not wait) still ends.
 * Assumes /proc shows every process: group members of other users hidden by
 * a hidepid mount are not seen (the command's own pid still is, via kill(2)).
 * ---------------------------------------------------------------------- */

export interface JobRecord {
  pid: number;
  /** /proc start ticks of `pid`. */
  startTime: number;
  /** The job's own process group, when it has one. */
  pgid?: number;
  /** Start ticks of the group's leader (pid == pgid) when the group was recorded. */
  pgidStart?: number;
}

/** state, pgrp and start ticks from /proc/PID/stat (proc(5) fields 3, 5, 22). */
export function procStat(pid: number, root = "/proc"): { state: string; ppid: number; pgrp: number; startTime: number } | undefined {
  const s = readText(`${root}/${pid}/stat`);
  if (s === undefined) return undefined;
  const rest = s.slice(s.lastIndexOf(")") + 2).split(" ");
  const st = { state: rest[0] ?? "", ppid: Number(rest[1]), pgrp: Number(rest[2]), startTime: Number(rest[19]) };
  return Number.isFinite(st.pgrp) && Number.isFinite(st.startTime) ? st : undefined;
}

function finished(state: string): boolean {
  return state === "Z" || state === "X" || state === "x";
}

/**
 * Is the recorded job (command and its process group) still running on this
 * host? Three-way: `unknown` when /proc cannot be read or shows another pid
 * namespace, never `dead` on doubt.
 */
export function jobLiveness(job: JobRecord, opts: { host?: string; root?: string } = {}): Liveness {
  return probeJob(job, opts).live;
}

/** jobLiveness, plus the live process that makes it `running` (the command, or a member of its group). */
export function probeJob(job: JobRecord, opts: { host?: string; root?: string } = {}): { live: Liveness; pid?: number } {
  const unknown = { live: "unknown" as const };
  const dead = { live: "dead" as const };
  if (opts.host !== undefined && opts.host !== thisHost()) return unknown;
  if (!Number.isInteger(job.pid) || job.pid <= 0) return unknown;
  const root = opts.root ?? "/proc";
  const self = readLink(`${root}/self`);
  if (self === undefined || self !== String(process.pid)) return unknown;
  const st = procStat(job.pid, root);
  if (st && st.startTime === job.startTime && !finished(st.state)) return { live: "running", pid: job.pid };
  if (!st) {
    // No stat: gone, unless kill(2) still sees it (/proc mounted hidepid hides other users'
    // processes): then, as pidLiveness does when it cannot compare start times, it is the job.
    try {
      process.kill(job.pid, 0);
      return { live: "running", pid: job.pid };
    } catch (err) {
      const code = (err as { code?: string }).code;
      if (code === "EPERM") return { live: "running", pid: job.pid };
      if (code !== "ESRCH") return unknown;
    }
  }
  if (job.pgid === undefined || !Number.isInteger(job.pgid) || job.pgid <= 0) return dead;
  const leader = procStat(job.pgid, root);
  if (leader && job.pgidStart !== undefined && leader.startTime !== job.pgidStart) {
    // pid == pgid belongs to another process now: only possible once every member of the recorded group was gone.
    return dead;
  }
  let names: string[];
  try {
    names = readdirSync(root);
  } catch {
    return unknown;
  }
  for (const n of names) {
    const c = n.charCodeAt(0);
    if (c < 48 || c > 57) continue;
    const m = procStat(Number(n), root);
    if (m && m.pgrp === job.pgid && !finished(m.state)) return { live: "running", pid: Number(n) };
  }
  return dead;
}
