/**
 * Maintenance operations (design.md §5.6): --check, --checkpoint, --backup. Loaded
 * lazily (dynamic import) because ordinary calls never need it.
 *
 * What a concurrent reader or a crash can observe:
 * - check: `PRAGMA integrity_check` and `PRAGMA foreign_key_check` inside one
 *   read transaction (https://sqlite.org/pragma.html#pragma_integrity_check,
 *   #pragma_foreign_key_check). Read-only; writers are not blocked in WAL mode.
 *   Damage that makes the check itself fail (SQLITE_CORRUPT, SQLITE_NOTADB) is
 *   a finding (exit 1), not an I/O error; other I/O errors stay 74.
 * - checkpoint: `PRAGMA wal_checkpoint(MODE)` (https://sqlite.org/pragma.html#pragma_wal_checkpoint).
 *   Its first result column is 1 when a FULL/RESTART/TRUNCATE checkpoint could
 *   not complete because of readers or writers; that counts as busy and is
 *   retried within the budget, then exit 75 (the retry loop knows it by the
 *   shared busy marker, lib/core/busy.ts). A database not in WAL mode returns
 *   (0, -1, -1) and is not an error.
 * - backup: `VACUUM INTO` a temp file beside DEST, then fsync it, rename it over
 *   DEST, fsync the directory. VACUUM INTO reads inside one read transaction, so
 *   the copy is a consistent snapshot (https://sqlite.org/lang_vacuum.html#vacuuminto),
 *   but SQLite does not fsync the output ("SQLite does not invoke fsync() ... on
 *   the generated database"), hence our fsync. A reader of DEST sees the old
 *   file or the whole new copy, never a partial one; the temp file is removed on
 *   failure, on a signal between statements (registered cleanup) and before every
 *   retry. SIGKILL, or a signal or --deadline that ends a running VACUUM INTO at
 *   once (./interrupt.ts), leaves `.DEST.hardshell-PID-TAG.tmp` behind: it is
 *   named by lib/core/tempname.ts, the scheme atomic-write's temp files use, so
 *   the next --backup to DEST, and the next atomic-write of DEST, remove those
 *   of dead pids.
 *   The target file name is a bound parameter (`VACUUM INTO ?`), never spliced.
 *   The copy's mode is the source's, narrowed by an existing DEST's (a 0600
 *   database never yields a 0644 copy); the temp file has it from creation.
 */
import { accessSync, chmodSync, closeSync, constants, fsyncSync, openSync, renameSync, statSync, unlinkSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { CantCreateError, HardshellError, PermissionError, UsageError, fromErrno } from "../core/errors";
import { sqliteErrorInfo } from "./errors";
import { registerCleanup } from "../core/signals";
import { BusyError, isBusyError } from "../core/busy";
import { hardshellName, sweepDead } from "../core/tempname";
import type { Connection } from "./open";
import { runTransaction, scriptPlan, type AttemptGuard, type RunOptions, type RunOutcome } from "./run";
import { splitSql } from "./split";

export interface CheckReport {
  ok: boolean;
  problems: string[];
  outcome: RunOutcome;
}

/** SQLITE_CORRUPT* or SQLITE_NOTADB: the file is damaged, which is what --check exists to find. */
function isDamage(err: unknown): boolean {
  const cause = err instanceof HardshellError ? err.cause : err;
  const { primary } = sqliteErrorInfo(cause);
  return primary === 11 || primary === 26;
}

/**
 * Damage found by failing: integrity_check stops with SQLITE_CORRUPT on some
 * damage (the sqlite3 CLI prints the rows before it, then the error), and a
 * file with a damaged header is SQLITE_NOTADB at once. Read the rows it gets to
 * one by one, then the error itself, as findings.
 */
function damageReport(conn: Connection, err: unknown): string[] {
  const problems: string[] = [];
  let last: unknown = err;
  try {
    const st = conn.db.prepare("PRAGMA integrity_check");
    try {
      for (const row of st.iterate() as Iterable<Record<string, unknown>>) {
        const msg = String(Object.values(row)[0]);
        if (msg !== "ok") problems.push(`integrity: ${msg.replace(/\n/g, " ")}`);
      }
      last = undefined;
    } finally {
      st.finalize();
    }
  } catch (e) {
    last = e;
  }
  if (last !== undefined || problems.length === 0) {
    const info = sqliteErrorInfo(last instanceof HardshellError ? last.cause : (last ?? err));
    problems.push(`integrity: ${info.message}${info.code ? ` (${info.code})` : ""}`);
  }
  return problems;
}

export async function checkDatabase(conn: Connection, opts: RunOptions): Promise<CheckReport> {
  const stmts = splitSql("PRAGMA integrity_check; PRAGMA foreign_key_check");
  let outcome: RunOutcome;
  try {
    outcome = await runTransaction(conn, scriptPlan(stmts, [undefined, undefined]), opts);
  } catch (err) {
    if (!isDamage(err)) throw err;
    const none: RunOutcome = { sets: [], changes: 0, attempts: 1, waitedMs: 0, elapsedMs: 0, mode: "wrapped" };
    return { ok: false, problems: damageReport(conn, err), outcome: none };
  }
  const problems: string[] = [];
  const [integrity, fk] = outcome.sets;
  for (const row of integrity?.rows ?? []) {
    const msg = String(row[0]);
    if (msg !== "ok") problems.push(`integrity: ${msg}`);
  }
  for (const row of fk?.rows ?? []) {
    const [table, rowid, parent, fkid] = row;
    problems.push(`foreign key: ${String(table)} rowid ${rowid === null ? "NULL" : String(rowid)} references missing row in ${String(parent)} (constraint ${String(fkid)})`);
  }
  return { ok: problems.length === 0, problems, outcome };
}

export const CHECKPOINT_MODES = ["PASSIVE", "FULL", "RESTART", "TRUNCATE"] as const;

/** wal_checkpoint reported busy=1: readers or writers kept it from completing. Retried like SQLITE_BUSY. */
class CheckpointBusy extends BusyError {
  constructor() {
    super("checkpoint could not complete: readers or writers are active");
  }
}

/**
 * The runner retries SQLite's busy errors and what its guard calls held; a
 * checkpoint adds its own busy verdict (CheckpointBusy) to the guard it may
 * already have (--dotlock), and is otherwise unguarded.
 */
function alsoRetryBusyMarked(inner: AttemptGuard | undefined): AttemptGuard {
  return {
    enter: (conn) => inner?.enter(conn),
    leave: () => inner?.leave(),
    isHeld: (err) => isBusyError(err) || (inner?.isHeld(err) ?? false),
    get hardExitSafe() {
      return inner ? inner.hardExitSafe : true;
    },
  };
}

export async function checkpoint(conn: Connection, mode: string, opts: RunOptions): Promise<RunOutcome> {
  const m = (mode || "PASSIVE").toUpperCase();
  if (!(CHECKPOINT_MODES as readonly string[]).includes(m)) {
    throw new UsageError({ what: "bad value for --checkpoint", subject: JSON.stringify(mode), hint: `one of ${CHECKPOINT_MODES.join(", ")}` });
  }
  const stmts = splitSql(`PRAGMA wal_checkpoint(${m})`);
  return runTransaction(conn, scriptPlan(stmts, [undefined]), {
    ...opts,
    guard: alsoRetryBusyMarked(opts.guard),
    verify: (sets) => {
      const busy = sets[0]?.rows[0]?.[0];
      if (m !== "PASSIVE" && busy !== undefined && busy !== null && Number(busy) === 1) throw new CheckpointBusy();
    },
  });
}

/** Permission bits for a copy of `source` written to `dest`: the source's, narrowed by an existing DEST's. */
function copyMode(source: string, dest: string): number | undefined {
  let mode: number;
  try {
    mode = statSync(source).mode & 0o777;
  } catch {
    return undefined; // :memory: or gone: SQLite's default applies
  }
  try {
    mode &= statSync(dest).mode & 0o777;
  } catch {
    /* no DEST yet */
  }
  return mode;
}

/** Consistent online copy of the database to `dest` (temp file beside it, fsync, rename, fsync dir). */
export async function backup(conn: Connection, dest: string, opts: RunOptions): Promise<RunOutcome> {
  const dir = dirname(dest);
  try {
    if (!statSync(dir).isDirectory()) throw new CantCreateError({ what: "backup directory is not a directory", subject: dir });
  } catch (err) {
    if (err instanceof CantCreateError) throw err;
    throw new CantCreateError({ what: "backup directory does not exist", subject: dir, cause: err });
  }
  try {
    if (statSync(dest).isDirectory()) throw new CantCreateError({ what: "backup target is a directory", subject: dest });
  } catch (err) {
    if (err instanceof CantCreateError) throw err;
    /* absent: fine */
  }
  try {
    accessSync(dir, constants.W_OK | constants.X_OK);
  } catch (err) {
    throw new PermissionError({ what: "cannot write backup", subject: dest, hint: `EACCES: permission denied; this user cannot create files in ${dir}`, cause: err });
  }
  sweepDead(dir, basename(dest), "tmp");
  const tmp = join(dir, hardshellName(basename(dest), "tmp"));
  const removeTmp = () => {
    try {
      unlinkSync(tmp);
    } catch {
      /* not there */
    }
  };
  // The copy holds the source's data, so it gets no wider mode than the source
  // (nor than a DEST it replaces). The temp file is created empty with that mode
  // before VACUUM INTO fills it (an existing empty file is allowed), so the data
  // is never readable under a wider mode, not even briefly.
  const mode = copyMode(conn.path, dest);
  const freshTmp = () => {
    removeTmp();
    if (mode === undefined) return;
    try {
      closeSync(openSync(tmp, "wx", mode));
      chmodSync(tmp, mode); // exact: the umask may have narrowed it further
    } catch (err) {
      throw fromErrno(err, { what: "cannot write backup", subject: dest });
    }
  };
  const unregister = registerCleanup(removeTmp);
  try {
    const stmts = splitSql("VACUUM INTO ?");
    // Errors name the backup, not "line 1" of a script the user never wrote.
    const plan = { statements: stmts, steps: [{ stmt: 0, bind: [tmp], where: `backup to ${dest}` }] };
    const outcome = await runTransaction(conn, plan, {
      ...opts,
      open: { ...opts.open, readOnly: false }, // VACUUM INTO writes only the new file, so it works on a read-only source
      beforeAttempt: freshTmp,
    });
    try {
      const fd = openSync(tmp, "r");
      try {
        fsyncSync(fd);
      } finally {
        closeSync(fd);
      }
      renameSync(tmp, dest);
      const dfd = openSync(dir, "r");
      try {
        fsyncSync(dfd);
      } finally {
        closeSync(dfd);
      }
    } catch (err) {
      throw fromErrno(err, { what: "cannot write backup", subject: dest });
    }
    return outcome;
  } finally {
    removeTmp();
    unregister();
  }
}
