/**
 * `--each SQL`: run SQL once per input row, rows committed in batches (design.md §5.5).
 *
 * What a concurrent reader or a crash can observe:
 * - Input is read incrementally. A batch is the next `--batch N` rows (default:
 *   all rows); as soon as its N-th row has arrived it runs as one transaction
 *   (lib/sqlite/run.ts) and commits, without waiting for more input, so a
 *   producer that pauses does not hold back a full batch. Readers see a batch
 *   whole or not at all; SIGTERM/SIGKILL lose at most the batch in flight.
 * - The write lock is taken only once the batch's input is complete: a slow
 *   producer never holds the database locked while we wait for it.
 * - A batch's input is kept (memory up to SPOOL_IN_MEMORY, then an unlinked temp
 *   file in $TMPDIR) so that a busy retry re-reads exactly the same rows; memory
 *   does not grow with the input.
 * - Earlier batches stay committed when a later one fails; the error says how
 *   many rows were committed before it.
 * - A malformed row (bad JSON, wrong field count, unterminated CSV quote, a
 *   field the SQL needs but the row lacks, invalid UTF-8, a row longer than
 *   MAX_ROW_BYTES) is a DataError (65) naming its line number; its batch is
 *   rolled back, so nothing of it is committed.
 *
 * Input formats:
 * - jsonl (default): one JSON object per line; keys bind :key/@key/$key. A JSON
 *   array binds `?` by position. Blank lines are skipped. Whole numbers bind as
 *   INTEGER (above 2^53 only when written as plain digits, then exactly, to
 *   64 bits); other numbers, and integers beyond 64 bits, as REAL; true/false as
 *   1/0, null as NULL, nested objects/arrays as their JSON text.
 * - tsv: first line is the header (column names); fields use the escapes of the
 *   tsv output format (`\t` `\n` `\r` `\\`), `\N` is NULL — so `--format tsv
 *   --header` output feeds back in unchanged.
 * - csv: RFC 4180 with a header record; quoted fields may span lines (the row's
 *   line number is where it starts); records end in LF or CRLF. Values are text.
 * - All input must be UTF-8: SQLite TEXT is UTF-8 here, and replacing a bad
 *   byte with U+FFFD would silently change the data, so it is refused (65).
 *
 * Out of scope: the transaction and retry mechanics (run.ts), output (format.ts).
 * Calling sequence: runEach(conn, statements, input, format, batchSize, opts).
 */
import { DataError, UsageError, fromErrno } from "../core/errors";
import { ScratchFile, scratchPath } from "../core/scratch";
import type { Connection } from "./open";
import type { SqlValue } from "./params";
import { isControlStatement, runTransaction, type RunOptions, type RunOutcome, type Step } from "./run";
import type { ParamRef, SqlStatement } from "./split";
import { expectLongRun } from "../core/jit";

export type InputFormat = "jsonl" | "tsv" | "csv";
export const INPUT_FORMATS: readonly InputFormat[] = ["jsonl", "tsv", "csv"];

/** The longest input row accepted (a line that never ends must not exhaust memory). */
export const MAX_ROW_BYTES = 16 * 1024 * 1024;
/** A batch's input beyond this many bytes is kept in a temp file instead of memory. */
export const SPOOL_IN_MEMORY = 4 * 1024 * 1024;

const LF = 10;
const CR = 13;
const QUOTE = 34;

export interface InputRow {
  line: number;
  fields: Record<string, SqlValue> | SqlValue[];
}

function malformed(line: number, why: string): DataError {
  return new DataError({ what: "malformed input row", subject: `line ${line}`, hint: why });
}

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

/** JSON.parse with integers written as plain digits kept exact (bigint) when they do not fit a double. */
function parseJsonExact(text: string): unknown {
  return JSON.parse(text, (_k, v, ctx?: { source?: string }) => {
    if (typeof v !== "number" || Number.isSafeInteger(v) || ctx?.source === undefined) return v;
    const src = ctx.source;
    if (!/^-?\d+$/.test(src)) return v;
    const b = BigInt(src);
    return b >= INT64_MIN && b <= INT64_MAX ? b : v;
  });
}

const bigintAsJson = (_k: string, v: unknown) => (typeof v === "bigint" ? (JSON as unknown as { rawJSON(s: string): unknown }).rawJSON(v.toString()) : v);

function jsonToSql(v: unknown): SqlValue {
  if (v === null || v === undefined) return null;
  if (typeof v === "string") return v;
  if (typeof v === "number") return Number.isSafeInteger(v) ? BigInt(v) : v;
  if (typeof v === "bigint") return v;
  if (typeof v === "boolean") return v ? 1n : 0n;
  return JSON.stringify(v, bigintAsJson);
}

// A run of 16+ digits may be an integer a double cannot hold: take the exact (slower) parse.
const LONG_DIGITS = /\d{16}/;

function parseJsonLine(raw: string, line: number, exact: boolean): unknown {
  let v: unknown;
  try {
    v = exact && LONG_DIGITS.test(raw) ? parseJsonExact(raw) : JSON.parse(raw);
  } catch (err) {
    throw malformed(line, `not JSON: ${(err as Error).message}`);
  }
  if (v === null || typeof v !== "object") throw malformed(line, "expected a JSON object or array");
  return v;
}

export function unescapeTsv(s: string): string | null {
  if (s === "\\N") return null;
  if (!s.includes("\\")) return s;
  return s.replace(/\\(.)/g, (m, c: string) => (c === "t" ? "\t" : c === "n" ? "\n" : c === "r" ? "\r" : c === "\\" ? "\\" : m));
}

/** A piece of one batch's input: whole rows, starting at input line `line`. */
interface Segment {
  line: number;
  /** Lines it spans (LFs, plus one for a last line without LF at end of input). */
  lines: number;
  bytes?: Uint8Array;
  /** Where it is in the spool file when not in memory. */
  offset?: number;
  length: number;
}

const utf8 = new TextDecoder("utf-8", { fatal: true });

/** Decode a segment, or name the first line that is not UTF-8. */
function decode(seg: Uint8Array, firstLine: number): string {
  try {
    return utf8.decode(seg);
  } catch {
    let line = firstLine;
    let pos = 0;
    while (pos < seg.length) {
      const nl = seg.indexOf(LF, pos);
      const end = nl < 0 ? seg.length : nl;
      try {
        utf8.decode(seg.subarray(pos, end));
      } catch {
        throw malformed(line, "not valid UTF-8 (convert it first, e.g. iconv -f LATIN1 -t UTF-8)");
      }
      pos = end + 1;
      line++;
    }
    throw malformed(firstLine, "not valid UTF-8");
  }
}

/**
 * The rows of one batch, as input bytes cut at row boundaries: kept so that a
 * retried attempt reads the very same rows again. Memory up to SPOOL_IN_MEMORY,
 * the rest in a scratch file (../core/scratch.ts, reused across batches).
 */
class Spool {
  segments: Segment[] = [];
  private inMemory = 0;
  private file: ScratchFile | undefined;

  add(bytes: Uint8Array, line: number, lines: number): void {
    if (bytes.length === 0) return;
    if (this.inMemory + bytes.length <= SPOOL_IN_MEMORY) {
      // A copy: the reader's buffer is reused for the next chunk.
      this.segments.push({ line, lines, bytes: bytes.slice(), length: bytes.length });
      this.inMemory += bytes.length;
      return;
    }
    if (!this.file) {
      const path = scratchPath("sqlite-exec-input");
      try {
        this.file = new ScratchFile(path);
      } catch (err) {
        throw fromErrno(err, { what: "cannot create a temp file for the batch's input", subject: path, hint: "set TMPDIR, or give a smaller --batch" });
      }
    }
    let offset: number;
    try {
      offset = this.file.append(bytes);
    } catch (err) {
      throw fromErrno(err, { what: "cannot write the batch's input to a temp file", subject: "$TMPDIR", hint: "give a smaller --batch" });
    }
    this.segments.push({ line, lines, offset, length: bytes.length });
  }

  read(seg: Segment): Uint8Array {
    if (seg.bytes) return seg.bytes;
    const buf = Buffer.allocUnsafe(seg.length);
    let off = 0;
    while (off < seg.length) {
      const n = this.file!.read(buf, off, seg.length - off, seg.offset! + off);
      if (n <= 0) throw fromErrno(new Error("short read"), { what: "cannot read back the batch's input" });
      off += n;
    }
    return buf;
  }

  clear(): void {
    this.segments = [];
    this.inMemory = 0;
    this.file?.reset();
  }

  close(): void {
    this.clear();
    this.file?.close();
    this.file = undefined;
  }
}

/**
 * Cuts the input stream into batches of whole rows. Only the row being read
 * is buffered beyond the batch, and it may not exceed MAX_ROW_BYTES.
 */
class BatchReader {
  private carry: Uint8Array | undefined;
  private eof = false;
  private inQuotes = false;
  /** Input line at the start of the next unread byte. */
  line = 1;
  /** The header record (tsv, csv), as text. */
  header: string | undefined;

  constructor(
    private readonly source: AsyncIterator<Uint8Array>,
    private readonly format: InputFormat,
  ) {}

  private async chunk(): Promise<Uint8Array | undefined> {
    if (this.carry) {
      const c = this.carry;
      this.carry = undefined;
      return c;
    }
    if (this.eof) return undefined;
    let r: IteratorResult<Uint8Array>;
    try {
      r = await this.source.next();
    } catch (err) {
      throw fromErrno(err, { what: "cannot read stdin" });
    }
    if (r.done) {
      this.eof = true;
      return undefined;
    }
    return r.value;
  }

  /** An empty line is a row only in one-column tsv (an empty value); elsewhere the parser skips it. */
  private emptyIsRow(): boolean {
    return this.format === "tsv" && this.header !== undefined && !this.header.includes("\t");
  }

  /** Index of the next row end (LF outside CSV quotes) at or after `pos`, or -1. */
  private boundary(c: Uint8Array, pos: number): number {
    if (this.format !== "csv") return c.indexOf(LF, pos);
    let i = pos;
    for (;;) {
      const nl = c.indexOf(LF, i);
      let q = c.indexOf(QUOTE, i);
      while (q >= 0 && (nl < 0 || q < nl)) {
        this.inQuotes = !this.inQuotes;
        q = c.indexOf(QUOTE, q + 1);
      }
      if (nl < 0) return -1;
      if (!this.inQuotes) return nl;
      i = nl + 1;
    }
  }

  /**
   * Read the next `limit` rows into `spool` (fewer at end of input) and return
   * how many it holds. Blank lines travel along (the parser skips them) but do
   * not count. Returns as soon as the limit is reached: no further read.
   */
  async next(spool: Spool, limit: number): Promise<number> {
    spool.clear();
    let rows = 0;
    let pending: Uint8Array[] = [];
    let pendingLen = 0;
    let segLine = this.line;
    for (;;) {
      const c = await this.chunk();
      if (c === undefined) {
        if (this.format === "csv" && this.inQuotes) throw malformed(segLine, "unterminated quoted field");
        if (pendingLen > 0) {
          const last = concat(pending, EMPTY);
          if (this.header === undefined && this.format !== "jsonl") this.header = decode(last, 1);
          else {
            spool.add(last, segLine, this.line - segLine + 1);
            if (!(last.length === 1 && last[0] === CR) || this.emptyIsRow()) rows++;
          }
          pending = [];
          pendingLen = 0;
        }
        return rows;
      }
      let pos = 0;
      let from = 0;
      for (;;) {
        const nl = this.boundary(c, pos);
        if (nl < 0) break;
        const blank = pendingLen === 0 && (nl === pos || (nl === pos + 1 && c[pos] === CR));
        this.line += this.format === "csv" ? countLf(c, pos, nl + 1) : 1;
        pos = nl + 1;
        if (this.header === undefined && this.format !== "jsonl") {
          this.header = decode(concat(pending, c.subarray(from, pos)), 1);
          pending = [];
          pendingLen = 0;
          from = pos;
          segLine = this.line;
          continue;
        }
        if (!blank || this.emptyIsRow()) rows++;
        if (pendingLen > 0) {
          if (pendingLen + (pos - from) > MAX_ROW_BYTES) throw tooLong(segLine);
          spool.add(concat(pending, c.subarray(from, pos)), segLine, this.line - segLine);
          pending = [];
          pendingLen = 0;
          from = pos;
          segLine = this.line;
        }
        if (rows >= limit) {
          spool.add(c.subarray(from, pos), segLine, this.line - segLine);
          if (pos < c.length) this.carry = c.subarray(pos);
          return rows;
        }
      }
      if (pos > from) {
        spool.add(c.subarray(from, pos), segLine, this.line - segLine);
        segLine = this.line;
      }
      if (pos < c.length) {
        const rest = c.slice(pos);
        pending.push(rest);
        pendingLen += rest.length;
        if (pendingLen > MAX_ROW_BYTES) throw tooLong(segLine);
      }
    }
  }
}

const EMPTY = new Uint8Array(0);

function tooLong(line: number): DataError {
  return malformed(line, `row longer than ${MAX_ROW_BYTES / (1024 * 1024)} MiB, the limit for one input row`);
}

function concat(parts: Uint8Array[], tail: Uint8Array): Uint8Array {
  if (parts.length === 0) return tail;
  let n = tail.length;
  for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  out.set(tail, o);
  return out;
}

function countLf(c: Uint8Array, from: number, to: number): number {
  let n = 0;
  for (let i = c.indexOf(LF, from); i >= 0 && i < to; i = c.indexOf(LF, i + 1)) n++;
  return n;
}

/** RFC 4180 records of one segment, with the line each starts on. */
function* csvRecords(text: string, firstLine: number): Generator<{ line: number; fields: string[] }> {
  let i = 0;
  let line = firstLine;
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

/** Column names of a tsv/csv header record. */
function headerNames(header: string, format: InputFormat): string[] {
  if (format === "csv") {
    for (const r of csvRecords(header, 1)) return r.fields;
    return [];
  }
  const h = header.endsWith("\n") ? header.slice(0, -1) : header;
  return (h.endsWith("\r") ? h.slice(0, -1) : h).split("\t").map((x) => unescapeTsv(x) ?? "");
}

/** One parsed row: a JSON value, or the fields of a tsv/csv record (escaped for tsv) in header order. */
type RawRow = { line: number; json?: unknown; fields?: string[] };

function* rowsOf(text: string, firstLine: number, format: InputFormat, width: number): Generator<RawRow> {
  const row: RawRow = { line: 0 };
  if (format === "csv") {
    for (const r of csvRecords(text, firstLine)) {
      if (r.fields.length !== width) throw malformed(r.line, `${r.fields.length} fields, the header has ${width}`);
      row.line = r.line;
      row.fields = r.fields;
      yield row;
    }
    return;
  }
  let line = firstLine - 1;
  let pos = 0;
  const n = text.length;
  while (pos < n) {
    const nl = text.indexOf("\n", pos);
    const end = nl < 0 ? n : nl;
    let raw = text.slice(pos, end);
    pos = end + 1;
    line++;
    if (format === "jsonl") {
      if (raw.length === 0 || (raw.charCodeAt(0) <= 32 && raw.trim() === "")) continue;
      row.line = line;
      row.json = parseJsonLine(raw, line, true);
      yield row;
    } else {
      if (raw.endsWith("\r")) raw = raw.slice(0, -1);
      if (raw === "" && width > 1) continue;
      const parts = raw.split("\t");
      if (parts.length !== width) throw malformed(line, `${parts.length} fields, the header has ${width}`);
      row.line = line;
      row.fields = parts;
      yield row;
    }
  }
}

/** Fills a statement's bind array from one row; undefined = that placeholder has no field. */
type Binder = (row: RawRow, values: SqlValue[]) => ParamRef | undefined;

function binderFor(stmt: SqlStatement, format: InputFormat, header: string[]): Binder {
  const refs = stmt.params;
  if (format !== "jsonl") {
    // Last column of a name wins, as a record built left to right would.
    const cols = refs.map((r) => (r.kind === "named" ? header.lastIndexOf(r.name!) : -1));
    const tsv = format === "tsv";
    return (row, values) => {
      const f = row.fields!;
      for (let k = 0; k < refs.length; k++) {
        const col = cols[k]!;
        if (col < 0) return refs[k];
        values[refs[k]!.index - 1] = tsv ? unescapeTsv(f[col]!) : f[col]!;
      }
      return undefined;
    };
  }
  const positions = refs.map((r) => (r.kind === "numbered" ? Number(r.raw.slice(1)) - 1 : -1));
  return (row, values) => {
    const v = row.json;
    if (Array.isArray(v)) {
      let cursor = 0;
      for (let k = 0; k < refs.length; k++) {
        const r = refs[k]!;
        if (r.kind === "named") return r;
        const pos = r.kind === "anon" ? cursor++ : positions[k]!;
        if (pos >= v.length) return r;
        values[r.index - 1] = jsonToSql(v[pos]);
      }
      return undefined;
    }
    const o = v as Record<string, unknown>;
    for (let k = 0; k < refs.length; k++) {
      const r = refs[k]!;
      if (r.kind !== "named" || !Object.hasOwn(o, r.name!)) return r;
      values[r.index - 1] = jsonToSql(o[r.name!]);
    }
    return undefined;
  };
}

type JsonlApi = { parseChunk(s: string): { values: unknown[]; done: boolean; error: unknown } };
const JSONL = (Bun as unknown as { JSONL?: JsonlApi }).JSONL;

/**
 * The values of a jsonl segment in one native call (Bun.JSONL, about a third
 * faster than a JSON.parse per line), or undefined to take the line-by-line
 * path. Bun.JSONL skips blank lines and lets a value span lines, so it is only
 * trusted when it returns exactly one value per line of the segment: then value
 * i is line i (two values on one line are a parse error). Anything else —
 * blank lines, errors, non-objects — goes the slow way, which names the line.
 */
function jsonlFast(text: string, seg: Segment): unknown[] | undefined {
  if (!JSONL) return undefined;
  const r = JSONL.parseChunk(text);
  if (!r.done || r.error || r.values.length !== seg.lines) return undefined;
  for (const v of r.values) if (v === null || typeof v !== "object") return undefined;
  return r.values;
}

/** The step run.ts executes, reused for every row (its `where` is only built for an error message). */
class EachStep implements Step {
  stmt = 0;
  bind: SqlValue[] | undefined;
  line = 0;
  constructor(private readonly multi: boolean) {}
  get where(): string {
    return this.multi ? `input line ${this.line}, statement ${this.stmt + 1}` : `input line ${this.line}`;
  }
}

/**
 * The steps of one batch; iterating again (a retry) re-reads the same rows from
 * the spool. A plain iterator, not a generator: this loop runs once per input
 * row and statement, and resuming generators costs more than the insert.
 */
function batchSteps(spool: Spool, statements: SqlStatement[], format: InputFormat, header: string[]): Iterable<Step> {
  const binders = statements.map((s) => binderFor(s, format, header));
  return { [Symbol.iterator]: () => new StepIterator(spool, statements, binders, format, header.length) };
}

class StepIterator implements Iterator<Step> {
  private readonly step: EachStep;
  private readonly result: IteratorResult<Step> = { done: false, value: undefined as unknown as Step };
  private seg = 0;
  private sinceGc = 0;
  private longDigits = false;
  private bulk: unknown[] | undefined;
  private readonly binds: SqlValue[][] = [];
  private lines: string[] = [];
  private pos = 0;
  private line = 0;
  private stmt: number;
  private readonly row: RawRow = { line: 0 };
  private csv: Generator<{ line: number; fields: string[] }> | undefined;

  constructor(
    private readonly spool: Spool,
    private readonly statements: SqlStatement[],
    private readonly binders: Binder[],
    private readonly format: InputFormat,
    private readonly width: number,
  ) {
    this.step = new EachStep(statements.length > 1);
    this.result.value = this.step;
    this.stmt = statements.length;
  }

  next(): IteratorResult<Step> {
    if (this.stmt >= this.statements.length) {
      if (!this.nextRow()) return { done: true, value: undefined };
      this.stmt = 0;
      this.step.line = this.row.line;
    }
    const i = this.stmt++;
    const s = this.statements[i]!;
    this.step.stmt = i;
    if (s.paramCount === 0) {
      this.step.bind = undefined;
    } else {
      // One bind array per statement, reused row after row: run.ts binds it at once and keeps nothing,
      // and every row fills the same slots (the others stay NULL).
      const values = (this.binds[i] ??= new Array<SqlValue>(s.paramCount).fill(null));
      const missing = this.binders[i]!(this.row, values);
      if (missing) throw malformed(this.row.line, `no field for ${missing.raw}`);
      this.step.bind = values;
    }
    return this.result;
  }

  /** Parse the next row into this.row; false at the end of the batch. */
  private nextRow(): boolean {
    for (;;) {
      if (this.format === "csv") {
        if (this.csv) {
          const r = this.csv.next();
          if (!r.done) {
            if (r.value.fields.length !== this.width) throw malformed(r.value.line, `${r.value.fields.length} fields, the header has ${this.width}`);
            this.row.line = r.value.line;
            this.row.fields = r.value.fields;
            return true;
          }
          this.csv = undefined;
        }
      } else {
        // Lines come from one native split per segment: in a short-lived process most of this code
        // never gets JIT-compiled, and native splitting beats an indexOf loop several times over.
        if (this.bulk) {
          // One value per line, checked when the segment was loaded (jsonlFast).
          if (this.pos < this.bulk.length) {
            this.line++;
            this.row.line = this.line;
            this.row.json = this.bulk[this.pos++];
            return true;
          }
          this.bulk = undefined;
        }
        const lines = this.lines;
        while (this.pos < lines.length) {
          const raw = lines[this.pos++]!;
          this.line++;
          if (this.format === "jsonl") {
            if (raw.length === 0 || (raw.charCodeAt(0) <= 32 && raw.trim() === "")) continue;
            this.row.line = this.line;
            this.row.json = parseJsonLine(raw, this.line, this.longDigits);
            return true;
          }
          const l = raw.length > 0 && raw.charCodeAt(raw.length - 1) === CR ? raw.slice(0, -1) : raw;
          if (l === "" && this.width > 1) continue;
          const parts = l.split("\t");
          if (parts.length !== this.width) throw malformed(this.line, `${parts.length} fields, the header has ${this.width}`);
          this.row.line = this.line;
          this.row.fields = parts;
          return true;
        }
      }
      // Next segment.
      if (this.seg >= this.spool.segments.length) return false;
      const seg = this.spool.segments[this.seg++]!;
      // Every row leaves garbage (its text, its parsed object); JSC lets the heap grow well past what is
      // live before collecting. A full collection every GC_EVERY bytes of input keeps peak memory flat
      // (measured: 1M JSONL rows, +59 MiB without, +42 MiB with, same speed).
      this.sinceGc += seg.length;
      if (this.sinceGc >= GC_EVERY) {
        this.sinceGc = 0;
        Bun.gc(true);
      }
      const text = decode(this.spool.read(seg), seg.line);
      this.line = seg.line - 1;
      if (this.format === "csv") {
        this.csv = csvRecords(text, seg.line);
      } else {
        // One scan per segment: most input has no 16-digit run, and then no line needs the exact parse.
        this.longDigits = this.format === "jsonl" && LONG_DIGITS.test(text);
        this.lines = [];
        this.pos = 0;
        if (this.format === "jsonl" && !this.longDigits) {
          this.bulk = jsonlFast(text, seg);
          if (this.bulk) continue;
        }
        this.lines = text.split("\n");
        // A segment ends at a line end (or at the end of input): the empty string after the last LF is no line.
        if (this.lines[this.lines.length - 1] === "") this.lines.pop();
        this.pos = 0;
      }
    }
  }
}

/** Rows of a whole text (tests, and callers that already hold the input). */
export function* parseRows(text: string, format: InputFormat): Generator<InputRow> {
  let header: string[] = [];
  let body = text;
  let first = 1;
  if (format !== "jsonl") {
    const end = format === "csv" ? csvHeaderEnd(text) : text.indexOf("\n");
    if (end < 0 && text === "") return;
    header = headerNames(end < 0 ? text : text.slice(0, end + 1), format);
    body = end < 0 ? "" : text.slice(end + 1);
    first = 1 + (end < 0 ? 0 : text.slice(0, end + 1).split("\n").length - 1);
  }
  for (const r of rowsOf(body, first, format, header.length)) {
    if (r.json !== undefined) {
      const v = r.json;
      yield { line: r.line, fields: Array.isArray(v) ? v.map(jsonToSql) : Object.fromEntries(Object.entries(v as object).map(([k, x]) => [k, jsonToSql(x)])) };
    } else {
      const f = r.fields!;
      const fields: Record<string, SqlValue> = {};
      header.forEach((h, k) => (fields[h] = format === "tsv" ? unescapeTsv(f[k]!) : f[k]!));
      yield { line: r.line, fields };
    }
  }
}

function csvHeaderEnd(text: string): number {
  let q = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === QUOTE) q = !q;
    else if (c === LF && !q) return i;
  }
  return -1;
}

export interface EachOutcome {
  rows: number;
  batches: number;
  changes: number;
  attempts: number;
  waitedMs: number;
}

/** Input: a file descriptor to read (stdin), a stream of byte chunks, or text already in memory. */
export type EachInput = { fd: number } | AsyncIterable<Uint8Array> | string;

const READ_SIZE = 256 * 1024;
const GC_EVERY = 8 * 1024 * 1024;

/**
 * Chunks read from a file descriptor into ONE reused buffer (a chunk is only
 * valid until the next one is asked for; the reader copies what it keeps).
 * Asynchronous reads, so a signal is handled while we wait for a slow producer.
 */
async function* fdChunks(fd: number): AsyncGenerator<Uint8Array> {
  const { read } = require("node:fs") as typeof import("node:fs");
  const buf = new Uint8Array(READ_SIZE);
  for (;;) {
    const n = await new Promise<number>((resolve, reject) => read(fd, buf, 0, buf.length, null, (err, k) => (err ? reject(err) : resolve(k))))
      .catch(async (err) => {
        // A non-blocking stdin inherited from the caller: wait for data instead of failing.
        if ((err as { code?: string }).code !== "EAGAIN") throw err;
        await Bun.sleep(2);
        return -1;
      });
    if (n === 0) return;
    if (n > 0) yield buf.subarray(0, n);
  }
}

function asChunks(input: EachInput): AsyncIterator<Uint8Array> {
  if (typeof input === "object" && "fd" in input) return fdChunks(input.fd);
  if (typeof input !== "string") return input[Symbol.asyncIterator]();
  const bytes = new TextEncoder().encode(input);
  let done = false;
  return {
    next: async () => {
      if (done) return { done: true, value: undefined };
      done = true;
      return { done: false, value: bytes };
    },
  };
}

/**
 * Run `statements` once per input row, `batchSize` rows per transaction. `onBatch`
 * gets each batch's outcome right after its COMMIT.
 */
export async function runEach(
  conn: Connection,
  statements: SqlStatement[],
  input: EachInput,
  format: InputFormat,
  batchSize: number,
  opts: RunOptions,
  onBatch: (o: RunOutcome) => void,
): Promise<EachOutcome> {
  if (statements.length === 0) throw new UsageError({ what: "--each needs SQL" });
  expectLongRun(); // a loop per input row: worth the normal JIT (lib/core/jit.ts)
  const control = statements.find(isControlStatement);
  if (control) {
    throw new UsageError({ what: "--each SQL cannot manage transactions itself", subject: control.sql.slice(0, 40), hint: "each batch already is one transaction" });
  }
  const total: EachOutcome = { rows: 0, batches: 0, changes: 0, attempts: 0, waitedMs: 0 };
  const reader = new BatchReader(asChunks(input), format);
  const spool = new Spool();
  const withNote = (err: unknown): unknown => {
    if (!(err instanceof DataError) || err.what !== "malformed input row") return err;
    const note = total.rows > 0 ? `nothing of its batch committed, ${total.rows} rows of earlier batches are committed` : "nothing was committed";
    return new DataError({ what: err.what, subject: err.subject, hint: `${err.hint}; ${note}`, cause: err.cause });
  };
  try {
    let header: string[] | undefined;
    for (;;) {
      let count: number;
      try {
        count = await reader.next(spool, batchSize);
      } catch (err) {
        throw withNote(err);
      }
      if (count === 0) break;
      header ??= format === "jsonl" ? [] : headerNames(reader.header ?? "", format);
      const failNote = total.rows > 0 ? `nothing of this batch was committed, ${total.rows} rows of earlier batches are` : undefined;
      let outcome: RunOutcome;
      try {
        outcome = await runTransaction(conn, { statements, steps: batchSteps(spool, statements, format, header) }, { ...opts, failNote });
      } catch (err) {
        throw withNote(err);
      }
      total.rows += count;
      total.batches++;
      total.changes += outcome.changes;
      total.attempts += outcome.attempts;
      total.waitedMs += outcome.waitedMs;
      onBatch(outcome);
    }
  } finally {
    spool.close();
  }
  return total;
}
