/**
 * Linux's process table as /proc shows it (proc(5)): the `procfs` backend of
 * ./platform.ts. Small readers used by ./liveness.ts, and `ProcfsSnapshot`,
 * the lazy per-question view that ./procscan.ts scans.
 *
 * Contract:
 * - A snapshot lists /proc once and reads each /proc/PID/<file> at most once,
 *   lazily, only when a question needs it (comm before cwd/environ, fds only
 *   for the fd scan). A scan of ~300 processes therefore costs one readdir of
 *   /proc plus the reads the question needs.
 * - Processes come and go during a scan: a pid that vanished reads as empty
 *   (no comm, no fds); a process that appears after the listing is not seen.
 *   Callers that must not miss a holder re-check right before acting.
 * - Other users' /proc/PID/{fd,cwd,environ,exe} are unreadable unless root
 *   (EACCES): those processes are invisible to the fd and cwd scans.
 * - Paths are as the kernel reports them in readlink(2) of
 *   /proc/PID/{fd/N,cwd,exe}. A process in another mount namespace sees other
 *   paths: out of scope.
 * - Start times are clock ticks since boot (field 22 of /proc/PID/stat),
 *   USER_HZ = 100 on every Linux ABI.
 */
import { readdirSync, readFileSync, readlinkSync, statSync } from "node:fs";
import { errnoOf } from "./errors";

export function readText(path: string): string | undefined {
  try {
    return readFileSync(path, "latin1");
  } catch {
    return undefined;
  }
}

export function readLink(path: string): string | undefined {
  try {
    return readlinkSync(path);
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

export interface ProcStat {
  /** One letter (ps(1) STATE): R, S, D, Z (zombie), T, X, ... */
  state: string;
  ppid: number;
  pgrp: number;
  /** When the process started, in the backend's clock (./liveness.ts startClock). */
  startTime: number;
}

/** state, ppid, pgrp and start ticks from /proc/PID/stat (proc(5) fields 3, 4, 5, 22). */
export function procfsStat(pid: number, root = "/proc"): ProcStat | undefined {
  const s = readText(`${root}/${pid}/stat`);
  if (s === undefined) return undefined;
  // comm (field 2) may contain spaces and parentheses: split after the LAST ')'.
  const rest = s.slice(s.lastIndexOf(")") + 2).split(" ");
  const st = { state: rest[0] ?? "", ppid: Number(rest[1]), pgrp: Number(rest[2]), startTime: Number(rest[19]) };
  return Number.isFinite(st.pgrp) && Number.isFinite(st.startTime) ? st : undefined;
}

/** Every pid listed in /proc; undefined when /proc cannot be listed. */
export function procfsPids(root = "/proc"): number[] | undefined {
  let names: string[];
  try {
    names = readdirSync(root);
  } catch {
    return undefined;
  }
  const out: number[] = [];
  for (const n of names) {
    const c = n.charCodeAt(0);
    if (c >= 48 && c <= 57) out.push(Number(n));
  }
  return out;
}

/** True when the /proc at `root` shows this process' own pid namespace (readlink /proc/self is our pid). */
export function procfsIsOurs(root = "/proc"): boolean {
  return readLink(`${root}/self`) === String(process.pid);
}

interface ProcEntry {
  comm?: string | null;
  stat?: ProcStat | null;
  cmdline?: string[] | null;
  cwd?: string | null;
  environ?: Map<string, string> | null;
  fds?: string[] | null;
  cwdErr?: string;
  exe?: string | null;
  exeId?: string | null;
  uid?: number | null;
  children?: number[];
}

/** One lazy, cached view of /proc. Build one per question batch; do not keep it across waits. */
export class ProcfsSnapshot {
  private pidList: number[] | undefined;
  private readonly entries = new Map<number, ProcEntry>();
  constructor(readonly root: string = "/proc") {}

  /** Every pid visible in /proc (listed once). Empty when /proc is missing. */
  pids(): number[] {
    return (this.pidList ??= procfsPids(this.root) ?? []);
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

  private stat(pid: number): ProcStat | undefined {
    const e = this.entry(pid);
    if (e.stat === undefined) e.stat = procfsStat(pid, this.root) ?? null;
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
   * the start ticks). Precise to ~20 ms while the wall clock is not stepped;
   * undefined when unreadable.
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
        e.cwdErr = errnoOf(err) ?? "EIO";
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

  /** Real uid the process runs as (owner of /proc/PID). */
  uid(pid: number): number | undefined {
    const e = this.entry(pid);
    if (e.uid === undefined) {
      try {
        e.uid = statSync(`${this.root}/${pid}`).uid;
      } catch {
        e.uid = null;
      }
    }
    return e.uid ?? undefined;
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
    return ancestorsOf(pid, (p) => this.ppid(p));
  }
}

/** Ancestors by a ppid lookup, parent first, up to (excluding) pid 0; a cycle ends the walk. */
export function ancestorsOf(pid: number, ppid: (pid: number) => number | undefined): number[] {
  const out: number[] = [];
  const seen = new Set<number>([pid]);
  let p = ppid(pid);
  while (p !== undefined && p > 0 && !seen.has(p)) {
    out.push(p);
    seen.add(p);
    p = ppid(p);
  }
  return out;
}
