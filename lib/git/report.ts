/**
 * Text and JSON shapes of git-lock's reports (design.md §4, §2.2). Pure functions
 * from the data the operations return to lines; cmd/git-lock.ts prints them
 * (results on stdout, removals and hints on stderr).
 */
import type { CleanResult, Removal, ScanResult } from "./operations";
import { formatAge, type JudgedLock } from "./verdict";

export interface LockJson {
  path: string;
  kind: string;
  verdict: string;
  age_s: number;
  size: number;
  holders: { pid: number; comm: string }[];
  reason: string;
  /** clean only: removed | would-remove | kept | failed */
  action?: string;
}

export function lockJson(j: JudgedLock, action?: string): LockJson {
  const o: LockJson = {
    path: j.lock.path,
    kind: j.lock.kind,
    verdict: j.verdict,
    age_s: Math.round(j.ageMs / 100) / 10,
    size: j.lock.size,
    holders: j.holders.map((h) => ({ pid: h.pid, comm: h.comm })),
    reason: j.reason,
  };
  if (action) o.action = action;
  return o;
}

/** One line per lock: verdict, age, kind, path, reason. */
export function statusLines(r: ScanResult): string[] {
  return r.locks.map((j) => `${j.verdict.padEnd(7)} ${formatAge(j.ageMs).padStart(5)}  ${j.lock.kind.padEnd(11)} ${j.lock.path}  (${j.reason})`);
}

export const LOCKFILE_PID_HINT =
  "hint: some locks had no holder record; `git config core.lockfilePid true` makes recent git record the pid holding each lock";

export function removalLine(program: string, x: Removal, dryRun: boolean): string {
  const j = x.lock;
  const what = `${j.lock.path} (age ${formatAge(j.ageMs)}, ${j.reason})`;
  if (dryRun) return `${program}: would remove ${what}`;
  if (x.outcome.removed) return `${program}: removed ${what}`;
  return `${program}: left ${what}: ${x.outcome.detail}`;
}

export function actionOf(r: CleanResult, j: JudgedLock): string {
  const x = r.removals.find((y) => y.lock === j);
  if (!x) return "kept";
  if (r.dryRun) return "would-remove";
  return x.outcome.removed ? "removed" : "failed";
}

/** Locks left in place by clean, for stderr (so a hook author sees why). */
export function keptLines(program: string, r: CleanResult): string[] {
  return r.locks
    .filter((j) => j.verdict !== "stale")
    .map((j) => `${program}: kept ${j.lock.path} (${j.verdict}: ${j.reason})`);
}
