/**
 * Errors are values. Every failure a command can report is one small class
 * with a fixed exit code (design.md §2.1) and reason fields instead of text to
 * parse; the one-line message is built here, printed by cmd/.
 *
 * Shape of the line (design.md §2.2): `<command>: <what failed>: <subject> (<hint>)`.
 * `what` defaults to the class' fixed description; `subject` is the path,
 * database or argument concerned; `hint` tells the user what to do.
 *
 * `fromErrno` is the one mapping from a Node/Bun system error (errno code) to
 * a hardshell error class, so every command reports EACCES, ENOSPC, ... alike:
 * the errno name goes inside the hint, with what it means
 * (`cannot create temp file: conf/.x.tmp (EACCES: permission denied)`), so the
 * subject stays right after `what` where a reader looks for it.
 *
 * `badValue` is the one wording for a bad value of any option
 * (`bad value for --timeout: "-5s" (a duration such as 250ms, 10s, 5m)`);
 * the option table (lib/cli/options.ts) produces it for every option kind.
 *
 * `errorLine` builds the printed line, the command name in front; an error
 * without a hint of its own gets its class' default hint there (a usage
 * error: `see <command> --help`), so no line leaves the user without one.
 * Subjects are paths as the user typed them: lib keeps the caller's spelling
 * for messages even where it resolves a path to work on it.
 */
import { EXIT } from "./exit";

export interface ErrorDetails {
  what?: string;
  subject?: string;
  hint?: string;
  /** Errno name of the system error behind this one (EACCES, ENOSPC, ...), when there is one. */
  errnoName?: string;
  cause?: unknown;
}

export abstract class HardshellError extends Error {
  abstract readonly kind: string;
  abstract readonly exitCode: number;
  /** Fixed description of this failure kind; `what` overrides it per call site. */
  static readonly description: string = "failed";
  /** Hint printed when the call site gave none; `$0` is the command's name. */
  static readonly defaultHint: string | undefined = undefined;
  readonly what: string;
  readonly subject?: string;
  readonly hint?: string;
  readonly errnoName?: string;

  constructor(details: ErrorDetails = {}) {
    const what = details.what ?? (new.target as unknown as { description: string }).description;
    super(formatParts(what, details.subject, details.hint), { cause: details.cause });
    this.name = new.target.name;
    this.what = what;
    this.subject = details.subject;
    this.hint = details.hint;
    this.errnoName = details.errnoName;
  }
}

/** `<what>: <subject> (<hint>)`, the parts that are present; the one place the shape is spelled out. */
export function formatParts(what: string, subject?: string, hint?: string): string {
  let s = what;
  if (subject !== undefined && subject !== "") s += `: ${subject}`;
  if (hint) s += ` (${hint})`;
  return s;
}

/**
 * One class per exit code: its `kind`, exit code, fixed description and
 * default hint, in one row each below. A class of its own (not one class with
 * a code field) so callers and tests can `instanceof` a failure kind and lib
 * modules can subclass one with reason fields (lib/sqlite/errors.ts).
 */
function errorKind<K extends string>(kind: K, exitCode: number, description: string, defaultHint?: string) {
  return class extends HardshellError {
    static override readonly description = description;
    static override readonly defaultHint = defaultHint;
    readonly kind = kind;
    readonly exitCode = exitCode;
  };
}

/** Exit 1: the answer is "no" (a compare-and-swap precondition failed, --if-absent found the file, a check found problems). */
export class AnswerNo extends errorKind("no", EXIT.NO, "precondition not met") {}
export class UsageError extends errorKind("usage", EXIT.USAGE, "bad usage", "see $0 --help") {}
export class DataError extends errorKind("data", EXIT.DATAERR, "bad input") {}
export class NoInputError extends errorKind("noinput", EXIT.NOINPUT, "does not exist") {}
export class UnavailableError extends errorKind("unavailable", EXIT.UNAVAILABLE, "required program is missing") {}
export class SoftwareError extends errorKind("software", EXIT.SOFTWARE, "internal error", "please report; rerun with HARDSHELL_DEBUG=1 for details") {}
export class CantCreateError extends errorKind("cantcreat", EXIT.CANTCREAT, "cannot create") {}
export class IoError extends errorKind("ioerr", EXIT.IOERR, "I/O error") {}
export class PermissionError extends errorKind("noperm", EXIT.NOPERM, "permission denied") {}

export interface TempFailDetails extends ErrorDetails {
  attempts: number;
  waitedMs: number;
}
/** Exit 75: busy or locked and still so when the retry budget ran out — "try again later". */
export class TempFailError extends errorKind("tempfail", EXIT.TEMPFAIL, "still busy when the retry budget ran out", "try again later") {
  readonly attempts: number;
  readonly waitedMs: number;
  constructor(details: TempFailDetails) {
    super(details);
    this.attempts = details.attempts;
    this.waitedMs = details.waitedMs;
  }
}

/** Thrown (not printed) when a handled signal interrupted the work; exit 128+N after cleanup. */
export class InterruptedError extends HardshellError {
  static override readonly description = "interrupted";
  readonly kind = "signal";
  readonly exitCode: number;
  readonly signal: string;
  constructor(signal: string, exitCode: number) {
    super({ subject: signal });
    this.signal = signal;
    this.exitCode = exitCode;
  }
}

/** Errno code of a Node/Bun system error, if it is one. */
export function errnoOf(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === "string" ? code : undefined;
}

/** What an errno name means, for the hint; the names a command can meet on files, pipes and processes. */
const ERRNO_TEXT: Record<string, string> = {
  EACCES: "permission denied",
  EPERM: "operation not permitted",
  EROFS: "read-only file system",
  ENOENT: "no such file or directory",
  ENOTDIR: "a parent is not a directory",
  EISDIR: "is a directory",
  ENXIO: "no such device or address",
  ENODEV: "no such device",
  EAGAIN: "resource temporarily unavailable",
  EBUSY: "resource busy",
  ENOSPC: "no space left on device",
  EDQUOT: "disk quota exceeded",
  EIO: "input/output error",
  EEXIST: "already exists",
  EXDEV: "not on the same file system",
  EMFILE: "too many open files",
  ENFILE: "too many open files in the system",
  ENAMETOOLONG: "file name too long",
  ELOOP: "too many levels of symbolic links",
  EPIPE: "the reader went away",
  ETXTBSY: "text file busy",
  EFBIG: "file too large",
  ENOEXEC: "not an executable",
  EINVAL: "invalid argument",
};

/** `EACCES: permission denied`, or `EACCES: <hint>` when the call site knows better. */
export function errnoHint(code: string, hint?: string): string {
  return `${code}: ${hint ?? ERRNO_TEXT[code] ?? "system error"}`;
}

/**
 * Map a system error to the hardshell error kind (design.md §2.1). `what` and
 * `subject` describe the operation (e.g. "cannot write", "app.conf"); the
 * errno name and its meaning (or the caller's `hint`) become the hint.
 */
export function fromErrno(err: unknown, details: { what: string; subject?: string; hint?: string; subjectAsTyped?: boolean }): HardshellError {
  if (err instanceof HardshellError) return err;
  const code = errnoOf(err);
  // subjectAsTyped: the caller already spells the path the way the user typed it; keep it so.
  const subject = details.subject === undefined || details.subjectAsTyped ? details.subject : displayPath(details.subject);
  const d = { ...details, subject, cause: err, errnoName: code, hint: code ? errnoHint(code, details.hint) : details.hint };
  switch (code) {
    case "ENOENT":
    case "ENOTDIR":
      return new NoInputError(d);
    case "EACCES":
    case "EPERM":
    case "EROFS":
      return new PermissionError(d);
    case "EISDIR":
    case "ENXIO":
    case "ENODEV":
      return new CantCreateError(d);
    case "EAGAIN":
    case "EBUSY":
      return new TempFailError({ ...d, attempts: 1, waitedMs: 0 });
    default:
      return new IoError(code ? d : { ...d, hint: details.hint ? `${errorText(err)}; ${details.hint}` : errorText(err) });
  }
}

/**
 * A path for a message, close to how the user typed it: lib resolves paths to
 * work on them (lib/atomic/target.ts), so a path under the current directory
 * is shown relative to it (`conf/.app.conf.hardshell-….tmp`, not
 * `/home/me/proj/conf/...`); anything else is shown as it is.
 */
export function displayPath(p: string): string {
  if (!p.startsWith("/")) return p;
  const cwd = process.cwd();
  const base = cwd.endsWith("/") ? cwd : `${cwd}/`;
  return p.startsWith(base) && p.length > base.length ? p.slice(base.length) : p;
}

/**
 * The one wording for a bad value of any option: `bad value for --NAME: "TEXT" (EXPECTED)`.
 * `expected` says what would be accepted, e.g. "a duration such as 250ms, 10s, 5m".
 */
export function badValue(option: string, value: unknown, expected: string): UsageError {
  return new UsageError({ what: `bad value for --${option}`, subject: JSON.stringify(String(value)), hint: expected });
}

/** Hint printed for `err` when it has none of its own; `program` replaces `$0`. */
function defaultHintOf(err: HardshellError, program: string): string | undefined {
  const h = (err.constructor as unknown as { defaultHint?: string }).defaultHint;
  return h?.replace("$0", program);
}

/**
 * The printed line for an error value (design.md §2.2):
 * `<command>: <what failed>: <subject> (<hint>)`.
 */
export function errorLine(program: string, err: HardshellError): string {
  return `${program}: ${formatParts(err.what, err.subject, err.hint ?? defaultHintOf(err, program))}`;
}

/** A line of the same shape for a notice that is not an error (a removed stale lock, a warning). */
export function noticeLine(program: string, what: string, subject?: string, hint?: string): string {
  return `${program}: ${formatParts(what, subject, hint)}`;
}

/** The same error with `note` added to its hint (e.g. "did you forget `--`?"); the class and fields are kept. */
export function withHint<E extends HardshellError>(err: E, note: string): E {
  if (err.hint?.includes(note)) return err;
  const copy = Object.assign(Object.create(Object.getPrototypeOf(err)) as E, err);
  const hint = err.hint ? `${err.hint}; ${note}` : note;
  Object.defineProperty(copy, "hint", { value: hint, enumerable: true });
  Object.defineProperty(copy, "message", { value: formatParts(err.what, err.subject, hint), enumerable: false, writable: true, configurable: true });
  return copy;
}

/** Text of an unknown thrown value, one line. */
export function errorText(err: unknown): string {
  const msg = err instanceof Error ? err.message : String(err);
  return msg.split("\n")[0] ?? "";
}
