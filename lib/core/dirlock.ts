/**
 * The hardshell lock, a lock DIRECTORY (design.md §3.1), shared by
 * `atomic-write --lock/--edit/--append` and `git-lock run`. Not to be confused
 * with git's lock files (lib/git/lockfiles.ts) or node-sqlite3-wasm's DB.lock
 * (lib/sqlite/dotlock.ts).
 *
 * Format — proper-lockfile compatible, so either tool sees the other's lock:
 *   X.lock/          a DIRECTORY; mkdir(2) is the atomic acquire (it fails EEXIST
 *                    for everybody but one). While held its mtime is refreshed every
 *                    `updateMs` (default staleMs/2), proper-lockfile's convention for
 *                    "the holder is alive".
 *                    Made with the sticky bit, which marks it as hardshell's, so an
 *                    owner-less one is a creator's SIGKILL debris (see LOCK_DIR_MODE),
 *                    and readable only by those who may rename it (lockDirMode).
 *   X.lock/owner     JSON {pid, host, startTime, createdAt, command, child?} of the
 *                    holder, so a waiter can tell a dead holder from a slow one.
 *                    `child` is the command the lock is held around (adoptChild):
 *                    {pid, startTime, pgid?, pgidStart?}. `clock: "ps"` when the
 *                    start times are ps(1) epoch seconds, not /proc ticks
 *                    (lib/core/liveness.ts). proper-lockfile itself
 *                    writes no owner; its locks are judged by age alone.
 *
 * Verdicts (`judgeLock`), never "stale" on doubt:
 *   running  the recorded owner process is alive (lib/core/liveness.ts pidLiveness, pinned
 *            to its start time so a recycled pid is not the owner), OR the command
 *            it holds the lock around still runs, or that command's own process group
 *            still has a member (liveness.ts jobLiveness, pid-reuse safe the same way): a
 *            SIGKILLed wrapper whose job runs on, orphaned, keeps the lock. Never taken over.
 *   young    no live owner seen, but the mtime is younger than staleMs (a holder that
 *            just died, or one that is between mkdir and writing its owner file).
 *   unknown  liveness cannot be seen: owner on another host, no/garbled owner record
 *            (proper-lockfile's locks), an owner record we may not read (another user's
 *            lock under umask 077), another pid namespace. Treated as held until its
 *            mtime is older than a conservative `unknownStaleMs` (default max(6*staleMs, 60s)).
 *   stale    owner dead (or unknowable and past the conservative wait) AND mtime older
 *            than staleMs. Only this verdict is ever taken over.
 *
 * Takeover of a `stale` lock is race-free among hardshell processes
 * (./takeover.ts: under a flock(2) on the lock directory, judged again, same
 * inode, renamed aside, removed, our mkdir). A plain mkdir by another waiter
 * can still win between the rename and our mkdir; then our mkdir fails EEXIST
 * and we keep waiting: exclusion holds either way.
 *
 * What a crash leaves: SIGKILL leaves X.lock/ with a dead pid; it becomes "stale" once
 * its mtime is older than staleMs and no adopted command of it still runs, and is taken
 * over. A wrapper SIGKILLed between spawning its command and adoptChild's write (it
 * runs synchronously right after the spawn, microseconds) leaves a command the lock
 * does not know about. SIGINT/SIGTERM/SIGHUP release it
 * (lib/core/signals.ts registerCleanup).
 *
 * Assumptions: mkdir(2) and rename(2) are atomic in one directory (POSIX); pid liveness
 * is only visible on this host (NFS: other hosts' locks fall back to age, see unknown).
 * Waiting: lib/core/backoff.ts (full jitter). Out of scope: fairness between waiters,
 * reader/writer locks, locks across hosts without synchronised clocks.
 * This module never prints and never exits; errors are values (lib/core/errors.ts).
 */
import { closeSync, lstatSync, mkdirSync, openSync, readFileSync, renameSync, rmSync, rmdirSync, statSync, unlinkSync, utimesSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { retryWithBackoff, type BackoffEnv, type BackoffPolicy } from "./backoff";
import { BusyError } from "./busy";
import { errnoOf, fromErrno, IoError, TempFailError } from "./errors";
import { formatDuration } from "./duration";
import { clockTag, pidLiveness, probeJob, procStat, processStartTime, thisHost, type JobRecord, type Liveness } from "./liveness";
import { registerCleanup } from "./signals";
import { removeStaleUnderFlock } from "./takeover";

export interface LockOwner {
  pid: number;
  host: string;
  /** Start time of the owner process (pins the pid against reuse), in `clock`. */
  startTime?: number;
  /** Clock of the start times here and in `child`: absent = /proc ticks, "ps" = ps(1) epoch seconds. */
  clock?: "ps";
  /** Epoch ms when the lock was taken. */
  createdAt: number;
  command?: string;
  /** The command the lock is held around (adoptChild); it keeps the lock live after the owner died. */
  child?: JobRecord;
}

export interface HoldLockOptions {
  /** A lock whose mtime is older than this (and whose owner is not running) is stale. Default 10_000 (proper-lockfile's). */
  staleMs?: number;
  /** How often the mtime is refreshed while held. Default staleMs/2. */
  updateMs?: number;
  /** Give up (TempFailError, exit 75) after this long. 0 = one attempt. */
  timeoutMs: number;
  /** Backoff between attempts; default base 5ms, max 250ms, unlimited retries within timeoutMs. */
  policy?: Partial<BackoffPolicy>;
  env?: BackoffEnv;
  /** Recorded in the owner file, for diagnostics. */
  command?: string;
  /** Age after which an owner whose liveness cannot be seen counts as dead. Default max(6*staleMs, 60s). */
  unknownStaleMs?: number;
}

export interface HeldLock {
  readonly lockPath: string;
  /** Set once the lock was found removed or replaced while held. */
  readonly compromised: Error | undefined;
  /**
   * Record `pid`, a command just spawned to run under this lock, in the owner
   * record: the lock then stays live while that command (or its own process
   * group) runs, even if this process is SIGKILLed. Call right after spawn.
   */
  adoptChild(pid: number): void;
  /** Synchronous, idempotent, never removes a lock it no longer owns. */
  release(): void;
}

export type LockVerdict = "running" | "stale" | "unknown" | "young";

export interface LockJudgement {
  verdict: LockVerdict;
  owner?: LockOwner;
  ageMs: number;
  /** The live process that keeps the lock "running": the owner, its command, or a member of the command's group. */
  holder?: number;
  /** The lock path does not exist (verdict is then "young": nothing to take over). */
  missing?: boolean;
  /** Identity of the judged lock directory, to re-check before a takeover. */
  dev?: number;
  ino?: number;
}

/** Stale threshold of the hardshell lock (proper-lockfile's default), for every lock of this format: `git-lock run` takes its run lock over after it, and `git-lock status` calls a run lock stale after it. */
export const DIRLOCK_STALE_MS = 10_000;
export const OWNER_FILE = "owner";
/**
 * Lock directories carry the sticky bit, which no other tool sets on a lock
 * (mkdir(2) keeps S_ISVTX on Linux; umask does not clear it). It marks the
 * directory as hardshell's, so one whose owner file is missing or empty can only
 * be the debris of a creator SIGKILLed between mkdir and the owner write, and is
 * judged by age alone instead of waiting out the unknown-owner grace (60 s, longer
 * than atomic-write's default 30 s --lock-timeout). The widest mode; see lockDirMode.
 */
export const LOCK_DIR_MODE = 0o1755;

/**
 * Mode for a new lock directory in `parent`: everyone may search it (x, to read
 * the owner record), but only those who may also rename it may READ it, i.e.
 * open it and so flock(2) it (the takeover lock, see removeStaleUnderFlock):
 * the owner always; group and others only where the parent grants them write
 * and search and is not sticky (in a sticky directory only the lock's owner may
 * rename it). Then no one can block a takeover who could not just as well hold
 * the lock itself. The umask still applies (mkdir(2)).
 */
export function lockDirMode(parent: string): number {
  let mode = 0o1711;
  try {
    const st = statSync(parent);
    if ((st.mode & 0o1000) === 0) {
      if ((st.mode & 0o030) === 0o030) mode |= 0o040;
      if ((st.mode & 0o003) === 0o003) mode |= 0o004;
    }
  } catch {
    /* mkdir reports the real problem */
  }
  return mode;
}
const DEFAULT_LOCK_POLICY: BackoffPolicy = { baseMs: 5, maxMs: 250, retries: Number.MAX_SAFE_INTEGER, deadlineMs: 0 };

/** The lock path proper-lockfile uses for `file` (its default `${file}.lock`). */
export function lockPathFor(file: string): string {
  return `${file}.lock`;
}

/** The owner record inside a lock directory, or undefined (no record, garbled, not a hardshell lock). */
export function readLockOwner(lockPath: string): LockOwner | undefined {
  let text: string;
  try {
    text = readFileSync(join(lockPath, OWNER_FILE), "utf8");
  } catch {
    return undefined;
  }
  try {
    const o = JSON.parse(text) as Partial<LockOwner>;
    if (typeof o.pid !== "number" || typeof o.host !== "string" || typeof o.createdAt !== "number") return undefined;
    const owner: LockOwner = { pid: o.pid, host: o.host, createdAt: o.createdAt };
    if (typeof o.startTime === "number") owner.startTime = o.startTime;
    if (typeof o.command === "string") owner.command = o.command;
    if (o.clock === "ps") owner.clock = "ps";
    const c = o.child as Partial<JobRecord> | undefined;
    if (c && typeof c === "object" && typeof c.pid === "number" && typeof c.startTime === "number") {
      const child: JobRecord = { pid: c.pid, startTime: c.startTime };
      if (typeof c.pgid === "number") child.pgid = c.pgid;
      if (typeof c.pgidStart === "number") child.pgidStart = c.pgidStart;
      if (o.clock === "ps") child.clock = "ps";
      owner.child = child;
    }
    return owner;
  } catch {
    return undefined;
  }
}

/** The owner record exists but this process may not read it (EACCES/EPERM on the directory or the file). */
function ownerUnreadable(lockPath: string): boolean {
  try {
    closeSync(openSync(join(lockPath, OWNER_FILE), "r"));
    return false;
  } catch (err) {
    const code = errnoOf(err);
    return code === "EACCES" || code === "EPERM";
  }
}

function defaultUnknownStaleMs(staleMs: number): number {
  return Math.max(6 * staleMs, 60_000);
}

/** Three-way liveness plus age of the lock at `lockPath` (see the verdict table above). */
export function judgeLock(lockPath: string, staleMs: number, opts: { unknownStaleMs?: number } = {}): LockJudgement {
  let st;
  try {
    st = lstatSync(lockPath);
  } catch (err) {
    if (errnoOf(err) === "ENOENT") return { verdict: "young", ageMs: 0, missing: true };
    return { verdict: "unknown", ageMs: 0 };
  }
  const ageMs = Math.max(0, Date.now() - st.mtimeMs);
  const id = { dev: st.dev, ino: st.ino };
  // Not a directory: not a lock this format produced; never taken over.
  if (!st.isDirectory()) return { verdict: "unknown", ageMs, ...id };
  const unknownStaleMs = opts.unknownStaleMs ?? defaultUnknownStaleMs(staleMs);
  const owner = readLockOwner(lockPath);
  if (!owner) {
    if (ageMs < staleMs) return { verdict: "young", ageMs, ...id };
    // An owner record we may not read (another user's lock under a strict umask) is not a
    // missing one: liveness is unknown, never the debris verdict below.
    if (ownerUnreadable(lockPath)) return { verdict: ageMs >= unknownStaleMs ? "stale" : "unknown", ageMs, ...id };
    // Marked as ours (LOCK_DIR_MODE's sticky bit) but no owner recorded: its creator died
    // between mkdir and writing the owner (a live creator writes it at once and refreshes the
    // mtime every updateMs), so age alone decides, as for proper-lockfile. An unmarked lock
    // with no owner is another tool's: keep the conservative wait.
    if ((st.mode & 0o1000) !== 0) return { verdict: "stale", ageMs, ...id };
    return { verdict: ageMs >= unknownStaleMs ? "stale" : "unknown", ageMs, ...id };
  }
  const { live, holder } = ownerLiveness(owner);
  if (live === "running") return { verdict: "running", owner, holder, ageMs, ...id };
  if (live === "dead") return { verdict: ageMs >= staleMs ? "stale" : "young", owner, ageMs, ...id };
  return { verdict: ageMs >= Math.max(staleMs, unknownStaleMs) ? "stale" : "unknown", owner, ageMs, ...id };
}

/**
 * Is anything the owner record names still running: the owner process, or the
 * command it holds the lock around (and that command's group)? Running wins;
 * then unknown (never dead on doubt); dead only when every part is dead.
 */
export function ownerLiveness(owner: LockOwner): { live: Liveness; holder?: number } {
  const wrapper = pidLiveness(owner.pid, { host: owner.host, startTime: owner.startTime, clock: owner.clock });
  if (wrapper === "running") return { live: "running", holder: owner.pid };
  if (!owner.child) return { live: wrapper };
  const job = probeJob(owner.child, { host: owner.host });
  if (job.live === "running") return { live: "running", holder: job.pid };
  return { live: wrapper === "unknown" || job.live === "unknown" ? "unknown" : "dead" };
}

/** The lock is held by someone else (retryable inside holdLock). */
class LockBusy extends BusyError {
  constructor(readonly judgement: LockJudgement) {
    super("lock busy");
  }
}

/** mkdir the lock and record us as owner. Returns undefined when it already exists. */
function tryCreate(lockPath: string, command: string | undefined): { owner: LockOwner; dev: number; ino: number } | undefined {
  // Everything the owner record needs is read BEFORE mkdir, so the window in which a
  // SIGKILL leaves a lock with no owner is two syscalls wide (see LOCK_DIR_MODE).
  const owner: LockOwner = { pid: process.pid, host: thisHost(), createdAt: Date.now() };
  const startTime = processStartTime(process.pid);
  if (startTime !== undefined) Object.assign(owner, { startTime }, clockTag());
  if (command !== undefined) owner.command = command;
  const record = JSON.stringify(owner) + "\n";
  try {
    mkdirSync(lockPath, lockDirMode(dirname(lockPath)));
  } catch (err) {
    if (errnoOf(err) === "EEXIST") return undefined;
    throw fromErrno(err, { what: "cannot create lock", subject: lockPath });
  }
  try {
    writeFileSync(join(lockPath, OWNER_FILE), record, { mode: 0o644 });
    const st = statSync(lockPath);
    return { owner, dev: st.dev, ino: st.ino };
  } catch (err) {
    rmSync(lockPath, { recursive: true, force: true });
    throw fromErrno(err, { what: "cannot write lock owner", subject: lockPath });
  }
}

/** Take over a lock judged stale; the new ownership, or undefined when someone else got there first. */
function takeOver(lockPath: string, judged: LockJudgement, staleMs: number, unknownStaleMs: number | undefined, command: string | undefined) {
  return removeStaleUnderFlock(lockPath, {
    what: "lock",
    stillStale: () => {
      const again = judgeLock(lockPath, staleMs, { unknownStaleMs });
      return again.verdict === "stale" && again.ino === judged.ino && again.dev === judged.dev;
    },
    removeAside: (aside) => rmSync(aside, { recursive: true, force: true }),
    then: () => tryCreate(lockPath, command),
  });
}

/**
 * Acquire the lock at `lockPath`, waiting with backoff up to `timeoutMs`.
 * Throws TempFailError (exit 75) with attempts/waitedMs when it stays held.
 */
export async function holdLock(lockPath: string, opts: HoldLockOptions): Promise<HeldLock> {
  const staleMs = opts.staleMs ?? DIRLOCK_STALE_MS;
  const updateMs = Math.max(1, opts.updateMs ?? Math.floor(staleMs / 2));
  const policy: BackoffPolicy = { ...DEFAULT_LOCK_POLICY, ...opts.policy, deadlineMs: opts.timeoutMs };
  const result = await retryWithBackoff(
    async () => {
      const mine = tryCreate(lockPath, opts.command);
      if (mine) return mine;
      const judged = judgeLock(lockPath, staleMs, { unknownStaleMs: opts.unknownStaleMs });
      if (judged.verdict === "stale") {
        const taken = await takeOver(lockPath, judged, staleMs, opts.unknownStaleMs, opts.command);
        if (taken) return taken;
      }
      throw new LockBusy(judged);
    },
    {
      policy,
      env: opts.env,
      isRetryable: (err) => err instanceof LockBusy,
      onExhausted: (last, state) => {
        const j = (last as LockBusy).judgement;
        const who = !j.owner
          ? `held, ${j.verdict}`
          : j.holder !== undefined && j.holder !== j.owner.pid
            ? `held by pid ${j.holder} on ${j.owner.host}, the command of pid ${j.owner.pid} (gone), ${j.verdict}`
            : `held by pid ${j.owner.pid} on ${j.owner.host}, ${j.verdict}`;
        return new TempFailError({
          what: "lock still held",
          subject: lockPath,
          hint: `${who}; gave up after ${state.attempts} attempts in ${formatDuration(state.elapsedMs)}`,
          attempts: state.attempts,
          waitedMs: state.waitedMs,
        });
      },
    },
  );
  return new Held(lockPath, result.value, updateMs);
}

class Held implements HeldLock {
  compromised: Error | undefined;
  private released = false;
  private timer: ReturnType<typeof setInterval> | undefined;
  private unregister: () => void;

  constructor(
    readonly lockPath: string,
    private readonly me: { owner: LockOwner; dev: number; ino: number },
    updateMs: number,
  ) {
    this.unregister = registerCleanup(() => this.release());
    this.timer = setInterval(() => this.refresh(), updateMs);
    this.timer.unref?.();
  }

  adoptChild(pid: number): void {
    if (this.released || this.compromised) return;
    const st = procStat(pid);
    if (!st) return; // already gone (or no /proc): nothing that could outlive us to record
    const child: JobRecord = { pid, startTime: st.startTime, ...clockTag() };
    // The command's process group is the job's own only when the command or this
    // process leads it (an interactive shell or setsid gave the job a group). A group
    // inherited from our caller (a cron script's shell, a test harness) also holds
    // the caller's other commands, which would keep the lock live after the job.
    const ownStart = this.me.owner.startTime;
    if (st.pgrp === pid) {
      child.pgid = pid;
      child.pgidStart = st.startTime;
    } else if (st.pgrp === this.me.owner.pid && ownStart !== undefined) {
      child.pgid = st.pgrp;
      child.pgidStart = ownStart;
    }
    const owner: LockOwner = { ...this.me.owner, child };
    const tmp = join(this.lockPath, `${OWNER_FILE}.${process.pid}.tmp`);
    try {
      // Written aside and renamed over: a reader sees the old record or the new one, whole.
      writeFileSync(tmp, JSON.stringify(owner) + "\n", { mode: 0o644 });
      if (!this.isStillOurs()) {
        rmSync(tmp, { force: true });
        return;
      }
      renameSync(tmp, join(this.lockPath, OWNER_FILE));
      this.me.owner.child = child;
    } catch {
      // Best effort: the lock stays held by this live process; only a SIGKILL of it
      // would leave the command unrecorded (as before adoption).
      try {
        rmSync(tmp, { force: true });
      } catch {
        /* nothing to clean */
      }
    }
  }

  private isStillOurs(): boolean {
    try {
      const st = lstatSync(this.lockPath);
      if (st.ino !== this.me.ino || st.dev !== this.me.dev) return false;
    } catch {
      return false;
    }
    const o = readLockOwner(this.lockPath);
    return o !== undefined && o.pid === this.me.owner.pid && o.createdAt === this.me.owner.createdAt;
  }

  /** Keep the mtime fresh (proper-lockfile's liveness signal) and notice if the lock was taken from us. */
  private refresh(): void {
    if (this.released || this.compromised) return;
    if (!this.isStillOurs()) {
      this.compromised = new IoError({ what: "lock was removed or replaced while held", subject: this.lockPath });
      if (this.timer) clearInterval(this.timer);
      return;
    }
    const now = new Date();
    try {
      utimesSync(this.lockPath, now, now);
    } catch {
      /* next tick retries; isStillOurs will notice a removal */
    }
  }

  release(): void {
    if (this.released) return;
    this.released = true;
    if (this.timer) clearInterval(this.timer);
    this.unregister();
    if (!this.isStillOurs()) return;
    try {
      unlinkSync(join(this.lockPath, OWNER_FILE));
      rmdirSync(this.lockPath);
    } catch {
      /* best effort: a leftover lock with our (soon dead) pid is taken over as stale */
    }
  }
}

