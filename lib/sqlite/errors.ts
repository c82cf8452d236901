/**
 * SQLite result codes -> retry decision and hardshell error kinds (design.md §5.1, §2.1).
 *
 * Source of the codes: https://sqlite.org/rescode.html. An extended code keeps
 * its primary code in the low 8 bits ("the least significant 8 bits of the
 * extended result code define the primary result code"), so every
 * SQLITE_BUSY_* (RECOVERY 261, SNAPSHOT 517, TIMEOUT 773) is `errno & 0xff === 5`
 * and every SQLITE_LOCKED_* (SHAREDCACHE 262, VTAB 518) is `errno & 0xff === 6`.
 *
 * Verified with bun 1.4.5: bun:sqlite throws `SQLiteError` with `code` (the
 * extended name, e.g. "SQLITE_CONSTRAINT_NOTNULL"), `errno` (the extended number,
 * e.g. 1299) and `byteOffset` (-1 when unknown). Errors that are not SQLiteError
 * (a JS TypeError from a bad bind) are classified by message only.
 *
 * Contract: pure classification. Retried (`isBusy`) are BUSY* and LOCKED*, and
 * every error carrying the shared busy marker (lib/core/busy.ts: DB.lock held
 * by a peer, a checkpoint kept from completing); every other failure keeps its
 * SQLiteError as `cause` and becomes
 *   PERM / READONLY / AUTH                    -> PermissionError (77)
 *   IOERR / CORRUPT / FULL / NOTADB / CANTOPEN / NOLFS / PROTOCOL / NOMEM -> IoError (74)
 *   INTERNAL / MISUSE                         -> SoftwareError (70)
 *   everything else (ERROR, CONSTRAINT, MISMATCH, RANGE, TOOBIG, ...) -> DataError (65)
 */
import { isBusyError } from "../core/busy";
import { DataError, HardshellError, IoError, PermissionError, SoftwareError, TempFailError, errorText } from "../core/errors";

export const SQLITE_BUSY = 5;
export const SQLITE_LOCKED = 6;

const PRIMARY_NAMES: Record<number, string> = {
  1: "SQLITE_ERROR", 2: "SQLITE_INTERNAL", 3: "SQLITE_PERM", 4: "SQLITE_ABORT", 5: "SQLITE_BUSY",
  6: "SQLITE_LOCKED", 7: "SQLITE_NOMEM", 8: "SQLITE_READONLY", 9: "SQLITE_INTERRUPT", 10: "SQLITE_IOERR",
  11: "SQLITE_CORRUPT", 12: "SQLITE_NOTFOUND", 13: "SQLITE_FULL", 14: "SQLITE_CANTOPEN", 15: "SQLITE_PROTOCOL",
  16: "SQLITE_EMPTY", 17: "SQLITE_SCHEMA", 18: "SQLITE_TOOBIG", 19: "SQLITE_CONSTRAINT", 20: "SQLITE_MISMATCH",
  21: "SQLITE_MISUSE", 22: "SQLITE_NOLFS", 23: "SQLITE_AUTH", 24: "SQLITE_FORMAT", 25: "SQLITE_RANGE", 26: "SQLITE_NOTADB",
};

export interface SqliteErrorInfo {
  /** Extended result code, or undefined when the error is not from SQLite. */
  errno?: number;
  /** Primary result code (errno & 0xff). */
  primary?: number;
  /** Extended code name, e.g. "SQLITE_BUSY_SNAPSHOT". */
  code?: string;
  message: string;
}

/** Read the fields bun:sqlite's SQLiteError carries. */
export function sqliteErrorInfo(err: unknown): SqliteErrorInfo {
  const e = err as { errno?: unknown; code?: unknown; name?: unknown } | null;
  const message = errorText(err);
  if (e && typeof e.errno === "number" && (e.name === "SQLiteError" || (typeof e.code === "string" && e.code.startsWith("SQLITE_")))) {
    const primary = e.errno & 0xff;
    const code = typeof e.code === "string" ? e.code : PRIMARY_NAMES[primary];
    return { errno: e.errno, primary, code, message };
  }
  return { message };
}

/**
 * Worth another attempt: SQLITE_BUSY or SQLITE_LOCKED with any extended code,
 * or a BusyError (lib/core/busy.ts), so the runner asks one question whatever
 * kept the attempt out.
 */
export function isBusy(err: unknown): boolean {
  if (isBusyError(err)) return true;
  if (err instanceof HardshellError) return false;
  const { primary } = sqliteErrorInfo(err);
  return primary === SQLITE_BUSY || primary === SQLITE_LOCKED;
}

export interface ErrorContext {
  /** e.g. "statement 2, line 3". */
  where?: string;
  /** Extra hint appended after the code, e.g. "nothing was committed". */
  note?: string;
}

/** Map a non-retryable SQLite failure to its hardshell error value (cause kept). */
export function toHardshellError(err: unknown, ctx: ErrorContext = {}): HardshellError {
  if (err instanceof HardshellError) return err;
  const info = sqliteErrorInfo(err);
  const subject = ctx.where ? `${info.message} [${ctx.where}]` : info.message;
  const hint = [info.code, ctx.note].filter(Boolean).join("; ") || undefined;
  const d = { subject, hint, cause: err };
  switch (info.primary) {
    case 3:
    case 8:
    case 23:
      return new PermissionError({ ...d, what: "read-only or not permitted" });
    case 7:
    case 10:
    case 11:
    case 13:
    case 14:
    case 15:
    case 22:
    case 26:
      return new IoError({ ...d, what: "database I/O error" });
    case 2:
    case 21:
      return new SoftwareError({ ...d, what: "internal SQLite misuse", hint: `${hint ?? ""}; please report`.replace(/^; /, "") });
    case undefined:
      // Not an SQLite error: a bind of an unsupported value and the like.
      return new DataError({ ...d, what: "SQL error" });
    default:
      return new DataError({ ...d, what: "SQL error" });
  }
}

/**
 * Exit 75: an explicit `--deadline` passed while a statement was running (or
 * before its COMMIT). The transaction was rolled back. `alreadyPrinted` is
 * true when the native deadline timer (./interrupt.ts) already wrote the
 * message, so the command must not print it twice.
 */
export class StatementDeadlineError extends TempFailError {
  readonly alreadyPrinted: boolean;
  constructor(details: ConstructorParameters<typeof TempFailError>[0] & { alreadyPrinted?: boolean }) {
    super(details);
    this.alreadyPrinted = details.alreadyPrinted ?? false;
  }
}

/**
 * Exit 65: a TEXT value read from the database is not valid UTF-8 (stored
 * through `CAST(x'..' AS TEXT)` or a client that does not check), and it can
 * be neither printed byte for byte nor verified (./exact.ts):
 * - "format": its bytes are known, but json, jsonl and table cannot carry
 *   invalid UTF-8 (a JSON string is Unicode text);
 * - "unverifiable": bun:sqlite handed it over with U+FFFD in place of bytes,
 *   and its exact bytes could not be read back (`why`: a writing statement
 *   such as INSERT ... RETURNING runs only once; a re-run gave another row).
 * `column` and `row` (1-based within the statement's result) name the value.
 */
export class InvalidTextError extends DataError {
  readonly reason: "format" | "unverifiable";
  readonly column: string;
  readonly row: number;
  constructor(d: { reason: "format" | "unverifiable"; column: string; row: number; where?: string; format?: string; why?: string }) {
    const col = /^[A-Za-z_][A-Za-z0-9_]*$/.test(d.column) ? d.column : `"${d.column.replace(/"/g, '""')}"`;
    const blob = `select CAST(${col} AS BLOB) to see its bytes as hex`;
    super({
      what: d.reason === "format" ? `text that is not valid UTF-8 cannot be printed as ${d.format}` : "text containing U+FFFD could not be checked for invalid UTF-8",
      subject: `column ${d.column}, row ${d.row}${d.where ? ` [${d.where}]` : ""}`,
      hint: d.reason === "format" ? `${blob}, or print it with --format tsv, csv or --raw` : `${d.why ?? "its bytes could not be read back"}; ${blob}`,
    });
    this.reason = d.reason;
    this.column = d.column;
    this.row = d.row;
  }
}
