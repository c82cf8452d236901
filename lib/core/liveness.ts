/**
 * Process liveness: the one module every command asks "is this owner still
 * alive?" (lock owners, temp-file owners, git lock holders) and "is the job a
 * lock was held around still running?".
 *
 * Answers are three-way and `unknown` is never treated as dead:
 * - `running`: the pid exists on this host (kill(pid, 0) succeeds or says
 *   EPERM) and, when a start time was recorded in the clock this process
 *   reads, the process has that start time — so a recycled pid is not
 *   mistaken for the owner.
 * - `dead`: this host, kill(pid, 0) says ESRCH, or the pid now belongs to a
 *   process that started at another time.
 * - `unknown`: another host (a lock on NFS written elsewhere), no pid, or no
 *   way to look (another pid namespace, no ps).
 *
 * Start times come from the process backend (./platform.ts): /proc ticks
 * since boot (`procfs`) or ps(1) lstart in epoch seconds (`portable`). A
 * record names its clock (`clock: "ps"`; absent = /proc ticks), and a start
 * time in another clock than ours is not compared: the pid's existence decides,
 * as when no start time was recorded.
 *
 * Job liveness. A wrapper (git-lock run, atomic-write --lock -- CMD) can die by
 * SIGKILL while its command runs on, re-parented to init. The lock it held
 * must stay live for as long as that command, or the job it started, runs. A
 * job is recorded as the command's pid and start time, plus a process group
 * when the group belongs to the job (./dirlock.ts adoptChild).
 * Pid reuse: the command counts only while its start time is the recorded
 * one. A process group id is the pid of its first leader; the kernel does not
 * hand that pid out again while any process still has it as its pgid, so a
 * member whose leader is gone is a member of the recorded group. When a
 * process with pid == pgid exists, its start time must be the recorded
 * leader's, or the group was recycled. A zombie (state Z/X) has finished: it
 * counts as dead, so a job whose orphans are never reaped (a pid 1 that does
 * not wait) still ends. Assumes the process table shows every process: group
 * members of other users hidden by a hidepid /proc are not seen (the
 * command's own pid still is, via kill(2)).
 */
import { errnoOf } from "./errors";
import { processBackend } from "./platform";
import { procfsIsOurs, procfsPids, procfsStat, type ProcStat } from "./procfs";
import { psStat, psTable } from "./pstable";

export type Liveness = "running" | "dead" | "unknown";
export type { ProcStat } from "./procfs";

/** The clock start times are recorded in: /proc ticks since boot, or ps lstart epoch seconds. */
export type StartClock = "procfs" | "ps";

/** This process' clock for start times (./platform.ts). */
export function startClock(): StartClock {
  return processBackend() === "procfs" ? "procfs" : "ps";
}

/** The field a record stores for its clock: nothing for /proc ticks (records written before the field existed), "ps" otherwise. */
export function clockTag(): { clock?: "ps" } {
  return startClock() === "ps" ? { clock: "ps" } : {};
}

function sameClock(recorded: "ps" | undefined): boolean {
  return (recorded ?? "procfs") === startClock();
}

let cachedHost: string | undefined;
/** This machine's host name, as recorded in lock owner records. */
export function thisHost(): string {
  // Required here, not imported: node:os costs start-up on every call, and only lock records need the name.
  return (cachedHost ??= (require("node:os") as typeof import("node:os")).hostname());
}

/** state, ppid, pgrp and start time of `pid` from this process' backend; undefined when gone or unreadable. */
export function procStat(pid: number, root = "/proc"): ProcStat | undefined {
  return processBackend() === "procfs" ? procfsStat(pid, root) : psStat(pid);
}

/** Start time of a process in this process' clock (startClock), or undefined when it cannot be read. */
export function processStartTime(pid: number): number | undefined {
  return procStat(pid)?.startTime;
}

/** kill(pid, 0): "running" (exists, maybe another user's), "dead" (ESRCH), "unknown" (any other failure). */
function signalProbe(pid: number): Liveness {
  try {
    process.kill(pid, 0);
    return "running";
  } catch (err) {
    const code = errnoOf(err);
    if (code === "ESRCH") return "dead";
    return code === "EPERM" ? "running" : "unknown";
  }
}

/** Liveness of `pid` on `host` (default: this host), optionally pinned to a recorded start time in `clock`. */
export function pidLiveness(pid: number | undefined, opts: { host?: string; startTime?: number; clock?: "ps" } = {}): Liveness {
  if (pid === undefined || !Number.isInteger(pid) || pid <= 0) return "unknown";
  if (opts.host !== undefined && opts.host !== thisHost()) return "unknown";
  const probe = signalProbe(pid);
  if (probe !== "running") return probe;
  if (opts.startTime !== undefined && sameClock(opts.clock)) {
    const now = processStartTime(pid);
    if (now === undefined) return "running"; // cannot compare: the pid exists, so assume the owner
    if (now !== opts.startTime) return "dead"; // the pid was recycled by another process
  }
  return "running";
}

function finished(state: string): boolean {
  return state === "Z" || state === "X" || state === "x";
}

/**
 * True once `pid` has exited: gone (ESRCH) or a zombie awaiting its parent's
 * wait. Lets a synchronous signal cleanup wait for a child it signalled
 * without the event loop (which would reap it).
 */
export function hasExited(pid: number, root = "/proc"): boolean {
  const st = procStat(pid, root);
  if (st !== undefined) return finished(st.state);
  return signalProbe(pid) === "dead";
}

export interface JobRecord {
  pid: number;
  /** Start time of `pid`, in `clock`. */
  startTime: number;
  /** The job's own process group, when it has one. */
  pgid?: number;
  /** Start time of the group's leader (pid == pgid) when the group was recorded, in `clock`. */
  pgidStart?: number;
  /** Clock of the start times: absent = /proc ticks, "ps" = epoch seconds. */
  clock?: "ps";
}

/**
 * Is the recorded job (command and its process group) still running on this
 * host? Three-way: `unknown` when the process table cannot be read or shows
 * another pid namespace, never `dead` on doubt.
 */
export function jobLiveness(job: JobRecord, opts: { host?: string; root?: string } = {}): Liveness {
  return probeJob(job, opts).live;
}

/** Members of process group `pgid` that have not finished, by pid; undefined when the table cannot be listed. */
function groupMember(pgid: number, root: string): number | undefined | null {
  if (processBackend() === "procfs") {
    const pids = procfsPids(root);
    if (!pids) return undefined;
    for (const p of pids) {
      const m = procfsStat(p, root);
      if (m && m.pgrp === pgid && !finished(m.state)) return p;
    }
    return null;
  }
  const rows = psTable();
  if (!rows) return undefined;
  return rows.find((m) => m.pgrp === pgid && !finished(m.state))?.pid ?? null;
}

/** jobLiveness, plus the live process that makes it `running` (the command, or a member of its group). */
export function probeJob(job: JobRecord, opts: { host?: string; root?: string } = {}): { live: Liveness; pid?: number } {
  const unknown = { live: "unknown" as const };
  const dead = { live: "dead" as const };
  if (opts.host !== undefined && opts.host !== thisHost()) return unknown;
  if (!Number.isInteger(job.pid) || job.pid <= 0) return unknown;
  const root = opts.root ?? "/proc";
  if (processBackend() === "procfs" && !procfsIsOurs(root)) return unknown;
  const comparable = sameClock(job.clock);
  const st = procStat(job.pid, root);
  if (st && !finished(st.state) && (!comparable || st.startTime === job.startTime)) return { live: "running", pid: job.pid };
  if (!st) {
    // No entry: gone, unless kill(2) still sees it (/proc mounted hidepid hides other users'
    // processes): then, as pidLiveness does when it cannot compare start times, it is the job.
    const probe = signalProbe(job.pid);
    if (probe === "running") return { live: "running", pid: job.pid };
    if (probe === "unknown") return unknown;
  }
  if (job.pgid === undefined || !Number.isInteger(job.pgid) || job.pgid <= 0) return dead;
  const leader = procStat(job.pgid, root);
  if (leader && comparable && job.pgidStart !== undefined && leader.startTime !== job.pgidStart) {
    // pid == pgid belongs to another process now: only possible once every member of the recorded group was gone.
    return dead;
  }
  const member = groupMember(job.pgid, root);
  if (member === undefined) return unknown;
  return member === null ? dead : { live: "running", pid: member };
}
