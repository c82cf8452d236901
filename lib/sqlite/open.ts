/**
 * Opening a database the sqlite-exec way (design.md §5.2).
 *
 * Contract:
 * - The file must exist unless `create`: a typo must not leave an empty
 *   database behind. The open itself uses SQLITE_OPEN_READWRITE without
 *   SQLITE_OPEN_CREATE (https://sqlite.org/c3ref/open.html), so even a file
 *   deleted between our stat and the open is reported, never re-created.
 *   Missing -> NoInputError (66); a directory or missing parent with --create
 *   -> CantCreateError (73); unreadable, or --create in a directory this user
 *   cannot write -> PermissionError (77) saying so (access(2), asked only
 *   after the open failed).
 * - `readOnly` opens with SQLITE_OPEN_READONLY; SQLite then refuses every write
 *   with SQLITE_READONLY (77).
 * - Connection settings applied on every open, before the first statement:
 *   busy_timeout (https://sqlite.org/pragma.html#pragma_busy_timeout),
 *   foreign_keys=ON unless disabled (SQLite's default is OFF for backwards
 *   compatibility, https://sqlite.org/foreignkeys.html#fk_enable),
 *   synchronous, and user `--pragma NAME=VALUE`. `--wal` runs
 *   `PRAGMA journal_mode=WAL`, which is persistent in the file
 *   (https://sqlite.org/wal.html#activating_and_configuring_wal_mode) and needs a
 *   lock, so it can be SQLITE_BUSY: `configure()` runs inside the retry loop.
 * - PRAGMA arguments cannot be bound parameters, so pragma names and values are
 *   validated against a strict token grammar (identifier or signed integer)
 *   before they reach SQL text; anything else is a UsageError (64).
 * - Integers come back as bigint (safeIntegers) so 64-bit values round-trip exactly.
 *
 * Calling sequence: validateOpenOptions() -> openDatabase() -> configure() (in
 * the retry loop) -> statements -> closeDatabase(). A registered signal cleanup
 * rolls back an open transaction and closes the connection, so SIGTERM never
 * commits anything (https://sqlite.org/lang_transaction.html: an uncommitted
 * transaction is rolled back when the connection closes or the process dies).
 */
import { Database } from "bun:sqlite";
import { badValue, CantCreateError, NoInputError, PermissionError, UsageError, fromErrno, HardshellError } from "../core/errors";
import { registerCleanup } from "../core/signals";
import { toHardshellError } from "./errors";

export interface OpenOptions {
  path: string;
  create?: boolean;
  readOnly?: boolean;
  wal?: boolean;
  synchronous?: string;
  /** `NAME=VALUE` strings. */
  pragmas?: readonly string[];
  foreignKeys?: boolean;
}

export const SYNCHRONOUS_MODES = ["OFF", "NORMAL", "FULL", "EXTRA"] as const;

const NAME_RE = /^(?:[A-Za-z_][A-Za-z0-9_]*\.)?[A-Za-z_][A-Za-z0-9_]*$/;
const VALUE_RE = /^(?:[+-]?\d+|[A-Za-z_][A-Za-z0-9_]*)$/;

/** Parse and validate `--pragma NAME=VALUE` into [name, value] pairs (UsageError). */
export function parsePragmas(specs: readonly string[] = []): [string, string][] {
  return specs.map((spec) => {
    const eq = spec.indexOf("=");
    const name = (eq < 0 ? spec : spec.slice(0, eq)).trim();
    const value = eq < 0 ? "" : spec.slice(eq + 1).trim();
    if (eq < 0 || !NAME_RE.test(name) || !VALUE_RE.test(value)) {
      throw badValue("pragma", spec, "NAME=VALUE with VALUE an integer or a keyword, e.g. cache_size=-20000");
    }
    return [name, value];
  });
}

/** Check option combinations that cannot work, before touching the file. */
export function validateOpenOptions(o: OpenOptions): void {
  if (o.readOnly && o.create) throw new UsageError({ what: "conflicting options", subject: "--read-only and --create", hint: "give one or the other" });
  if (o.readOnly && o.wal) throw new UsageError({ what: "conflicting options", subject: "--read-only and --wal", hint: "--wal changes the file" });
  if (o.synchronous !== undefined && !(SYNCHRONOUS_MODES as readonly string[]).includes(o.synchronous.toUpperCase())) {
    throw badValue("synchronous", o.synchronous, `one of ${SYNCHRONOUS_MODES.join(", ")}`);
  }
  parsePragmas(o.pragmas);
}

const isMemory = (p: string) => p === ":memory:" || p === "";

export interface Connection {
  db: Database;
  path: string;
  configured: boolean;
  close: () => void;
}

/** Open (never create unless asked). Throws hardshell error values. */
export function openDatabase(o: OpenOptions): Connection {
  const { path } = o;
  let db: Database;
  try {
    // No stat() first: node:fs costs ~0.7 ms of start-up; the no-CREATE open flag already refuses a missing file.
    db = o.readOnly
      ? new Database(path, { readonly: true, safeIntegers: true })
      : new Database(path, { readwrite: true, create: !!o.create, safeIntegers: true });
  } catch (err) {
    throw diagnoseOpenFailure(o, err);
  }
  const unregister = registerCleanup(() => rollbackAndClose(db));
  return {
    db,
    path,
    configured: false,
    close: () => {
      unregister();
      rollbackAndClose(db);
    },
  };
}

/** Why did the open fail? Asked of the file system only on this error path. */
function diagnoseOpenFailure(o: OpenOptions, err: unknown): HardshellError {
  const { statSync, accessSync, constants } = require("node:fs") as typeof import("node:fs");
  const { dirname } = require("node:path") as typeof import("node:path");
  const denied = (p: string, mode: number): boolean => {
    try {
      accessSync(p, mode);
      return false;
    } catch (e) {
      const code = (e as { code?: string }).code;
      return code === "EACCES" || code === "EPERM" || code === "EROFS";
    }
  };
  const { path } = o;
  if (!isMemory(path)) {
    let st: import("node:fs").Stats;
    try {
      st = statSync(path);
    } catch (serr) {
      const code = (serr as { code?: string }).code;
      if ((code === "ENOENT" || code === "ENOTDIR") && !o.create) {
        return new NoInputError({ what: "database does not exist", subject: path, hint: "check the path, or pass --create to make a new one", cause: err });
      }
      if (code === "ENOENT" || code === "ENOTDIR") {
        const dir = dirname(path);
        if (denied(dir, constants.W_OK | constants.X_OK)) {
          return new PermissionError({ what: "cannot create database", subject: path, hint: `EACCES: permission denied; this user cannot write in ${dir}`, cause: err });
        }
        return new CantCreateError({ what: "cannot create database", subject: path, hint: "does its directory exist?", cause: err });
      }
      return fromErrno(serr, { what: "cannot open database", subject: path });
    }
    if (st.isDirectory()) return new CantCreateError({ what: "database path is a directory", subject: path, hint: "give the path of a database file, e.g. DIR/app.db", cause: err });
    if (denied(path, constants.R_OK)) {
      return new PermissionError({
        what: "permission denied",
        subject: path,
        hint: `mode ${(st.mode & 0o777).toString(8).padStart(4, "0")}, owner uid ${st.uid}; this user cannot read it`,
        cause: err,
      });
    }
  }
  return toHardshellError(err, { where: `opening ${path}` });
}

function rollbackAndClose(db: Database): void {
  try {
    if (db.inTransaction) db.run("ROLLBACK");
  } catch {
    /* closing rolls back too */
  }
  try {
    db.close(false);
  } catch {
    /* best effort */
  }
}

/** Upper bound of a real mtime in ms; Bun reports a missing file's lastModified as 2^52-1 (verified with bun 1.4.5, unit-tested). */
const MISSING_MTIME = 2 ** 52 - 1;

/**
 * Does `DB.lock` exist — node-sqlite3-wasm's lock directory (./dotlock.ts)? Used
 * without --dotlock to warn that such a client may be writing without SQLite
 * locks. One stat(2) through Bun.file (loading node:fs would cost ~1 ms of
 * start-up); false for ":memory:".
 */
export function dotlockPresent(path: string): boolean {
  if (isMemory(path)) return false;
  const m = Bun.file(`${path}.lock`).lastModified;
  return m > 0 && m < MISSING_MTIME;
}

export function setBusyTimeout(conn: Connection, ms: number): void {
  conn.db.run(`PRAGMA busy_timeout = ${Math.max(0, Math.floor(ms))}`);
}

/** Connection settings; may throw SQLITE_BUSY (journal_mode), so call it inside the retry loop. */
export function configure(conn: Connection, o: OpenOptions): void {
  if (conn.configured) return;
  const db = conn.db;
  if (o.foreignKeys !== false) db.run("PRAGMA foreign_keys = ON");
  if (o.synchronous) db.run(`PRAGMA synchronous = ${o.synchronous.toUpperCase()}`);
  for (const [name, value] of parsePragmas(o.pragmas)) db.prepare(`PRAGMA ${name} = ${value}`).all();
  if (o.wal) db.prepare("PRAGMA journal_mode = WAL").all();
  conn.configured = true;
}
