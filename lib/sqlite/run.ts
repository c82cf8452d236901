/**
 * The transaction runner (design.md §5.1): a list of statements runs as ONE
 * transaction, retried as a unit while the database is busy.
 *
 * What a concurrent reader or a crash can observe:
 * - "wrapped" mode (the usual case): the statements run between BEGIN and COMMIT,
 *   so other connections see all of the script's changes or none
 *   (https://sqlite.org/lang_transaction.html). A failure, a retry, SIGTERM
 *   (cleanup rolls back) or SIGKILL (the journal/WAL is rolled back by the next
 *   opener, https://sqlite.org/atomiccommit.html) leaves nothing behind.
 * - BEGIN IMMEDIATE is used when any statement writes (sqlite3_stmt_readonly()
 *   false, exposed by bun:sqlite as `Statement.readonly`), taking the write lock
 *   up front. A deferred transaction that reads first and writes later can
 *   fail with SQLITE_BUSY_SNAPSHOT in WAL mode without the busy handler ever
 *   being called (https://sqlite.org/lang_transaction.html#deferred_immediate_and_exclusive_transactions,
 *   https://sqlite.org/rescode.html#busy_snapshot), so read-then-write scripts
 *   would lose increments under concurrency. All read-only -> plain BEGIN.
 *   A statement that cannot be prepared before the script runs (it names a
 *   table an earlier statement creates) counts as a write.
 * - "as-written" mode: a script with its own BEGIN/COMMIT/SAVEPOINT, or with a
 *   statement that cannot run inside a transaction (VACUUM, ATTACH, DETACH,
 *   PRAGMA journal_mode / foreign_keys — the latter is a silent no-op inside a
 *   transaction, https://sqlite.org/pragma.html#pragma_foreign_keys) runs
 *   statement by statement as written. It is retried only while nothing of it
 *   has committed; a busy error after a commit is a TempFailError that says so.
 *   Each retry first DETACHes what the failed attempt ATTACHed, so it starts
 *   from the connection state the first attempt had.
 * - Rows: without `output` they are collected per attempt and handed back only
 *   after COMMIT. With `output` (./output.ts) they go to it as they are fetched:
 *   held while the attempt can still be retried, written at COMMIT, dropped on
 *   rollback; a read-only attempt goes live after its first row (it then holds
 *   its read lock / snapshot until COMMIT, so it cannot be busy any more); if it
 *   is busy anyway, that is not retried (its rows are out).
 * - Text: every string value fetched for output is checked for U+FFFD (the
 *   only sign that bun:sqlite replaced bytes that are not UTF-8); such a rare
 *   row goes through ./exact.ts, which reads the exact bytes back or refuses
 *   (65), so stored bytes are never silently printed as U+FFFD.
 * - Retries: SQLITE_BUSY_*, SQLITE_LOCKED_* and BusyError (./errors.ts isBusy), with the shared
 *   full-jitter backoff (lib/core/backoff.ts). SQLite's busy handler waits up to
 *   `busyTimeoutMs` per attempt, capped by what is left of the deadline so a
 *   `--deadline` is honoured even while SQLite itself is waiting.
 * - An optional `guard` (RunOptions, e.g. node-sqlite3-wasm's DB.lock, ./dotlock.ts)
 *   is entered before each attempt prepares anything and left after its
 *   COMMIT/ROLLBACK; "held" (a BusyError) counts as busy, through the same backoff.
 * - Stopping a running statement (./interrupt.ts): from before BEGIN until right
 *   before COMMIT, SIGINT/SIGTERM/SIGHUP take their default action (the process
 *   ends at once, nothing committed) and an explicit deadline (`stopAt`) ends
 *   it with exit 75. Both are disarmed before COMMIT, so a hard exit never hits
 *   a transaction that committed. A transaction that finished after `stopAt`
 *   is rolled back, not committed (exit 75). In as-written mode only
 *   statements that cannot commit by themselves are armed (inside a
 *   transaction and not COMMIT/END/RELEASE, or read-only, VACUUM INTO, a WAL
 *   checkpoint).
 *   With a `guard` (--dotlock) only when it is `hardExitSafe`: its DB.lock must
 *   be removed after the process stopped touching the database (its reaper
 *   does that); otherwise a signal or the deadline waits for the statement.
 * - Right before COMMIT the runner yields one event-loop turn so a signal whose
 *   JS handler is pending is handled (rollback, exit 128+N) instead of committing.
 *
 * Out of scope: opening (./open.ts), output (./format.ts), input rows (./batch.ts).
 * Calling sequence: openDatabase -> runTransaction(conn, plan, opts) -> close.
 */
import type { Database, Statement } from "bun:sqlite";
import { retryWithBackoff, type BackoffEnv, type BackoffPolicy, type RetryState } from "../core/backoff";
import { formatParts, PermissionError, TempFailError, HardshellError, withHint } from "../core/errors";
import { formatDuration } from "../core/duration";
import { checkpointSignals } from "../core/signals";
import { isBusy, sqliteErrorInfo, toHardshellError, InvalidTextError, StatementDeadlineError } from "./errors";
import type { ExactText } from "./exact";
import { armStatement, type Disarm } from "./interrupt";
import { configure, setBusyTimeout, type Connection, type OpenOptions } from "./open";
import type { SqlValue } from "./params";
import type { AttemptRows, RowOutput } from "./output";
import type { SqlStatement } from "./split";
import { expectLongRun } from "../core/jit";

export interface ResultSet {
  columns: string[];
  rows: SqlValue[][];
}

export interface Step {
  /** Index into the statement list. */
  stmt: number;
  bind: SqlValue[] | undefined;
  /** Where this step comes from, for error messages: "statement 2, line 3", "input line 17". */
  where: string;
}

export interface Plan {
  statements: SqlStatement[];
  /** Iterated once per attempt (--each re-reads its held input for a retry). */
  steps: Iterable<Step>;
}

export interface RunOptions {
  policy: BackoffPolicy;
  busyTimeoutMs: number;
  open: OpenOptions;
  env?: BackoffEnv;
  onRetry?: (err: unknown, state: RetryState, delayMs: number) => void;
  /** Replaces "nothing was committed" in error hints (--each: earlier batches did commit). */
  failNote?: string;
  /** Inspect the rows of an attempt before it counts as done; throw a busy error to retry (wal_checkpoint busy=1). */
  verify?: (sets: ResultSet[]) => void;
  /** Count changed rows (costs two extra queries; only --changes needs it). */
  countChanges?: boolean;
  /** Run before every attempt (e.g. remove a half-written backup file). */
  beforeAttempt?: () => void;
  /** Held around every attempt, from before its first statement to after COMMIT/ROLLBACK (--dotlock: ./dotlock.ts). */
  guard?: AttemptGuard;
  /**
   * performance.now() time of an explicit --deadline: a statement still running
   * then ends the process with exit 75 (./interrupt.ts); a transaction that
   * finishes after it is rolled back instead of committed.
   */
  stopAt?: number;
  /** Exit status of that hard stop: 75, or 0 under --soft. */
  stopExitCode?: number;
  /** Stream rows here instead of collecting them in RunOutcome.sets (./output.ts). */
  output?: RowOutput;
  /** Running tally over every transaction of the run, kept up to date on failure too (--stats on every exit). */
  stats?: { attempts: number; waitedMs: number };
}

/**
 * An extra lock around each attempt. `enter` either takes it or throws; a
 * BusyError (lib/core/busy.ts: the lock is held by someone else) counts as
 * busy, with the same retry and backoff as SQLITE_BUSY. `leave` runs on every
 * path after the attempt ended.
 */
export interface AttemptGuard {
  enter(conn: Connection): Promise<void> | void;
  leave(): void;
  /** True when the process may end at once mid-statement (./interrupt.ts) without leaving the guard's lock behind. */
  readonly hardExitSafe?: boolean;
}

export interface RunOutcome {
  sets: ResultSet[];
  /** Rows changed (sqlite3_total_changes delta: includes trigger and FK-action changes). */
  changes: number;
  attempts: number;
  waitedMs: number;
  elapsedMs: number;
  mode: "wrapped" | "as-written";
  /** How the (last) wrapped attempt began: "BEGIN IMMEDIATE" when the script writes. */
  began?: "BEGIN" | "BEGIN IMMEDIATE";
}

const CONTROL_WORDS = new Set(["BEGIN", "COMMIT", "END", "ROLLBACK", "SAVEPOINT", "RELEASE", "VACUUM", "ATTACH", "DETACH"]);
const OUT_OF_TX_PRAGMAS = new Set(["JOURNAL_MODE", "FOREIGN_KEYS", "WAL_CHECKPOINT"]);

/** True when a statement must run outside our BEGIN/COMMIT. */
export function isControlStatement(s: SqlStatement): boolean {
  const w = s.words;
  if (CONTROL_WORDS.has(w[0] ?? "")) return true;
  if (w[0] === "PRAGMA") {
    const name = w[2] === "." ? w[3] : w[1];
    return OUT_OF_TX_PRAGMAS.has(name ?? "");
  }
  return false;
}

const COMMITTING = new Set(["COMMIT", "END", "RELEASE"]);

/**
 * May a hard exit (./interrupt.ts) happen while this statement runs? Only when
 * it cannot commit anything itself: inside a transaction and not a committing
 * statement, or read-only outside one (sqlite3_stmt_readonly is also true for
 * COMMIT/RELEASE, hence the word check first), VACUUM INTO (it writes only
 * the new file; an interrupted one leaves the source untouched), or a WAL
 * checkpoint.
 */
function cannotCommit(s: SqlStatement, st: Statement, inTransaction: boolean): boolean {
  const w0 = s.words[0] ?? "";
  if (COMMITTING.has(w0)) return false;
  if (w0 === "VACUUM" && s.words.includes("INTO")) return true;
  // A checkpoint only copies committed pages back; an interrupted one is redone later (https://sqlite.org/wal.html#checkpointing).
  if (w0 === "PRAGMA" && s.words.includes("WAL_CHECKPOINT")) return true;
  return inTransaction || st.readonly;
}

/** Build the plan of a plain script: every statement once, with its bind values. */
export function scriptPlan(statements: SqlStatement[], binds: (SqlValue[] | undefined)[]): Plan {
  return {
    statements,
    steps: statements.map((s, i) => ({ stmt: i, bind: binds[i], where: statements.length > 1 ? `statement ${i + 1}, line ${s.line}` : `line ${s.line}` })),
  };
}

function isSyntaxError(err: unknown): boolean {
  const m = sqliteErrorInfo(err).message;
  return /syntax error|incomplete input|unrecognized token/.test(m);
}

function totalChanges(conn: Connection): number {
  const row = conn.db.query("SELECT total_changes()").values()[0];
  return Number(row?.[0] ?? 0);
}

/** Column names of a prepared statement (null: returns no rows), read once: the getter crosses into native code. */
const columnsOf = new WeakMap<Statement, { names: string[]; dup: boolean } | null>();
function columns(stmt: Statement): { names: string[]; dup: boolean } | null {
  let c = columnsOf.get(stmt);
  if (c === undefined) {
    const names = stmt.columnNames;
    c = names.length > 0 ? { names, dup: new Set(names).size !== names.length } : null;
    columnsOf.set(stmt, c);
  }
  return c;
}

const NO_ARGS: never[] = [];

/** Rows of one result after which the rest is bulk work (lib/core/jit.ts). */
const LONG_RESULT_ROWS = 1000;

/** Loaded on the first row with U+FFFD only (./exact.ts contract). */
function exactText(db: Database, s: SqlStatement, stmt: Statement, step: Step, names: string[], stepping: boolean): ExactText {
  const { ExactText } = require("./exact") as typeof import("./exact");
  return new ExactText({ db, sql: s.sql, words: s.words, bind: step.bind, readonly: stmt.readonly, sameSnapshot: stepping || db.inTransaction, names, where: step.where });
}

const REPLACEMENT = "\uFFFD";
const suspectValue = (v: SqlValue) => typeof v === "string" && v.includes(REPLACEMENT);

/** Run one step; `db` and `sql` (the statement as split) only serve re-reading bytes (./exact.ts). */
function execute(db: Database, sql: SqlStatement, stmt: Statement, step: Step, sets: ResultSet[], out?: AttemptRows, goLive?: boolean): void {
  const bind = step.bind;
  const cols = columns(stmt);
  if (cols === null) {
    // The hot path of --each (one call per input row): no spread, no extra array.
    if (bind === undefined) stmt.run();
    else stmt.run(bind as never);
    return;
  }
  const args = (bind === undefined ? NO_ARGS : [bind]) as never[];
  if (!out) {
    const rows = stmt.values(...args) as SqlValue[][];
    sets.push({ columns: cols.names, rows });
  } else if (cols.dup) {
    // iterate() yields objects keyed by column name; repeated names need values(), which fetches the whole result.
    out.begin(cols.names);
    const rows = stmt.values(...args) as SqlValue[][];
    let exact: ExactText | undefined;
    try {
      for (let k = 0; k < rows.length; k++) {
        const row = rows[k]!;
        if (row.some(suspectValue) && out.checksText) {
          // values() has finished the statement: a re-run sees the same data only inside a transaction.
          (exact ??= exactText(db, sql, stmt, step, cols.names, false)).put(k, row, out);
        } else out.row(row);
        if (goLive && !out.isLive) out.live();
      }
    } finally {
      exact?.close();
    }
  } else {
    out.begin(cols.names);
    const names = cols.names;
    const n = names.length;
    let exact: ExactText | undefined;
    let k = 0;
    try {
      for (const obj of stmt.iterate(...args) as Iterable<Record<string, SqlValue>>) {
        const row: SqlValue[] = new Array(n);
        let suspect = false;
        for (let i = 0; i < n; i++) {
          const v = obj[names[i]!]!;
          row[i] = v;
          if (typeof v === "string" && v.includes(REPLACEMENT)) suspect = true;
        }
        // Still stepping: the statement holds its read transaction, so a re-run sees the same data.
        if (suspect && out.checksText) (exact ??= exactText(db, sql, stmt, step, names, true)).put(k, row, out);
        else out.row(row);
        if (++k === LONG_RESULT_ROWS) expectLongRun();
        if (goLive && !out.isLive) out.live();
      }
    } finally {
      exact?.close();
    }
  }
}

/**
 * Text refused mid-result: say what became of the rows before it. A live
 * (read-only) attempt has printed them and changed nothing; otherwise they are
 * dropped with the rest of the attempt.
 */
function invalidTextNote(err: InvalidTextError, out: AttemptRows | undefined, note: string): InvalidTextError {
  return withHint(err, out?.isLive ? "the rows before it were printed; nothing was changed" : note);
}

/** A busy error once rows are out must not be retried: the retry would print them again. */
function notRetriedAfterOutput(err: unknown, out: AttemptRows | undefined, path: string, where?: string): unknown {
  if (!out?.isLive || !isBusy(err)) return err;
  return new TempFailError({
    what: "database is busy",
    subject: where ? `${path} [${where}]` : path,
    hint: "rows were already printed, so it is not retried; nothing was changed",
    attempts: 1,
    waitedMs: 0,
    cause: err,
  });
}

function deadlineText(conn: Connection, opts: RunOptions, where: string | undefined, note: string): { what: string; subject: string; hint: string } {
  return {
    what: "deadline reached while a statement was running",
    subject: where ? `${conn.path} [${where}]` : conn.path,
    hint: `--deadline ${formatDuration(opts.policy.deadlineMs)}; ${note}; try again later`,
  };
}

/** Arm ./interrupt.ts for the statements about to run; the message names `where` once known. */
function arm(conn: Connection, opts: RunOptions, where: () => string | undefined, note: () => string): Disarm {
  // A guard (--dotlock's DB.lock) must be released after the process stopped touching the
  // database: only when it has a helper that does so after a hard exit may the process end at once.
  if (opts.guard && !opts.guard.hardExitSafe) return () => false;
  return armStatement({
    stopAt: opts.stopAt,
    exitCode: opts.stopExitCode,
    message: () => {
      const t = deadlineText(conn, opts, where(), note());
      return formatParts(t.what, t.subject, t.hint);
    },
  });
}

/** Throw exit 75 when the deadline passed (or its message was printed) before a commit. */
function checkDeadline(conn: Connection, opts: RunOptions, printed: boolean, where: string | undefined, note: string): void {
  if (opts.stopAt === undefined) return;
  if (!printed && performance.now() < opts.stopAt) return;
  throw new StatementDeadlineError({ ...deadlineText(conn, opts, where, note), attempts: 1, waitedMs: 0, alreadyPrinted: printed });
}

/** One attempt in wrapped mode: BEGIN [IMMEDIATE] ... COMMIT. */
async function attemptWrapped(conn: Connection, plan: Plan, opts: RunOptions, info: { began?: RunOutcome["began"] }): Promise<ResultSet[]> {
  const db = conn.db;
  const prepared: (Statement | undefined)[] = [];
  let writes = false;
  let disarm: Disarm | undefined;
  const note = opts.failNote ?? "nothing was committed";
  let where: string | undefined;
  let out: AttemptRows | undefined;
  try {
    for (const [i, s] of plan.statements.entries()) {
      try {
        const st = db.prepare(s.sql);
        prepared.push(st);
        if (!st.readonly) {
          writes = true;
          if (opts.open.readOnly) {
            throw new PermissionError({
              what: "write refused in --read-only mode",
              subject: plan.statements.length > 1 ? `statement ${i + 1}, line ${s.line}` : s.sql.slice(0, 60),
              hint: "drop --read-only to write",
            });
          }
        }
      } catch (err) {
        if (err instanceof HardshellError || isBusy(err)) throw err;
        if (isSyntaxError(err)) {
          const step = Array.isArray(plan.steps) ? (plan.steps as Step[]).find((p) => p.stmt === i) : undefined;
          throw toHardshellError(err, { where: step?.where ?? `line ${s.line}`, note: opts.failNote ?? "nothing was committed" });
        }
        // Probably depends on an earlier statement (CREATE TABLE then INSERT): prepare it later, assume it writes.
        prepared.push(undefined);
        writes = true;
      }
    }
    info.began = writes ? "BEGIN IMMEDIATE" : "BEGIN";
    // The deadline message is written before BEGIN: it names the statement only when there is one.
    where = Array.isArray(plan.steps) && plan.steps.length === 1 ? (plan.steps[0] as Step).where : undefined;
    disarm = arm(conn, opts, () => where, () => note);
    db.run(info.began);
    const sets: ResultSet[] = [];
    out = opts.output?.attempt();
    for (const step of plan.steps) {
      try {
        let st = prepared[step.stmt];
        if (!st) st = prepared[step.stmt] = db.prepare(plan.statements[step.stmt]!.sql);
        execute(db, plan.statements[step.stmt]!, st, step, sets, out, !writes);
      } catch (err) {
        if (err instanceof InvalidTextError) throw invalidTextNote(err, out, note);
        if (err instanceof HardshellError) throw err;
        if (isBusy(err)) throw notRetriedAfterOutput(err, out, conn.path, step.where);
        throw toHardshellError(err, { where: step.where, note: opts.failNote ?? "nothing was committed" });
      }
    }
    // Disarm before COMMIT: from here on no hard exit may happen.
    checkDeadline(conn, opts, disarm(), where, note);
    await checkpointSignals();
    db.run("COMMIT");
    const done = out;
    out = undefined;
    done?.commit();
    return sets;
  } catch (err) {
    abandon(conn, disarm, out);
    if (!isBusy(err) && !(err instanceof HardshellError)) throw toHardshellError(err, { note: opts.failNote ?? "nothing was committed" });
    throw err;
  } finally {
    for (const st of prepared) st?.finalize();
  }
}

/**
 * After a failed statement: stop its deadline timer, drop the attempt's
 * buffered rows and roll back. A failed ROLLBACK is left alone: closing the
 * connection rolls back whatever is still open (https://sqlite.org/c3ref/close.html).
 */
function abandon(conn: Connection, disarm: Disarm | undefined, out: AttemptRows | undefined): void {
  disarm?.();
  out?.discard();
  if (!conn.db.inTransaction) return;
  try {
    conn.db.run("ROLLBACK");
  } catch {
    /* rolled back on close */
  }
}

/** One attempt in as-written mode; `progress.committed` survives across attempts. */
async function attemptAsWritten(conn: Connection, plan: Plan, opts: RunOptions, progress: { committed: string | undefined }): Promise<ResultSet[]> {
  const db = conn.db;
  const sets: ResultSet[] = [];
  const noteNow = () => (progress.committed ? `the script had committed up to ${progress.committed}` : "nothing was committed");
  const out = opts.output?.attempt();
  for (const step of plan.steps) {
    const s = plan.statements[step.stmt]!;
    let st: Statement | undefined;
    let disarm: Disarm | undefined;
    try {
      await checkpointSignals();
      checkDeadline(conn, opts, false, step.where, noteNow());
      st = db.prepare(s.sql);
      if (!st.readonly && opts.open.readOnly) {
        throw new PermissionError({ what: "write refused in --read-only mode", subject: step.where, hint: "drop --read-only to write" });
      }
      if (cannotCommit(s, st, db.inTransaction)) disarm = arm(conn, opts, () => step.where, noteNow);
      execute(db, s, st, step, sets, out);
      if (disarm) checkDeadline(conn, opts, disarm(), step.where, noteNow());
      if (!db.inTransaction && (!st.readonly || COMMITTING.has(s.words[0] ?? ""))) progress.committed ??= step.where;
    } catch (err) {
      abandon(conn, disarm, out);
      const note = progress.committed ? `the script had committed up to ${progress.committed}; not retried` : "nothing was committed";
      if (isBusy(err) && progress.committed) {
        throw new TempFailError({
          what: "database is busy",
          subject: `${conn.path} [${step.where}]`,
          hint: note,
          attempts: 1,
          waitedMs: 0,
          cause: err,
        });
      }
      if (err instanceof InvalidTextError) throw invalidTextNote(err, out, note);
      if (isBusy(err) || err instanceof HardshellError) throw err;
      throw toHardshellError(err, { where: step.where, note });
    } finally {
      st?.finalize();
    }
  }
  if (db.inTransaction) {
    // The script opened a transaction and did not close it: do not commit for it.
    db.run("ROLLBACK");
  }
  out?.commit();
  return sets;
}

/**
 * Undo what an earlier as-written attempt did to the connection itself: ATTACH
 * survives ROLLBACK (it is connection state, not database content), so a
 * retry re-running `ATTACH 'm.db' AS m` would fail with "database m is already in use".
 * Every schema but main and temp was attached by the script (the connection
 * attaches nothing itself).
 */
function detachAll(conn: Connection): void {
  const rows = conn.db.query("PRAGMA database_list").values() as unknown[][];
  for (const row of rows) {
    const name = String(row[1]);
    if (name === "main" || name === "temp") continue;
    conn.db.run(`DETACH DATABASE "${name.replace(/"/g, '""')}"`);
  }
}

/**
 * Run a plan as one transaction with retries. Returns the rows (only after
 * COMMIT) and the retry statistics; throws hardshell error values.
 */
export async function runTransaction(conn: Connection, plan: Plan, opts: RunOptions): Promise<RunOutcome> {
  const asWritten = plan.statements.some(isControlStatement);
  const progress = { committed: undefined as string | undefined };
  const info: { began?: RunOutcome["began"] } = {};
  const start = performance.now();
  let currentBusy = -1;
  let before = 0;
  let changes = 0;
  try {
    const r = await retryWithBackoff(
      async (state) => {
        if (opts.stats) opts.stats.attempts++;
        await opts.guard?.enter(conn);
        try {
          let left = opts.policy.deadlineMs - (performance.now() - start);
          // --each: the explicit deadline spans every batch, not just this one.
          if (opts.stopAt !== undefined) left = Math.min(left, opts.stopAt - performance.now());
          const busy = Math.max(0, Math.min(opts.busyTimeoutMs, Math.floor(left)));
          if (busy !== currentBusy) {
            setBusyTimeout(conn, busy);
            currentBusy = busy;
          }
          configure(conn, opts.open);
          // A retry starts from the connection state the first attempt had.
          if (asWritten && state.attempts > 1) detachAll(conn);
          opts.beforeAttempt?.();
          if (opts.countChanges) before = totalChanges(conn);
          const sets = asWritten ? await attemptAsWritten(conn, plan, opts, progress) : await attemptWrapped(conn, plan, opts, info);
          if (opts.countChanges) changes = totalChanges(conn) - before;
          opts.verify?.(sets);
          return sets;
        } finally {
          opts.guard?.leave();
        }
      },
      {
        policy: opts.policy,
        env: opts.env,
        isRetryable: isBusy,
        onRetry: (err, state, delayMs) => {
          if (opts.stats) opts.stats.waitedMs += delayMs;
          opts.onRetry?.(err, state, delayMs);
        },
        onExhausted: (last, state) => {
          const info = sqliteErrorInfo(last);
          return new TempFailError({
            what: "database is busy",
            subject: conn.path,
            hint: `${state.attempts} attempt${state.attempts === 1 ? "" : "s"} in ${formatDuration(state.elapsedMs)}, last ${info.code ?? info.message}; ${opts.failNote ?? "nothing was committed"}; try again later`,
            attempts: state.attempts,
            waitedMs: state.waitedMs,
            cause: last,
          });
        },
      },
    );
    return { sets: r.value, changes, attempts: r.attempts, waitedMs: r.waitedMs, elapsedMs: performance.now() - start, mode: asWritten ? "as-written" : "wrapped", began: info.began };
  } catch (err) {
    const dirErr = readonlyDirectory(err, conn, opts, progress.committed ? `the script had committed up to ${progress.committed}` : "nothing was committed");
    if (dirErr) throw dirErr;
    if (err instanceof HardshellError) throw err;
    throw toHardshellError(err, { note: progress.committed ? `committed up to ${progress.committed}` : "nothing was committed" });
  }
}

/**
 * SQLITE_READONLY_DIRECTORY: SQLite must create DB-journal, or DB-wal and DB-shm,
 * beside the database and this user cannot write in its directory
 * (https://sqlite.org/rescode.html#readonly_directory). A WAL database needs
 * DB-shm even to be read (https://sqlite.org/wal.html#readonly); opening it
 * with immutable=1 would skip that but is unsafe while anyone may write it.
 */
function readonlyDirectory(err: unknown, conn: Connection, opts: RunOptions, note: string): PermissionError | undefined {
  const cause = err instanceof HardshellError ? err.cause : err;
  if (sqliteErrorInfo(cause).code !== "SQLITE_READONLY_DIRECTORY") return undefined;
  const slash = conn.path.lastIndexOf("/");
  const dir = slash < 0 ? "." : conn.path.slice(0, slash) || "/";
  return opts.open.readOnly
    ? new PermissionError({
        what: "cannot read a WAL database whose directory is not writable",
        subject: conn.path,
        hint: `SQLite must create ${conn.path}-shm even to read, and this user cannot write in ${dir}; read a copy, or ask the owner to switch it to PRAGMA journal_mode=DELETE`,
        cause,
      })
    : new PermissionError({
        what: "cannot write the database: its directory is not writable",
        subject: conn.path,
        hint: `SQLite creates its journal beside the database, and this user cannot write in ${dir}; ${opts.failNote ?? note}`,
        cause,
      });
}
