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
 * 5. hardshell run locks are judged by their owner record (lib/core/dirlock.ts).
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
 * Calling sequence: judgeLocks settles each lock from the evidence that is
 * cheap and decisive (run-lock owner, visibility, gc.pid, holder record),
 * then asks the process table once for the rest: git processes first (one
 * comm/exe read per process), open fds only for locks still undecided.
 * Assumes same-host processes seen through lib/core/procscan.ts (/proc, or ps
 * and lsof); out of scope: processes in other mount namespaces that see the
 * repository under another path.
 */
import { fileHolders, livenessVisibility, processSnapshot, type ProcessView, type Visibility } from "../core/procscan";
import { pidLiveness, thisHost } from "../core/liveness";
import { dispatcherAncestors, gitProcessesWorkingOn, lazyBinaries, type GitBinaries } from "./gitproc";
import { readFileSync } from "node:fs";
import { DIRLOCK_STALE_MS } from "../core/dirlock";
import { parseGcPid, type LockFile, type LockKind } from "./lockfiles";
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

/** git's own locks, where liveness is visible: stale once this old with no live holder. */
export const GIT_LOCK_STALE_MS = 30_000;
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
  snapshot?: ProcessView;
  /** Run-lock judge (lib/core/dirlock.ts); run locks are `unknown` without it. */
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

/** What every evidence function shares for one judgeLocks call. */
interface Judging {
  opts: JudgeOptions;
  snap: ProcessView;
  /** Age threshold where liveness is visible (0 with --force). */
  visibleThreshold: number;
  uid: number;
  visibility: (dir: string) => Visibility;
}

/** A verdict could not be reached from what is visible: `unknown` until the grace period, `stale` after. */
function settleUnknown(j: JudgedLock, why: string, graceMs: number): void {
  j.thresholdMs = graceMs;
  const stale = j.ageMs >= graceMs;
  j.verdict = stale ? "stale" : "unknown";
  j.reason = stale ? `liveness not visible (${why}); older than the ${fmtAge(graceMs)} grace period` : `liveness not visible (${why}); stale after ${fmtAge(graceMs)}`;
}

function settleActive(j: JudgedLock, holders: Holder[], reason: string): void {
  j.verdict = "active";
  j.holders = holders;
  j.reason = reason;
}

/** Evidence 5: a hardshell run lock, by its owner record, on the threshold `git-lock run` takes it over at. */
function judgeRunLock(j: JudgedLock, c: Judging): void {
  if (!c.opts.judgeRunLock) return settleUnknown(j, "run lock module unavailable", c.opts.staleAfterMs ?? unknownGraceMs(j.lock.kind));
  const staleMs = c.opts.force ? 0 : (c.opts.staleAfterMs ?? DIRLOCK_STALE_MS);
  const r = c.opts.judgeRunLock(j.lock.path, staleMs);
  j.thresholdMs = staleMs;
  if (r.verdict === "running") {
    // The holder is the owner, or the command it ran if the owner died and the command runs on.
    const pid = r.holder ?? r.owner?.pid;
    const holders = pid !== undefined ? [{ pid, comm: c.snap.comm(pid) ?? "?" }] : [];
    settleActive(j, holders, `run lock held by live pid ${pid ?? "?"}${r.owner && pid !== r.owner.pid ? ` (command of pid ${r.owner.pid}, gone)` : ""}`);
  } else if (r.verdict === "unknown") {
    j.verdict = "unknown";
    j.reason = `run lock owner liveness not visible${r.owner ? ` (pid ${r.owner.pid} on ${r.owner.host})` : ""}`;
  } else {
    j.verdict = r.verdict;
    j.reason = r.verdict === "stale" ? `run lock owner gone; not refreshed for ${fmtAge(j.ageMs)}` : "run lock owner gone; recently refreshed";
  }
}

/** Liveness cannot be seen for this lock at all (no process table, network fs, another user's lock): settled as unknown. */
function judgeVisibility(j: JudgedLock, c: Judging): boolean {
  const vis = c.visibility(j.lock.gitDir);
  if (!vis.visible) {
    settleUnknown(j, vis.reason ?? "not visible", c.opts.staleAfterMs ?? unknownGraceMs(j.lock.kind));
    return true;
  }
  if (c.uid !== 0 && j.lock.uid !== c.uid) {
    settleUnknown(j, `owned by uid ${j.lock.uid}, whose processes are not inspectable`, c.opts.staleAfterMs ?? unknownGraceMs(j.lock.kind));
    return true;
  }
  return false;
}

/** Evidence 4: gc.pid by the host and pid written in it, as git gc does. False when unreadable (judged like any lock). */
function judgeGcPid(j: JudgedLock, c: Judging): boolean {
  let rec: { pid: number; host: string } | undefined;
  try {
    rec = parseGcPid(readFileSync(j.lock.path, "latin1"));
  } catch {
    rec = undefined;
  }
  if (!rec) return false;
  if (rec.host !== thisHost()) {
    settleUnknown(j, `gc.pid written on host ${rec.host}`, c.opts.staleAfterMs ?? OTHER_HOST_GC_GRACE_MS);
    return true;
  }
  const l = pidLiveness(rec.pid);
  if (l === "running" && j.ageMs > GC_PID_MAX_AGE_MS) {
    // git gc ignores a gc.pid older than 12 h even if its pid is alive (a recycled pid).
    settleByAge(j, `gc.pid is older than 12h (git gc ignores it; pid ${rec.pid} is presumably recycled)`, c.visibleThreshold);
    return true;
  }
  if (l === "running") {
    settleActive(j, [{ pid: rec.pid, comm: c.snap.comm(rec.pid) ?? "?" }], `git gc pid ${rec.pid} is alive`);
    return true;
  }
  if (l === "dead") {
    settleByAge(j, `git gc pid ${rec.pid} is gone`, c.visibleThreshold);
    return true;
  }
  return false;
}

/**
 * Evidence 1: git's holder record. "active" (settled), "dead" (its writer is
 * gone: only an open fd can still overrule that), or "none" (no record, or
 * its pid's liveness is unknown).
 */
function judgeHolderRecord(j: JudgedLock, c: Judging): "active" | "dead" | "none" {
  const pid = j.lock.pidRecord?.pid;
  if (pid === undefined) return "none";
  const l = pidLiveness(pid);
  if (l === "running") {
    settleActive(j, [{ pid, comm: c.snap.comm(pid) ?? "?" }], `holder record names live pid ${pid}`);
    return "active";
  }
  return l === "dead" ? "dead" : "none";
}

/** Evidence 3: live git processes in this repository that could have created each lock; settles those it finds a holder for. */
function judgeByGitProcesses(repo: GitRepo, pending: JudgedLock[], c: Judging, exclude: () => Set<number>, bins: () => GitBinaries): JudgedLock[] {
  if (pending.length === 0) return [];
  const ancestors = new Set(c.snap.ancestors(c.opts.selfPid ?? process.pid));
  const workers: GitWorker[] = gitProcessesWorkingOn(repo, { snapshot: c.snap, exclude: exclude(), ancestors, uid: c.uid, bins }).map((p) => ({
    pid: p.pid,
    comm: p.comm,
    startMs: c.snap.startEpochMs(p.pid),
  }));
  const undecided: JudgedLock[] = [];
  for (const j of pending) {
    // A git that started after the lock's ctime (with slack) cannot have created it.
    const holders = workers.filter((g) => g.startMs === undefined || g.startMs <= j.lock.ctimeMs + START_SLACK_MS).map((g) => ({ pid: g.pid, comm: g.comm }));
    if (holders.length) settleActive(j, holders, `live git process in this repository (pid ${holders.map((h) => h.pid).join(", ")})`);
    else undecided.push(j);
  }
  return undecided;
}

/** Evidence 2: one open-fd scan for every lock still undecided; the rest settle by age. */
function judgeByOpenFiles(undecided: { j: JudgedLock; deadRecord: boolean }[], c: Judging, exclude: () => Set<number>): void {
  if (undecided.length === 0) return;
  const found = fileHolders(
    undecided.map((u) => u.j.lock.path),
    { snapshot: c.snap, exclude: exclude() },
  );
  for (const { j, deadRecord } of undecided) {
    const h = found.filter((x) => x.path === j.lock.path).map((x) => ({ pid: x.pid, comm: x.comm }));
    if (h.length) settleActive(j, h, `open in live process ${h.map((x) => `${x.pid} (${x.comm})`).join(", ")}`);
    else settleByAge(j, deadRecord ? `holder record pid ${j.lock.pidRecord!.pid} is gone` : "no live holder", c.visibleThreshold);
  }
}

/**
 * Judge every lock. The process-table scans run lazily and once: git
 * processes are looked for only if some lock needs that evidence, fds only if
 * some lock is still undecided after that.
 */
export function judgeLocks(repo: GitRepo, locks: readonly LockFile[], opts: JudgeOptions = {}): JudgedLock[] {
  const now = opts.now ?? Date.now();
  const snap = opts.snapshot ?? processSnapshot();
  const visCache = new Map<string, Visibility>();
  const c: Judging = {
    opts,
    snap,
    visibleThreshold: opts.force ? 0 : (opts.staleAfterMs ?? GIT_LOCK_STALE_MS),
    uid: typeof process.getuid === "function" ? process.getuid() : 0,
    visibility: (dir) => {
      let v = visCache.get(dir);
      if (!v) visCache.set(dir, (v = (opts.visibility ?? livenessVisibility)(dir)));
      return v;
    },
  };
  const bins = lazyBinaries();
  let excludeSet: Set<number> | undefined;
  const selfPid = opts.selfPid ?? process.pid;
  const exclude = (): Set<number> => (excludeSet ??= new Set([selfPid, ...dispatcherAncestors(snap, selfPid, bins)]));

  const results: JudgedLock[] = [];
  const needGit: JudgedLock[] = [];
  const deadRecord: JudgedLock[] = [];
  for (const lock of locks) {
    const j: JudgedLock = { lock, verdict: "unknown", reason: "", ageMs: Math.max(0, now - lock.mtimeMs), thresholdMs: c.visibleThreshold, holders: [] };
    results.push(j);
    if (lock.kind === "run") {
      judgeRunLock(j, c);
      continue;
    }
    if (judgeVisibility(j, c)) continue;
    if (lock.kind === "gc-pid" && judgeGcPid(j, c)) continue;
    const record = judgeHolderRecord(j, c);
    if (record === "dead") deadRecord.push(j);
    else if (record === "none") needGit.push(j);
  }
  const afterGit = judgeByGitProcesses(repo, needGit, c, exclude, bins);
  judgeByOpenFiles([...deadRecord.map((j) => ({ j, deadRecord: true })), ...afterGit.map((j) => ({ j, deadRecord: false }))], c, exclude);
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
