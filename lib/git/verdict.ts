/**
 * Verdicts for git locks (design.md §4): `active`, `young`, `stale`, `unknown`.
 *
 * Evidence, strongest first:
 * 1. git's holder record `<name>~pid.lock` (core.lockfilePid): a live pid is
 *    `active`; a pid that is gone (ESRCH, this host) makes the lock stale once
 *    past the young window, even while other git processes run in the repo.
 * 2. A live process has the lock file open (/proc/PID/fd, proc(5)): `git add`
 *    keeps index.lock open while it hashes files.
 * 3. A live git process works in this repository (gitproc.ts: git recognised
 *    by its executable behind /proc/PID/exe, the repository by what its cwd,
 *    GIT_DIR / GIT_COMMON_DIR / GIT_WORK_TREE, -C / --git-dir / --work-tree,
 *    and its children's environment resolve to, mapped to the common git dir
 *    for every layout; a git about which nothing is readable counts). git holds
 *    a lock with no fd open while it waits on the editor or runs a hook (during
 *    `git commit -a` the pre-commit hook runs while the parent git holds
 *    index.lock closed), so ancestors of this process count too. The one
 *    exception is the dispatcher: run as `git lock ...`, our parent `git`
 *    whose subcommand is `lock` holds nothing.
 *    A process can only hold a lock it created (lockfile.c keeps locks per
 *    process and removes them at exit), and it created it after it started:
 *    the lock's ctime (which `touch -d` cannot move back) is at or after the
 *    holder's start. So a git that started more than START_SLACK_MS after
 *    the lock's ctime is not its holder — this is what lets a hook clear a
 *    crashed lock from hours ago while its own parent git runs. A git whose
 *    start time cannot be read counts.
 * 4. `gc.pid` is judged by the host and pid written in it, as git gc does.
 * 5. hardshell run locks are judged by their owner record (lib/core/lock.ts).
 *
 * Without a live holder, age decides: `young` below the threshold (default
 * 30 s, `--stale-after`, 0 with `--force`), `stale` above. When liveness
 * cannot be seen (no /proc, another pid namespace, a network file system, a
 * lock owned by another user whose processes we cannot inspect, gc.pid of
 * another host) the verdict is `unknown`, and only the conservative grace
 * periods (15 min; 1 h for ref, reflog and packed-refs locks; 12 h for another
 * host's gc.pid, git gc's own rule) or an explicit `--stale-after` turn it into
 * `stale` — `--force` never does. Unknown is never treated as dead.
 *
 * What a concurrent git can observe: nothing, judging only reads. A verdict
 * is a snapshot; removal (remove.ts) re-checks the inode before acting, and a
 * lock judged stale cannot become someone's live lock without being replaced
 * (O_EXCL creation means a new holder makes a new inode).
 * Assumes Linux /proc and same-host processes; out of scope: processes in
 * other mount namespaces that see the repository under another path.
 */
import { livenessVisibility, pidLiveness, ProcSnapshot, fileHolders, thisHost, type Visibility } from "../core/proc";
import { dispatcherAncestors, gitProcessesWorkingOn, lazyBinaries } from "./gitproc";
import { readFileSync } from "node:fs";
import { DEFAULT_STALE_MS as LOCK_STALE_MS } from "../core/lock";
import { parseGcPid, type LockFile, type LockKind } from "./locks";
import type { GitRepo } from "./repo";

export type Verdict = "active" | "young" | "stale" | "unknown";

export interface Holder {
  pid: number;
  comm: string;
}

interface GitWorker extends Holder {
  startMs?: number;
}

export interface JudgedLock {
  lock: LockFile;
  verdict: Verdict;
  /** One line: why this verdict (shown in reports). */
  reason: string;
  ageMs: number;
  /** The age at which this lock counts as stale (Infinity: never, by age). */
  thresholdMs: number;
  holders: Holder[];
}

export const DEFAULT_STALE_MS = 30_000;
/** hardshell run locks: the hardshell lock's own threshold (lib/core/lock.ts), the one `git-lock run` uses. */
export const RUN_LOCK_STALE_MS = LOCK_STALE_MS;
export const UNKNOWN_GRACE_MS = 15 * 60_000;
export const UNKNOWN_REF_GRACE_MS = 60 * 60_000;
export const OTHER_HOST_GC_GRACE_MS = 12 * 60 * 60_000;
/** git gc's own limit: an older gc.pid is ignored whatever it says (builtin/gc.c). */
export const GC_PID_MAX_AGE_MS = 12 * 60 * 60_000;
/** Tolerance for "started after the lock": /proc tick rounding and small wall-clock steps. */
export const START_SLACK_MS = 1_000;

export interface JudgeOptions {
  /** `--stale-after`: replaces both the visible threshold and the unknown grace periods. */
  staleAfterMs?: number;
  /** `--force`: drop the age threshold where liveness is visible. */
  force?: boolean;
  now?: number;
  /** This process (excluded from holders). */
  selfPid?: number;
  snapshot?: ProcSnapshot;
  /** Run-lock judge (lib/core/lock.ts); run locks are `unknown` without it. */
  judgeRunLock?: (path: string, staleMs: number) => { verdict: "running" | "stale" | "unknown" | "young"; owner?: { pid: number; host: string }; holder?: number };
  /** Visibility per directory (tests inject "not visible"). */
  visibility?: (dir: string) => Visibility;
}

/** Grace period for a lock whose liveness cannot be seen. */
export function unknownGraceMs(kind: LockKind): number {
  if (kind === "ref" || kind === "reflog" || kind === "packed-refs" || kind === "reftable") return UNKNOWN_REF_GRACE_MS;
  if (kind === "gc-pid") return OTHER_HOST_GC_GRACE_MS;
  return UNKNOWN_GRACE_MS;
}

export { dispatcherAncestors, gitArgvPaths, gitSubcommand, isGitComm } from "./gitproc";

function fmtAge(ms: number): string {
  if (!Number.isFinite(ms)) return "never";
  if (ms < 1000) return `${Math.round(ms)}ms`;
  const s = Math.round(ms / 1000);
  if (s < 120) return `${s}s`;
  if (s < 7200) return `${Math.round(s / 60)}m`;
  return `${Math.round(s / 3600)}h`;
}

/**
 * Judge every lock. The /proc scans run lazily and once: git processes are
 * looked for only if some lock needs that evidence, fds only if some lock is
 * still undecided after that.
 */
export function judgeLocks(repo: GitRepo, locks: readonly LockFile[], opts: JudgeOptions = {}): JudgedLock[] {
  const now = opts.now ?? Date.now();
  const selfPid = opts.selfPid ?? process.pid;
  const snap = opts.snapshot ?? new ProcSnapshot();
  const uid = typeof process.getuid === "function" ? process.getuid() : 0;
  const visCache = new Map<string, Visibility>();
  const visibility = (dir: string): Visibility => {
    let v = visCache.get(dir);
    if (!v) visCache.set(dir, (v = (opts.visibility ?? livenessVisibility)(dir)));
    return v;
  };
  const visibleThreshold = opts.force ? 0 : (opts.staleAfterMs ?? DEFAULT_STALE_MS);

  const bins = lazyBinaries();
  let exclude: Set<number> | undefined;
  const excluded = (): Set<number> => (exclude ??= new Set([selfPid, ...dispatcherAncestors(snap, selfPid, bins)]));
  let gitProcs: GitWorker[] | undefined;
  const gitWorkers = (): GitWorker[] => {
    if (gitProcs) return gitProcs;
    const ancestors = new Set(snap.ancestors(selfPid));
    return (gitProcs = gitProcessesWorkingOn(repo, { snapshot: snap, exclude: excluded(), ancestors, uid, bins }).map((p) => ({
      pid: p.pid,
      comm: p.comm,
      startMs: snap.startEpochMs(p.pid),
    })));
  };
  /** git processes that could have created this lock (started before its ctime, with slack). */
  const gitHolders = (lock: LockFile): Holder[] =>
    gitWorkers()
      .filter((g) => g.startMs === undefined || g.startMs <= lock.ctimeMs + START_SLACK_MS)
      .map((g) => ({ pid: g.pid, comm: g.comm }));

  type Pending = { j: JudgedLock; needsGit: boolean };
  const results: JudgedLock[] = [];
  const pending: Pending[] = [];

  for (const lock of locks) {
    const ageMs = Math.max(0, now - lock.mtimeMs);
    const j: JudgedLock = { lock, verdict: "unknown", reason: "", ageMs, thresholdMs: visibleThreshold, holders: [] };
    results.push(j);
    const vis = visibility(lock.gitDir);
    const unknown = (why: string, graceMs = opts.staleAfterMs ?? unknownGraceMs(lock.kind)) => {
      j.thresholdMs = graceMs;
      if (ageMs >= graceMs) {
        j.verdict = "stale";
        j.reason = `liveness not visible (${why}); older than the ${fmtAge(graceMs)} grace period`;
      } else {
        j.verdict = "unknown";
        j.reason = `liveness not visible (${why}); stale after ${fmtAge(graceMs)}`;
      }
    };
    const byAge = (why: string) => settleByAge(j, why, visibleThreshold);

    if (lock.kind === "run") {
      if (!opts.judgeRunLock) {
        unknown("run lock module unavailable");
        continue;
      }
      // One threshold with `git-lock run` itself, which takes a run lock over after RUN_LOCK_STALE_MS.
      const staleMs = opts.force ? 0 : (opts.staleAfterMs ?? RUN_LOCK_STALE_MS);
      const r = opts.judgeRunLock(lock.path, staleMs);
      j.thresholdMs = staleMs;
      if (r.verdict === "running") {
        // The holder is the owner, or the command it ran if the owner died and the command runs on.
        const pid = r.holder ?? r.owner?.pid;
        if (pid !== undefined) j.holders = [{ pid, comm: snap.comm(pid) ?? "?" }];
        j.verdict = "active";
        j.reason = `run lock held by live pid ${pid ?? "?"}${r.owner && pid !== r.owner.pid ? ` (command of pid ${r.owner.pid}, gone)` : ""}`;
      } else if (r.verdict === "unknown") {
        j.verdict = "unknown";
        j.reason = `run lock owner liveness not visible${r.owner ? ` (pid ${r.owner.pid} on ${r.owner.host})` : ""}`;
      } else {
        j.verdict = r.verdict;
        j.reason = r.verdict === "stale" ? `run lock owner gone; not refreshed for ${fmtAge(ageMs)}` : "run lock owner gone; recently refreshed";
      }
      continue;
    }

    if (!vis.visible) {
      unknown(vis.reason ?? "not visible");
      continue;
    }
    if (uid !== 0 && lock.uid !== uid) {
      unknown(`owned by uid ${lock.uid}, whose processes are not inspectable`);
      continue;
    }

    if (lock.kind === "gc-pid") {
      let rec: { pid: number; host: string } | undefined;
      try {
        rec = parseGcPid(readFileSync(lock.path, "latin1"));
      } catch {
        rec = undefined;
      }
      if (rec) {
        if (rec.host !== thisHost()) {
          unknown(`gc.pid written on host ${rec.host}`, opts.staleAfterMs ?? OTHER_HOST_GC_GRACE_MS);
          continue;
        }
        const l = pidLiveness(rec.pid);
        if (l === "running" && ageMs > GC_PID_MAX_AGE_MS) {
          // git gc ignores a gc.pid older than 12 h even if its pid is alive (a recycled pid).
          byAge(`gc.pid is older than 12h (git gc ignores it; pid ${rec.pid} is presumably recycled)`);
          continue;
        }
        if (l === "running") {
          j.verdict = "active";
          j.reason = `git gc pid ${rec.pid} is alive`;
          j.holders = [{ pid: rec.pid, comm: snap.comm(rec.pid) ?? "?" }];
          continue;
        }
        if (l === "dead") {
          byAge(`git gc pid ${rec.pid} is gone`);
          continue;
        }
      }
      // Unreadable gc.pid: judged like any lock below.
    }

    if (lock.pidRecord?.pid !== undefined) {
      const l = pidLiveness(lock.pidRecord.pid);
      if (l === "running") {
        j.verdict = "active";
        j.reason = `holder record names live pid ${lock.pidRecord.pid}`;
        j.holders = [{ pid: lock.pidRecord.pid, comm: snap.comm(lock.pidRecord.pid) ?? "?" }];
        continue;
      }
      if (l === "dead") {
        // Strongest evidence: its writer is gone. Only an open fd can still overrule it.
        pending.push({ j, needsGit: false });
        continue;
      }
    }
    pending.push({ j, needsGit: true });
  }

  if (pending.length) {
    // Evidence 3 (cheap: comm of every process, cwd/environ of git processes only).
    const undecided: Pending[] = [];
    for (const p of pending) {
      const holders = p.needsGit ? gitHolders(p.j.lock) : [];
      if (holders.length) {
        p.j.verdict = "active";
        p.j.holders = holders;
        p.j.reason = `live git process in this repository (pid ${holders.map((h) => h.pid).join(", ")})`;
      } else undecided.push(p);
    }
    // Evidence 2 (one fd scan for all remaining locks).
    if (undecided.length) {
      const holders = fileHolders(
        undecided.map((p) => p.j.lock.path),
        { snapshot: snap, exclude: excluded() },
      );
      for (const p of undecided) {
        const h = holders.filter((x) => x.path === p.j.lock.path).map((x) => ({ pid: x.pid, comm: x.comm }));
        const j = p.j;
        j.thresholdMs = visibleThreshold;
        if (h.length) {
          j.verdict = "active";
          j.holders = h;
          j.reason = `open in live process ${h.map((x) => `${x.pid} (${x.comm})`).join(", ")}`;
          continue;
        }
        settleByAge(j, p.needsGit ? "no live holder" : `holder record pid ${j.lock.pidRecord!.pid} is gone`, visibleThreshold);
      }
    }
  }
  return results;
}

/** Once the evidence found no live holder: young or stale by age alone. */
function settleByAge(j: JudgedLock, why: string, thresholdMs: number): void {
  const stale = j.ageMs >= thresholdMs;
  j.thresholdMs = thresholdMs;
  j.verdict = stale ? "stale" : "young";
  j.reason = `${why}; ${stale ? "older" : "younger"} than ${fmtAge(thresholdMs)}`;
}

export { fmtAge as formatAge };
