/**
 * Parameter binding: `--param NAME[:TYPE]=VALUE`, `--arg VALUE` and --each
 * row fields become bind values. Values are NEVER spliced into SQL text; they
 * travel to SQLite through sqlite3_bind_* (https://sqlite.org/c3ref/bind_blob.html),
 * so a value like `'); DROP TABLE t; --` is just text.
 *
 * Contract:
 * - `--param NAME=V` binds `:NAME`, `@NAME` and `$NAME`. Types: text (default),
 *   `:int` (64-bit, exact, as bigint), `:real`, `:null`, `:blob=@PATH` (file bytes),
 *   `:text`. A bad type or value is a UsageError (64); an unreadable blob file maps
 *   through fromErrno (66 missing, 77 denied).
 * - `--arg V` values bind `?` placeholders in order across the whole script;
 *   `?NNN` takes the NNN-th --arg. More --arg values than placeholders is 64.
 * - A --param/--arg value that is not valid UTF-8 is refused (65): the runtime
 *   would hand it to us with U+FFFD in place of the bad bytes, silently
 *   changing the data (checked against /proc/self/cmdline on Linux).
 * - A placeholder with no value is 64 for a script (the caller forgot a flag);
 *   for --each rows the caller turns it into a DataError naming the line.
 * - Pure apart from reading blob files; nothing here touches the database.
 *
 * Calling sequence: `parseBindings(params, args)` once; `bindScript()` (or
 * `bindStatement()` per --each row) before the transaction, so every retry binds
 * exactly the same values.
 */
import { badValue, DataError, UsageError, fromErrno } from "../core/errors";
import type { ParamRef, SqlStatement } from "./split";

export type SqlValue = string | bigint | number | null | Uint8Array;

export interface Bindings {
  named: Map<string, SqlValue>;
  args: SqlValue[];
}

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

function bad(spec: string, hint: string): UsageError {
  return badValue("param", spec, hint);
}

/** Parse one `NAME[:TYPE]=VALUE` (or `NAME:null`). */
export function parseParam(spec: string): [string, SqlValue] {
  const eq = spec.indexOf("=");
  const left = eq < 0 ? spec : spec.slice(0, eq);
  const value = eq < 0 ? undefined : spec.slice(eq + 1);
  const colon = left.indexOf(":");
  const name = colon < 0 ? left : left.slice(0, colon);
  const type = colon < 0 ? "text" : left.slice(colon + 1).toLowerCase();
  if (!/^[A-Za-z0-9_$\u0080-\uffff]+$/.test(name)) {
    throw bad(spec, "use NAME=VALUE or NAME:TYPE=VALUE with NAME made of letters, digits and _");
  }
  if (type === "null") {
    if (value !== undefined && value !== "") throw bad(spec, "NAME:null takes no value");
    return [name, null];
  }
  if (value === undefined) throw bad(spec, "missing =VALUE");
  switch (type) {
    case "text":
      return [name, value];
    case "int":
    case "integer": {
      if (!/^[+-]?\d+$/.test(value.trim())) throw bad(spec, "not an integer");
      const v = BigInt(value.trim());
      if (v < INT64_MIN || v > INT64_MAX) throw bad(spec, "outside the 64-bit integer range");
      return [name, v];
    }
    case "real": {
      const v = Number(value.trim());
      if (value.trim() === "" || !Number.isFinite(v)) throw bad(spec, "not a finite number");
      return [name, v];
    }
    case "blob": {
      if (!value.startsWith("@")) throw bad(spec, "use NAME:blob=@PATH");
      const path = value.slice(1);
      try {
        // node:fs only when a blob is asked for (it costs start-up time, design.md §2.5).
        const { readFileSync } = require("node:fs") as typeof import("node:fs");
        return [name, new Uint8Array(readFileSync(path))];
      } catch (err) {
        throw fromErrno(err, { what: "cannot read blob file", subject: path });
      }
    }
    default:
      throw bad(spec, "TYPE is one of text, int, real, null, blob");
  }
}

/**
 * True when the process's own argv bytes (/proc/self/cmdline) are not UTF-8.
 * The runtime decodes argv with U+FFFD in place of bad bytes, so a U+FFFD in a
 * value is either the user's or a replacement; only the raw bytes can tell.
 * Read only when a value contains U+FFFD; where /proc is missing we cannot tell (false).
 */
function argvIsInvalidUtf8(): boolean {
  let raw: Uint8Array;
  try {
    const { readFileSync } = require("node:fs") as typeof import("node:fs");
    raw = readFileSync("/proc/self/cmdline");
  } catch {
    return false;
  }
  try {
    new TextDecoder("utf-8", { fatal: true }).decode(raw);
    return false;
  } catch {
    return true;
  }
}

function refuseReplacedBytes(values: readonly string[], flag: string): void {
  const suspect = values.find((v) => v.includes("\uFFFD"));
  if (suspect === undefined || !argvIsInvalidUtf8()) return;
  throw new DataError({
    what: `${flag} value is not valid UTF-8`,
    subject: JSON.stringify(suspect.slice(0, 60)),
    hint: "SQLite TEXT is UTF-8 here; convert it (iconv), or bind the bytes as a blob: NAME:blob=@PATH",
  });
}

export function parseBindings(params: readonly string[] = [], args: readonly string[] = []): Bindings {
  refuseReplacedBytes(params, "--param");
  refuseReplacedBytes(args, "--arg");
  const named = new Map<string, SqlValue>();
  for (const p of params) {
    const [k, v] = parseParam(p);
    named.set(k, v);
  }
  return { named, args: [...args] };
}

/** Value lookup for one placeholder; undefined = no value. */
export type Lookup = (ref: ParamRef) => SqlValue | undefined;

/** The bind array for one statement: slot i binds index i+1 (unused slots NULL). */
export function bindStatement(stmt: SqlStatement, lookup: Lookup, onMissing: (ref: ParamRef) => Error): SqlValue[] | undefined {
  if (stmt.paramCount === 0) return undefined;
  const values: SqlValue[] = new Array(stmt.paramCount).fill(null);
  for (const ref of stmt.params) {
    const v = lookup(ref);
    if (v === undefined) throw onMissing(ref);
    values[ref.index - 1] = v;
  }
  return values;
}

/** Bind every statement of a script from --param/--arg values. */
export function bindScript(stmts: readonly SqlStatement[], b: Bindings): (SqlValue[] | undefined)[] {
  let cursor = 0;
  let maxUsed = 0;
  const lookup: Lookup = (ref) => {
    if (ref.kind === "named") return b.named.get(ref.name!);
    const pos = ref.kind === "anon" ? cursor++ : Number(ref.raw.slice(1)) - 1;
    if (pos >= b.args.length) return undefined;
    maxUsed = Math.max(maxUsed, pos + 1);
    return b.args[pos];
  };
  const out = stmts.map((s) =>
    bindStatement(s, lookup, (ref) =>
      new UsageError({
        what: "no value for parameter",
        subject: ref.raw,
        hint: ref.kind === "named" ? `give --param ${ref.name}=VALUE` : "give one --arg VALUE per ? placeholder",
      }),
    ),
  );
  if (b.args.length > maxUsed) {
    throw new UsageError({
      what: "more --arg values than ? placeholders",
      subject: `${b.args.length} given, ${maxUsed} used`,
      hint: "each ? takes the next --arg",
    });
  }
  return out;
}

/** Lookup for one --each input row: fields by name (named placeholders) and by position (?). */
export function rowLookup(fields: Record<string, SqlValue> | SqlValue[]): Lookup {
  if (Array.isArray(fields)) {
    let cursor = 0;
    return (ref) => {
      if (ref.kind === "named") return undefined;
      const pos = ref.kind === "anon" ? cursor++ : Number(ref.raw.slice(1)) - 1;
      return pos < fields.length ? fields[pos] : undefined;
    };
  }
  return (ref) => (ref.kind === "named" && Object.hasOwn(fields, ref.name!) ? fields[ref.name!] : undefined);
}
