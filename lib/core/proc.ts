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
 * Out of scope here: which processes have a file open or work in a
 * directory (scans live beside, in the same module, for git-lock).
 */
import { readFileSync } from "node:fs";
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
