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
 * a hardshell error class, so every command reports EACCES, ENOSPC, ... alike.
 */
import { EXIT } from "./exit";

export interface ErrorDetails {
  what?: string;
  subject?: string;
  hint?: string;
  cause?: unknown;
}

export abstract class HardshellError extends Error {
  abstract readonly kind: string;
  abstract readonly exitCode: number;
  /** Fixed description of this failure kind; `what` overrides it per call site. */
  static readonly description: string = "failed";
  readonly what: string;
  readonly subject?: string;
  readonly hint?: string;

  constructor(details: ErrorDetails = {}) {
    const what = details.what ?? (new.target as unknown as { description: string }).description;
    super(formatParts(what, details.subject, details.hint), { cause: details.cause });
    this.name = new.target.name;
    this.what = what;
    this.subject = details.subject;
    this.hint = details.hint;
  }
}

function formatParts(what: string, subject?: string, hint?: string): string {
  let s = what;
  if (subject !== undefined && subject !== "") s += `: ${subject}`;
  if (hint) s += ` (${hint})`;
  return s;
}

/** Exit 1: the answer is "no" (a compare-and-swap precondition failed, --if-absent found the file, a check found problems). */
export class AnswerNo extends HardshellError {
  static override readonly description = "precondition not met";
  readonly kind = "no";
  readonly exitCode = EXIT.NO;
}
export class UsageError extends HardshellError {
  static override readonly description = "bad usage";
  readonly kind = "usage";
  readonly exitCode = EXIT.USAGE;
}
export class DataError extends HardshellError {
  static override readonly description = "bad input";
  readonly kind = "data";
  readonly exitCode = EXIT.DATAERR;
}
export class NoInputError extends HardshellError {
  static override readonly description = "does not exist";
  readonly kind = "noinput";
  readonly exitCode = EXIT.NOINPUT;
}
export class UnavailableError extends HardshellError {
  static override readonly description = "required program is missing";
  readonly kind = "unavailable";
  readonly exitCode = EXIT.UNAVAILABLE;
}
export class SoftwareError extends HardshellError {
  static override readonly description = "internal error";
  readonly kind = "software";
  readonly exitCode = EXIT.SOFTWARE;
}
export class CantCreateError extends HardshellError {
  static override readonly description = "cannot create";
  readonly kind = "cantcreat";
  readonly exitCode = EXIT.CANTCREAT;
}
export class IoError extends HardshellError {
  static override readonly description = "I/O error";
  readonly kind = "ioerr";
  readonly exitCode = EXIT.IOERR;
}
export class PermissionError extends HardshellError {
  static override readonly description = "permission denied";
  readonly kind = "noperm";
  readonly exitCode = EXIT.NOPERM;
}

export interface TempFailDetails extends ErrorDetails {
  attempts: number;
  waitedMs: number;
}
/** Exit 75: busy or locked and still so when the retry budget ran out — "try again later". */
export class TempFailError extends HardshellError {
  static override readonly description = "still busy when the retry budget ran out";
  readonly kind = "tempfail";
  readonly exitCode = EXIT.TEMPFAIL;
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

/**
 * Map a system error to the hardshell error kind (design.md §2.1). `what` and
 * `subject` describe the operation (e.g. "cannot write", "/etc/app.conf").
 */
export function fromErrno(err: unknown, details: { what: string; subject?: string; hint?: string }): HardshellError {
  if (err instanceof HardshellError) return err;
  const code = errnoOf(err);
  const d = { ...details, cause: err };
  const reason = code ? `${details.what} (${code})` : details.what;
  switch (code) {
    case "ENOENT":
    case "ENOTDIR":
      return new NoInputError({ ...d, what: reason });
    case "EACCES":
    case "EPERM":
    case "EROFS":
      return new PermissionError({ ...d, what: reason });
    case "EISDIR":
    case "ENXIO":
    case "ENODEV":
      return new CantCreateError({ ...d, what: reason });
    case "EAGAIN":
    case "EBUSY":
      return new TempFailError({ ...d, what: reason, attempts: 1, waitedMs: 0 });
    default:
      return new IoError({ ...d, what: code ? reason : `${details.what}: ${errorText(err)}` });
  }
}

/** Text of an unknown thrown value, one line. */
export function errorText(err: unknown): string {
  const msg = err instanceof Error ? err.message : String(err);
  return msg.split("\n")[0] ?? "";
}
