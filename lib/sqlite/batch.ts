/**
 * `--each SQL`: run SQL once per input row, rows committed in batches (design.md §5.5).
 *
 * What a concurrent reader or a crash can observe:
 * - Each batch of `--batch N` rows (default: all rows) is one transaction run
 *   by lib/sqlite/run.ts: readers see a batch whole or not at all; a retry reruns
 *   the whole batch; SIGTERM/SIGKILL lose at most the batch in flight.
 * - Earlier batches stay committed when a later one fails; the error says how
 *   many rows were committed before it.
 * - Rows are parsed lazily, batch by batch: a malformed row (bad JSON, wrong
 *   field count, unterminated CSV quote, a field the SQL needs but the row lacks)
 *   is a DataError (65) naming its line number, raised BEFORE its batch starts,
 *   so nothing of that batch is committed.
 *
 * Input formats:
 * - jsonl (default): one JSON object per line; keys bind :key/@key/$key. A JSON
 *   array binds `?` by position. Blank lines are skipped. Integral numbers bind
 *   as INTEGER, other numbers REAL, true/false as 1/0, null as NULL, nested
 *   objects/arrays as their JSON text.
 * - tsv: first line is the header (column names); fields use the escapes of the
 *   tsv output format (`\t` `\n` `\r` `\\`), `\N` is NULL — so `--format tsv
 *   --header` output feeds back in unchanged.
 * - csv: RFC 4180 with a header record; quoted fields may span lines (the row's
 *   line number is where it starts). Values are text.
 *
 * Out of scope: the transaction and retry mechanics (run.ts), output (format.ts).
 * Calling sequence: parseRows(text, format) -> runEach(conn, statements, rows, ...).
 */
import { DataError, UsageError } from "../core/errors";
import type { Connection } from "./open";
import { bindStatement, rowLookup, type SqlValue } from "./params";
import { isControlStatement, runTransaction, type RunOptions, type RunOutcome, type Step } from "./run";
import type { SqlStatement } from "./split";

export type InputFormat = "jsonl" | "tsv" | "csv";
export const INPUT_FORMATS: readonly InputFormat[] = ["jsonl", "tsv", "csv"];

export interface InputRow {
  line: number;
  fields: Record<string, SqlValue> | SqlValue[];
}

function malformed(line: number, why: string): DataError {
  return new DataError({ what: "malformed input row", subject: `line ${line}`, hint: why });
}

function jsonToSql(v: unknown): SqlValue {
  if (v === null || v === undefined) return null;
  if (typeof v === "string") return v;
  if (typeof v === "number") return Number.isInteger(v) ? BigInt(v) : v;
  if (typeof v === "boolean") return v ? 1n : 0n;
  return JSON.stringify(v);
}

function* jsonlRows(text: string): Generator<InputRow> {
  let line = 0;
  let pos = 0;
  while (pos < text.length) {
    const nl = text.indexOf("\n", pos);
    const raw = text.slice(pos, nl < 0 ? text.length : nl);
    pos = nl < 0 ? text.length : nl + 1;
    line++;
    if (raw.trim() === "") continue;
    let v: unknown;
    try {
      v = JSON.parse(raw);
    } catch (err) {
      throw malformed(line, `not JSON: ${(err as Error).message}`);
    }
    if (Array.isArray(v)) {
      yield { line, fields: v.map(jsonToSql) };
    } else if (v !== null && typeof v === "object") {
      const fields: Record<string, SqlValue> = {};
      for (const [k, x] of Object.entries(v)) fields[k] = jsonToSql(x);
      yield { line, fields };
    } else {
      throw malformed(line, "expected a JSON object or array");
    }
  }
}

export function unescapeTsv(s: string): string | null {
  if (s === "\\N") return null;
  if (!s.includes("\\")) return s;
  return s.replace(/\\(.)/g, (m, c: string) => (c === "t" ? "\t" : c === "n" ? "\n" : c === "r" ? "\r" : c === "\\" ? "\\" : m));
}

function* tsvRows(text: string): Generator<InputRow> {
  const lines = text.split("\n");
  if (lines.length > 0 && lines[lines.length - 1] === "") lines.pop();
  if (lines.length === 0) return;
  const strip = (l: string) => (l.endsWith("\r") ? l.slice(0, -1) : l);
  const header = strip(lines[0]!).split("\t").map((h) => unescapeTsv(h) ?? "");
  for (let i = 1; i < lines.length; i++) {
    const l = strip(lines[i]!);
    if (l === "" && header.length > 1) continue;
    const parts = l.split("\t");
    if (parts.length !== header.length) throw malformed(i + 1, `${parts.length} fields, the header has ${header.length}`);
    const fields: Record<string, SqlValue> = {};
    header.forEach((h, k) => (fields[h] = unescapeTsv(parts[k]!)));
    yield { line: i + 1, fields };
  }
}

/** RFC 4180 records with the line each starts on. */
function* csvRecords(text: string): Generator<{ line: number; fields: string[] }> {
  let i = 0;
  let line = 1;
  const n = text.length;
  while (i < n) {
    const start = line;
    const fields: string[] = [];
    let field = "";
    let atFieldStart = true;
    let ended = false;
    while (i < n && !ended) {
      const c = text[i]!;
      if (atFieldStart && c === '"') {
        i++;
        for (;;) {
          if (i >= n) throw malformed(start, "unterminated quoted field");
          const d = text[i]!;
          if (d === '"') {
            if (text[i + 1] === '"') {
              field += '"';
              i += 2;
              continue;
            }
            i++;
            break;
          }
          if (d === "\n") line++;
          field += d;
          i++;
        }
        atFieldStart = false;
        const next = text[i];
        if (next !== undefined && next !== "," && next !== "\n" && next !== "\r") throw malformed(start, "text after a closing quote");
        continue;
      }
      if (c === ",") {
        fields.push(field);
        field = "";
        atFieldStart = true;
        i++;
      } else if (c === "\n" || c === "\r") {
        if (c === "\r" && text[i + 1] === "\n") i++;
        i++;
        line++;
        ended = true;
      } else {
        field += c;
        atFieldStart = false;
        i++;
      }
    }
    fields.push(field);
    if (fields.length === 1 && fields[0] === "") continue; // empty line
    yield { line: start, fields };
  }
}

function* csvRows(text: string): Generator<InputRow> {
  let header: string[] | undefined;
  for (const rec of csvRecords(text)) {
    if (!header) {
      header = rec.fields;
      continue;
    }
    if (rec.fields.length !== header.length) throw malformed(rec.line, `${rec.fields.length} fields, the header has ${header.length}`);
    const fields: Record<string, SqlValue> = {};
    header.forEach((h, k) => (fields[h] = rec.fields[k]!));
    yield { line: rec.line, fields };
  }
}

export function parseRows(text: string, format: InputFormat): Generator<InputRow> {
  return format === "tsv" ? tsvRows(text) : format === "csv" ? csvRows(text) : jsonlRows(text);
}

export interface EachOutcome {
  rows: number;
  batches: number;
  changes: number;
  attempts: number;
  waitedMs: number;
}

/**
 * Run `statements` once per row, `batchSize` rows per transaction. `onBatch`
 * gets each batch's outcome right after its COMMIT (to print its rows).
 */
export async function runEach(
  conn: Connection,
  statements: SqlStatement[],
  rows: Iterable<InputRow>,
  batchSize: number,
  opts: RunOptions,
  onBatch: (o: RunOutcome) => void,
): Promise<EachOutcome> {
  if (statements.length === 0) throw new UsageError({ what: "--each needs SQL" });
  const control = statements.find(isControlStatement);
  if (control) {
    throw new UsageError({ what: "--each SQL cannot manage transactions itself", subject: control.sql.slice(0, 40), hint: "each batch already is one transaction" });
  }
  const total: EachOutcome = { rows: 0, batches: 0, changes: 0, attempts: 0, waitedMs: 0 };
  const it = rows[Symbol.iterator]();
  for (;;) {
    const steps: Step[] = [];
    let count = 0;
    try {
      while (count < batchSize) {
        const next = it.next();
        if (next.done) break;
        const row = next.value;
        count++;
        for (const [i, s] of statements.entries()) {
          const bind = bindStatement(s, rowLookup(row.fields), (ref) => malformed(row.line, `no field for ${ref.raw}`));
          steps.push({ stmt: i, bind, where: statements.length > 1 ? `input line ${row.line}, statement ${i + 1}` : `input line ${row.line}` });
        }
      }
    } catch (err) {
      if (err instanceof DataError && total.rows > 0) {
        throw new DataError({ what: err.what, subject: err.subject, hint: `${err.hint}; nothing of its batch committed, ${total.rows} rows of earlier batches are committed`, cause: err.cause });
      }
      if (err instanceof DataError) {
        throw new DataError({ what: err.what, subject: err.subject, hint: `${err.hint}; nothing was committed`, cause: err.cause });
      }
      throw err;
    }
    if (count === 0) break;
    const failNote = total.rows > 0 ? `nothing of this batch was committed, ${total.rows} rows of earlier batches are` : undefined;
    const outcome = await runTransaction(conn, { statements, steps }, { ...opts, failNote });
    total.rows += count;
    total.batches++;
    total.changes += outcome.changes;
    total.attempts += outcome.attempts;
    total.waitedMs += outcome.waitedMs;
    onBatch(outcome);
  }
  return total;
}
