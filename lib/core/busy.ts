/**
 * The one "busy" marker: a failure that means "someone else holds it right
 * now; another attempt later may succeed". The hardshell lock held by another
 * process (./dirlock.ts), node-sqlite3-wasm's DB.lock held by a peer
 * (lib/sqlite/dotlock.ts) and a WAL checkpoint blocked by readers
 * (lib/sqlite/maint.ts) all extend `BusyError`, so a retry loop asks one
 * question, `isBusyError(err)`, instead of knowing each class. SQLite's own
 * SQLITE_BUSY/LOCKED stay SQLite errors (lib/sqlite/errors.ts isBusy).
 * These are never shown to the user: when the retry budget runs out, the
 * caller turns the last one into a TempFailError (exit 75).
 */
const BUSY = Symbol.for("hardshell.busy");

export abstract class BusyError extends Error {
  readonly [BUSY] = true as const;
}

/** True for every BusyError, whichever module made it. */
export function isBusyError(err: unknown): err is BusyError {
  return typeof err === "object" && err !== null && (err as { [BUSY]?: unknown })[BUSY] === true;
}
