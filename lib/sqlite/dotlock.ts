/**
 * `sqlite-exec --dotlock`: honour, and when stale heal, the `DB.lock` directory
 * that node-sqlite3-wasm uses instead of SQLite's POSIX locks (design.md §6).
 *
 * The peer's protocol (node-sqlite3-wasm's VFS, dist/node-sqlite3-wasm.js):
 * xLock at ANY level (readers too) does `mkdir(path.resolve(DB) + ".lock")`,
 * EEXIST -> SQLITE_BUSY; xUnlock to NONE does `rmdir` of it. Its busy timeout
 * is 0, it never refreshes the directory's mtime, and it ignores POSIX advisory
 * locks, so native SQLite clients and it do not see each other's locks at all.
 *
 * What a concurrent node-sqlite3-wasm client can and cannot observe:
 * - While a `--dotlock` attempt runs (from before its first statement is
 *   prepared, through BEGIN ... COMMIT/ROLLBACK and statement finalization),
 *   we hold DB.lock: the peer's mkdir fails and its app gets "database is
 *   locked". It can never read our half-written pages or treat our journal
 *   as hot.
 * - While the peer holds DB.lock, our mkdir fails: the attempt is "busy" and
 *   goes through the same retry/backoff as SQLITE_BUSY (./run.ts). We never
 *   touch the file while it writes, and never roll back its journal.
 * - A signal (SIGINT/SIGTERM/SIGHUP) between statements closes the connection
 *   (rolling back) and only then removes DB.lock, so the peer can never get
 *   the lock while our transaction is still open. A signal or --deadline that
 *   ends a running statement at once, or SIGKILL, leaves the removal to the
 *   reaper (below), which acts only once this process is gone.
 *
 * What a crash can observe:
 * - A peer killed mid-transaction leaves DB.lock/ (and maybe a hot journal)
 *   forever. We call a DB.lock STALE when (1) it is an empty directory owned
 *   by our uid (or we are root), (2) no other live process has DB (or its
 *   -journal) open — a lock holder always has DB open, and this is the
 *   shared process-table scan of lib/core/procscan.ts `fileHolders` — and (3)
 *   its mtime is older than `staleMs`. When liveness cannot be seen (no /proc,
 *   another pid namespace, a network file system; lib/core/procscan.ts
 *   livenessVisibility) it is never stale. A stale DB.lock is cleared
 *   race-free (lib/core/takeover.ts): under a kernel flock(2) on the lock
 *   directory itself (which dies with its holder, so it never goes stale) it
 *   is judged again, must still be the same directory (dev, inode and ctime —
 *   utimes cannot fake a ctime), is renamed aside to
 *   `.<name>.hardshell-<pid>-<tag>.stale` (lib/core/tempname.ts) and rmdir'ed;
 *   `onCleared` reports path, age and reason. Then the normal mkdir follows;
 *   whoever wins it (us or a peer) holds the lock. Native SQLite rolls the
 *   hot journal back on our first read, under our DB.lock.
 * - We are SIGKILLed while holding DB.lock: we had DB open, so while we live
 *   no one judges it stale; afterwards it is stale like a peer's.
 * - SIGKILL between the rename aside and its rmdir leaves an aside name; the
 *   next clear in that directory removes it once its pid is dead.
 *
 * Assumptions: the peer opened DB by the same spelling we lock. It locks
 * `path.resolve(its path) + ".lock"` (no symlink resolution), so we take both
 * `resolve(DB).lock` and `realpath(DB).lock` when they differ (in that order,
 * never waiting while holding one). mkdir/rename/rmdir are atomic in one
 * directory. No one removes a DB.lock they do not hold except a hardshell
 * clearer under the flock (node-sqlite3-wasm only rmdirs its own).
 * The database is in rollback-journal mode: node-sqlite3-wasm cannot use WAL.
 *
 * Calling sequence: openDatabase -> new DotLock(dbPath, opts) passed as
 * RunOptions.guard -> runTransaction calls enter(conn) before and leave()
 * after every attempt. The cheap "a DB.lock exists" probe used for the
 * warning without --dotlock lives in ./open.ts (one stat, no node:fs load).
 *
 * Out of scope: a process that keeps DB open for other reasons (a long-lived
 * native client, or a live peer that is merely stuck behind the dead one's
 * lock) keeps a stale DB.lock from being cleared — the busy diagnostic names
 * it; peers in another container sharing the file (invisible in /proc: the
 * age threshold is the only guard there); peers on other hosts.
 * This module never prints and never exits; errors are values.
 */
import { lstatSync, mkdirSync, readdirSync, realpathSync, rmdirSync } from "node:fs";
import { basename, dirname, resolve } from "node:path";
import { BusyError, isBusyError } from "../core/busy";
import { errnoOf, fromErrno, UsageError } from "../core/errors";
import { formatDuration, parseDuration } from "../core/duration";
import { fileHolders, livenessVisibility, type FileHolder } from "../core/procscan";
import { removeStaleUnderFlock } from "../core/takeover";
import { registerCleanup } from "../core/signals";
import type { Connection, OpenOptions } from "./open";
import type { AttemptGuard } from "./run";

/**
 * Default stale threshold. Liveness (who has DB open) is the real evidence;
 * the age is a second guard for holders /proc cannot show (a container
 * sharing the file) and for a scan racing a fresh holder. A node-sqlite3-wasm
 * transaction normally holds DB.lock for milliseconds; 30 s is far beyond
 * that and the same number git-lock uses when liveness is visible.
 */
export const DEFAULT_DOTLOCK_STALE_MS = 30_000;

export type DotLockVerdict = "gone" | "young" | "held" | "unknown" | "stale";

export interface DotLockJudgement {
  verdict: DotLockVerdict;
  ageMs: number;
  /** Why, in words, for diagnostics. */
  reason: string;
  holders: FileHolder[];
  /** Identity of the judged directory; ctime too, since a freed inode number is reused at once (ext4). */
  dev?: number;
  ino?: number;
  ctimeMs?: number;
}

/** The lock directories node-sqlite3-wasm would use for `dbPath`: resolve(DB).lock, and realpath(DB).lock when different. */
export function dotlockPaths(dbPath: string): string[] {
  const byName = `${resolve(dbPath)}.lock`;
  let real: string;
  try {
    real = `${realpathSync(dbPath)}.lock`;
  } catch {
    return [byName];
  }
  return real === byName ? [byName] : [byName, real];
}

/** The database file a lock directory belongs to. */
function dbOf(lockPath: string): string {
  return lockPath.slice(0, -".lock".length);
}

/**
 * Is the DB.lock at `lockPath` stale? (see the contract above). Cheap checks
 * first: the /proc scan runs only for a lock already older than `staleMs`.
 */
export function judgeDotLock(lockPath: string, staleMs: number, now: number = Date.now()): DotLockJudgement {
  let st;
  try {
    st = lstatSync(lockPath);
  } catch (err) {
    if (errnoOf(err) === "ENOENT") return { verdict: "gone", ageMs: 0, reason: "gone", holders: [] };
    return { verdict: "unknown", ageMs: 0, reason: `cannot stat (${errnoOf(err) ?? "error"})`, holders: [] };
  }
  const ageMs = Math.max(0, now - st.mtimeMs);
  const base = { ageMs, dev: st.dev, ino: st.ino, ctimeMs: st.ctimeMs, holders: [] as FileHolder[] };
  const age = `age ${formatDuration(ageMs)}`;
  if (!st.isDirectory()) return { ...base, verdict: "unknown", reason: `not a directory, not node-sqlite3-wasm's lock; ${age}` };
  if (ageMs < staleMs) return { ...base, verdict: "young", reason: `${age}, younger than the stale threshold ${formatDuration(staleMs)}` };
  const uid = process.getuid?.();
  if (uid !== undefined && uid !== 0 && st.uid !== uid) {
    return { ...base, verdict: "unknown", reason: `owned by uid ${st.uid}, whose open files are not visible; ${age}` };
  }
  try {
    if (readdirSync(lockPath).length > 0) return { ...base, verdict: "unknown", reason: `not empty, not node-sqlite3-wasm's lock; ${age}` };
  } catch (err) {
    return { ...base, verdict: "unknown", reason: `cannot list (${errnoOf(err) ?? "error"}); ${age}` };
  }
  const vis = livenessVisibility(dirname(lockPath));
  if (!vis.visible) return { ...base, verdict: "unknown", reason: `liveness not visible (${vis.reason}); ${age}` };
  const db = dbOf(lockPath);
  let real = db;
  try {
    real = realpathSync(db);
  } catch {
    /* database gone: nobody can hold it open by this name */
  }
  const holders = fileHolders([real, `${real}-journal`], { exclude: new Set([process.pid]) });
  if (holders.length > 0) {
    const who = [...new Map(holders.map((h) => [h.pid, `pid ${h.pid} (${h.comm})`])).values()].join(", ");
    return { ...base, holders, verdict: "held", reason: `${who} has ${basename(db)} open; ${age}` };
  }
  return { ...base, verdict: "stale", reason: `no process has ${basename(db)} open; ${age}` };
}

/** DB.lock is held by someone else: retried like SQLITE_BUSY (RunOptions.guard.isHeld, the shared busy marker). */
export class DotLockHeld extends BusyError {
  constructor(
    readonly lockPath: string,
    readonly judgement: DotLockJudgement,
  ) {
    super(`${lockPath} held: ${judgement.reason}`);
    this.name = "DotLockHeld";
  }
}

export interface ClearedDotLock {
  path: string;
  ageMs: number;
  reason: string;
}

export interface DotLockOptions {
  /** A DB.lock older than this with no live holder is stale. */
  staleMs: number;
  /** Told about each stale DB.lock removed (cmd/ prints one line). */
  onCleared?: (c: ClearedDotLock) => void;
}

/**
 * Remove the stale DB.lock at `lockPath`, serialized under flock(2) on its
 * directory and re-judged there (same inode, still stale). Returns the final
 * judgement when removed, undefined when someone else got there first or it
 * is no longer stale.
 */
export async function clearStaleDotLock(lockPath: string, judged: DotLockJudgement, staleMs: number): Promise<DotLockJudgement | undefined> {
  let again: DotLockJudgement | undefined;
  return removeStaleUnderFlock(lockPath, {
    what: "DB.lock",
    stillStale: () => {
      again = judgeDotLock(lockPath, staleMs);
      return again.verdict === "stale" && again.ino === judged.ino && again.dev === judged.dev && again.ctimeMs === judged.ctimeMs;
    },
    removeAside: (aside) => {
      try {
        rmdirSync(aside); // rmdir, not rm -r: node-sqlite3-wasm's lock is an empty directory
      } catch (err) {
        throw fromErrno(err, { what: "cannot remove stale DB.lock (moved aside)", subject: aside });
      }
    },
    then: () => again,
  });
}

/**
 * The attempt guard of `sqlite-exec --dotlock` (see the contract above).
 * enter(): take every DB.lock (clearing a stale one first) or throw
 * DotLockHeld; leave(): rmdir what enter() took. Both are idempotent.
 */
export class DotLock implements AttemptGuard {
  private paths: string[] | undefined;
  private held: string[] = [];
  private reaper: Reaper | undefined;
  private unregister: (() => void) | undefined;
  private conn: Connection | undefined;
  constructor(
    readonly dbPath: string,
    readonly opts: DotLockOptions,
  ) {}

  /** The lock directories (computed on first use: the database must exist by then). */
  lockPaths(): string[] {
    return (this.paths ??= dotlockPaths(this.dbPath));
  }

  /** True while a reaper will remove what we hold should the process end at once (./interrupt.ts). */
  get hardExitSafe(): boolean {
    return this.reaper?.usable ?? false;
  }

  async enter(conn?: Connection): Promise<void> {
    if (this.held.length > 0) return;
    this.conn = conn;
    this.reaper ??= Reaper.start(this.lockPaths());
    // On a signal: close (rolls back) BEFORE the peer can get DB.lock.
    this.unregister = registerCleanup(() => {
      conn?.close();
      this.release();
    });
    try {
      for (const p of this.lockPaths()) await this.take(p);
    } catch (err) {
      this.leave();
      throw err;
    }
  }

  leave(): void {
    // The runner rolls back on every failure; should that ROLLBACK itself have failed, close
    // (which rolls back) rather than let the peer in while our transaction is open.
    const db = this.conn?.db;
    if (db && this.held.length > 0) {
      try {
        if (db.inTransaction) db.run("ROLLBACK");
      } catch {
        this.conn?.close();
      }
    }
    this.release();
    this.unregister?.();
    this.unregister = undefined;
  }

  isHeld(err: unknown): boolean {
    return isBusyError(err);
  }

  private async take(p: string): Promise<void> {
    for (let round = 1; ; round++) {
      if (this.tryMkdir(p)) return;
      const j = judgeDotLock(p, this.opts.staleMs);
      // "gone": released between our mkdir and lstat; "stale": cleared below. Either way one more mkdir, no more.
      if (round > 2 || (j.verdict !== "stale" && j.verdict !== "gone")) throw new DotLockHeld(p, j);
      if (j.verdict === "stale") {
        const removed = await clearStaleDotLock(p, j, this.opts.staleMs);
        if (!removed) throw new DotLockHeld(p, { ...j, reason: `being cleared by another process; ${j.reason}` });
        this.opts.onCleared?.({ path: p, ageMs: removed.ageMs, reason: removed.reason });
      }
    }
  }

  private tryMkdir(p: string): boolean {
    try {
      mkdirSync(p);
    } catch (err) {
      if (errnoOf(err) === "EEXIST") return false;
      throw fromErrno(err, { what: "cannot take DB.lock", subject: p });
    }
    this.held.push(p);
    try {
      const st = lstatSync(p);
      this.reaper?.tell(`H ${st.dev}:${st.ino} ${p}`);
    } catch {
      this.reaper?.disable();
    }
    return true;
  }

  private release(): void {
    // Tell the reaper first: it must never remove a DB.lock after we released it.
    if (this.held.length > 0) this.reaper?.tell("R");
    while (this.held.length > 0) {
      const p = this.held.pop()!;
      try {
        rmdirSync(p);
      } catch {
        /* gone already, or unremovable: it then ages into a stale lock a later run clears */
      }
    }
  }
}

/**
 * The reaper: removes the DB.lock directories we hold once this process is
 * gone, for exits that run no JS (a signal or --deadline ending a running
 * statement at once, ./interrupt.ts; SIGKILL). A `sh` in its own session
 * (setsid, and it ignores INT/TERM/HUP, so a group-wide ^C or `timeout` does
 * not reach it) reads lines from a pipe whose only writer is this process:
 * `H DEV:INO PATH` after each mkdir, `R` before each release. EOF means every
 * thread of this process is gone, so it touches the database no more and
 * SQLite's locks are released; then, if the last word was H, each DB.lock
 * that is still the same directory (dev:ino) is rmdir'ed — the order the
 * signal cleanup keeps too (roll back, then release). A line that cannot be
 * written whole disables it (SIGKILL), so it never acts on stale knowledge.
 * Linux only (GNU/busybox `stat -c`); paths with a newline get none. Cost:
 * one spawn per --dotlock run (0.3-4 ms measured), nothing without --dotlock.
 */
const REAPER_SCRIPT = `trap '' INT TERM HUP
held=""
while IFS= read -r line; do
  case "$line" in
    "H "*) held="$held\${line#H }
" ;;
    R) held="" ;;
  esac
done
printf '%s' "$held" | while IFS= read -r e; do
  id=\${e%% *}; p=\${e#* }
  [ "$(stat -c %d:%i -- "$p" 2>/dev/null)" = "$id" ] && rmdir -- "$p"
done
`;

class Reaper {
  usable = true;
  private constructor(
    private readonly proc: import("bun").Subprocess,
    private readonly sink: import("bun").FileSink,
  ) {}

  static start(paths: string[]): Reaper | undefined {
    if (process.platform !== "linux" || paths.some((p) => p.includes("\n"))) return undefined;
    try {
      const proc = Bun.spawn(["/bin/sh", "-c", REAPER_SCRIPT], { stdin: "pipe", stdout: "ignore", stderr: "ignore", detached: true });
      proc.unref();
      return new Reaper(proc, proc.stdin);
    } catch {
      return undefined;
    }
  }

  tell(line: string): void {
    if (!this.usable) return;
    const data = `${line}\n`;
    try {
      const n = this.sink.write(data);
      const f = this.sink.flush();
      if (n !== Buffer.byteLength(data) || typeof f !== "number") this.disable();
    } catch {
      this.disable();
    }
  }

  disable(): void {
    this.usable = false;
    try {
      this.proc.kill(9);
    } catch {
      /* gone */
    }
  }
}

/**
 * The guard for `sqlite-exec --dotlock [--dotlock-stale D]` (UsageError for
 * combinations that cannot interoperate: WAL, which node-sqlite3-wasm cannot
 * open, and in-memory databases, which have no file to lock).
 */
export function dotlockGuard(open: OpenOptions, staleText: string | undefined, onCleared?: (c: ClearedDotLock) => void): DotLock {
  if (open.wal) throw new UsageError({ what: "--dotlock and --wal exclude each other", hint: "node-sqlite3-wasm cannot open WAL databases" });
  if (open.path === "" || open.path === ":memory:") throw new UsageError({ what: "--dotlock needs a database file", subject: JSON.stringify(open.path) });
  const staleMs = staleText === undefined ? DEFAULT_DOTLOCK_STALE_MS : parseDuration(staleText, "dotlock-stale");
  return new DotLock(open.path, { staleMs, onCleared });
}
