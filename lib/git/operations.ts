/**
 * git-lock's operations: status, clean, wait (design.md §4). Each returns data
 * (judged locks, removals) for cmd/git-lock.ts to print; nothing here prints
 * or exits. `run` lives in run.ts.
 *
 * Calling sequence: discoverRepo (repo.ts) -> listLocks (locks.ts) ->
 * judgeLocks (verdict.ts) -> removeLockSafely (remove.ts) for `stale` only.
 * `active`, `young` and `unknown` locks are never removed; `--force` only
 * lowers the age threshold of locks whose liveness is visible.
 *
 * The /proc scan happens only when locks exist, so a clean repository costs a
 * walk of refs/ and logs/ and nothing else.
 */
import { existsSync, lstatSync, realpathSync } from "node:fs";
import { basename, dirname, relative, resolve } from "node:path";
import { retryWithBackoff, realBackoffEnv, type BackoffPolicy } from "../core/backoff";
import { BusyError } from "../core/busy";
import { TempFailError, UsageError } from "../core/errors";
import { isInside, processSnapshot } from "../core/procscan";
import { DIRLOCK_STALE_MS, judgeLock } from "../core/dirlock";
import { listLocks, lockAt, type LockFile } from "./lockfiles";
import { discoverRepo, type DiscoverOptions, type GitRepo } from "./repo";
import { judgeLocks, type JudgedLock, type JudgeOptions } from "./verdict";
import { removeLockSafely, removeRunLock, type RemoveOutcome } from "./remove";

export interface ScanOptions extends DiscoverOptions, Omit<JudgeOptions, "snapshot" | "now"> {
  /** Only these lock paths (`git-lock status -- PATH...`). */
  paths?: string[];
}

export interface ScanResult {
  repo: GitRepo;
  locks: JudgedLock[];
  /** True when some judged lock had no holder record (suggest core.lockfilePid). */
  noHolderRecord: boolean;
}

function realOrResolved(p: string): string {
  try {
    return resolve(realpathSync(dirname(p)), basename(p));
  } catch {
    return resolve(p);
  }
}

function selectPaths(repo: GitRepo, all: LockFile[], paths: string[], cwd: string): LockFile[] {
  const out: LockFile[] = [];
  const dirs = [repo.commonDir, ...repo.worktreeGitDirs, repo.gitDir];
  for (const raw of paths) {
    const p = realOrResolved(resolve(cwd, raw));
    const hit = all.find((l) => l.path === p);
    if (hit) {
      out.push(hit);
      continue;
    }
    const home = dirs.filter((d) => isInside(p, d)).sort((a, b) => b.length - a.length)[0];
    if (!home) throw new UsageError({ what: "not inside this repository's git dir", subject: raw, hint: "only git lock files are judged" });
    if (!existsSync(p) && !isSymlink(p)) continue; // gone: nothing to judge
    if (!p.endsWith(".lock") && basename(p) !== "gc.pid") {
      throw new UsageError({ what: "not a lock file", subject: raw, hint: "lock files end in .lock" });
    }
    const l = lockAt(home, relative(home, p));
    if (l) out.push(l);
  }
  return out;
}

function isSymlink(p: string): boolean {
  try {
    return lstatSync(p).isSymbolicLink();
  } catch {
    return false;
  }
}

/** Discover, list and judge. */
export function scanLocks(opts: ScanOptions = {}): ScanResult {
  const repo = discoverRepo(opts);
  let locks = listLocks(repo).sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  if (opts.paths?.length) locks = selectPaths(repo, locks, opts.paths, opts.cwd ?? process.cwd());
  const judged = locks.length ? judgeLocks(repo, locks, { judgeRunLock: judgeLock, ...opts, snapshot: processSnapshot() }) : [];
  const noHolderRecord = judged.some((j) => j.lock.kind !== "run" && j.lock.kind !== "gc-pid" && j.lock.path.endsWith(".lock") && !j.lock.pidRecord);
  return { repo, locks: judged, noHolderRecord };
}

export interface Removal {
  lock: JudgedLock;
  outcome: RemoveOutcome;
}

export interface CleanResult extends ScanResult {
  /** Stale locks and what happened to each (dry run: outcome "would remove"). */
  removals: Removal[];
  dryRun: boolean;
}

/** Remove every stale lock (or, dry run, say which would go). */
export async function cleanLocks(opts: ScanOptions & { dryRun?: boolean } = {}): Promise<CleanResult> {
  const scan = scanLocks(opts);
  const removals: Removal[] = [];
  for (const j of scan.locks) {
    if (j.verdict !== "stale") continue;
    if (opts.dryRun) {
      removals.push({ lock: j, outcome: { removed: false, why: "error", detail: "dry run" } });
      continue;
    }
    const outcome =
      j.lock.kind === "run"
        ? await removeRunLock(j.lock, j.lock.gitDir, opts.force ? 0 : (opts.staleAfterMs ?? DIRLOCK_STALE_MS))
        : removeLockSafely(j.lock, j.lock.gitDir);
    removals.push({ lock: j, outcome });
  }
  return { ...scan, removals, dryRun: !!opts.dryRun };
}

export interface WaitOptions extends ScanOptions {
  timeoutMs: number;
  /** Remove stale locks while waiting. */
  clean?: boolean;
  /** First poll interval (the backoff's base); later polls back off with full jitter up to WAIT_MAX_POLL_MS. */
  pollMs?: number;
  sleep?: (ms: number) => Promise<void>;
}

export interface WaitResult {
  waitedMs: number;
  polls: number;
  removals: Removal[];
}

export const WAIT_BASE_POLL_MS = 50;
export const WAIT_MAX_POLL_MS = 500;

/** Live locks remain (retryable inside waitForLocks). */
class LocksBusy extends BusyError {
  constructor(readonly blocking: JudgedLock[]) {
    super("locks held");
  }
}

/**
 * Wait until no live lock remains: nothing `active`, `young` or `unknown`
 * (`stale` locks do not block; `--clean` removes them on the way). Polls on
 * the one retry policy (lib/core/backoff.ts: full jitter, so waiters that
 * polled together do not poll together again). Throws TempFailError (75)
 * naming the remaining locks when the timeout runs out.
 */
export async function waitForLocks(opts: WaitOptions): Promise<WaitResult> {
  const removals: Removal[] = [];
  const policy: BackoffPolicy = { baseMs: opts.pollMs ?? WAIT_BASE_POLL_MS, maxMs: WAIT_MAX_POLL_MS, retries: Number.MAX_SAFE_INTEGER, deadlineMs: opts.timeoutMs };
  const r = await retryWithBackoff(
    async () => {
      const scan: ScanResult = opts.clean ? await cleanLocks(opts) : scanLocks(opts);
      if (opts.clean) removals.push(...(scan as CleanResult).removals.filter((x) => x.outcome.removed));
      // Stale locks are not live: they never block (`--clean` removes them on the way).
      const blocking = scan.locks.filter((j) => j.verdict !== "stale");
      if (blocking.length > 0) throw new LocksBusy(blocking);
    },
    {
      policy,
      env: opts.sleep ? { ...realBackoffEnv, sleep: opts.sleep } : undefined,
      isRetryable: (err) => err instanceof LocksBusy,
      onExhausted: (last, state) =>
        new TempFailError({
          what: "locks still held when the timeout ran out",
          subject: (last as LocksBusy).blocking.map((j) => `${j.lock.path} (${j.verdict})`).join(", "),
          hint: "try again later, or see git-lock status",
          attempts: state.attempts,
          waitedMs: Math.round(state.elapsedMs),
        }),
    },
  );
  return { waitedMs: r.elapsedMs, polls: r.attempts, removals };
}
