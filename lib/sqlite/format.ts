/**
 * Output formatting of result rows (design.md §5.4). Pure: rows in, text out, one
 * row at a time (RowFormatter), so no format needs the whole result in memory.
 * When the text may be written is decided by ./output.ts and ./run.ts (never
 * rows of a retried attempt twice, never rows of a failed write).
 *
 * Formats:
 * - tsv (default): fields joined by TAB, rows by LF; in values `\` `TAB` `LF` `CR`
 *   become `\\` `\t` `\n` `\r`, so every row is exactly one line and the text
 *   is reversible. NULL prints as `--null STR` (default empty).
 * - csv: RFC 4180 (https://www.rfc-editor.org/rfc/rfc4180): a field with `,` `"`
 *   CR or LF is quoted and `"` doubled; rows end in LF (not RFC 4180's CRLF),
 *   which every CSV reader accepts and shell tools expect. NULL prints as `--null STR`.
 * - json: one array of objects (all row-returning statements, in order); jsonl:
 *   one object per line. Integers are exact (64-bit, printed as JSON numbers),
 *   NULL is `null`, blobs are lower-case hex strings.
 * - table: each result set as an aligned box with a header. Column widths come
 *   from the header and the first TABLE_SIZING_ROWS (1000) rows; a longer cell
 *   after those widens its column from that row on (the box stays readable,
 *   earlier rows are not re-aligned), so a table of any size streams.
 * - `--header` adds a header line per result set (tsv/csv).
 * - raw: the first column of the first row, unescaped, with no newline added;
 *   a blob prints as its bytes.
 * Values: text as is, integers in decimal, reals in shortest round-trip form
 * (`1.0` keeps its `.0` so a REAL stays recognisable), blobs as hex except raw.
 * TEXT that is not valid UTF-8 (an InvalidText, from ./exact.ts) is written as
 * its exact bytes by tsv and csv (escaped like any text: the escapes are ASCII)
 * and raw; json, jsonl and table refuse it with InvalidTextError (65): a JSON
 * string cannot hold it, and a terminal table would show U+FFFD, the very
 * substitution the user must not mistake for the stored value.
 */
import type { ResultSet } from "./run";
import type { SqlValue } from "./params";
import { formatDuration } from "../core/duration";
import { InvalidTextError } from "./errors";

export type Format = "tsv" | "csv" | "json" | "jsonl" | "table";
export const FORMATS: readonly Format[] = ["tsv", "csv", "json", "jsonl", "table"];

export interface FormatOptions {
  format: Format;
  header?: boolean;
  nullText?: string;
}

/**
 * A TEXT value whose stored bytes are not valid UTF-8, carried as those bytes
 * (./exact.ts read them back). `column`, `row` (1-based in its statement's
 * result) and `where` name it in a refusal.
 */
export class InvalidText {
  constructor(
    readonly bytes: Uint8Array,
    readonly column: string,
    readonly row: number,
    readonly where?: string,
  ) {}
}

/** A value on its way out: an SQL value, or text that must go out as its bytes. */
export type CellValue = SqlValue | InvalidText;

export function hex(b: Uint8Array): string {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString("hex");
}

/** Text of a non-null value (used by tsv, csv, table). */
export function valueText(v: SqlValue): string {
  if (v === null) return "";
  if (typeof v === "string") return v;
  if (typeof v === "bigint") return v.toString();
  if (typeof v === "number") return Number.isInteger(v) && Math.abs(v) < 1e15 ? v.toFixed(1) : String(v);
  return hex(v);
}

export function escapeTsv(s: string): string {
  if (!/[\\\t\n\r]/.test(s)) return s;
  return s.replace(/[\\\t\n\r]/g, (c) => (c === "\\" ? "\\\\" : c === "\t" ? "\\t" : c === "\n" ? "\\n" : "\\r"));
}

export function escapeCsv(s: string): string {
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

const BS = 0x5c;
const TAB = 0x09;
const LF = 0x0a;
const CR = 0x0d;
const QUOTE = 0x22;
const COMMA = 0x2c;

/** escapeTsv on bytes: the escaped characters are ASCII, so no byte of a multi-byte or invalid sequence can match. */
export function escapeTsvBytes(b: Uint8Array): Uint8Array {
  const out: number[] = [];
  for (const c of b) {
    if (c === BS) out.push(BS, BS);
    else if (c === TAB) out.push(BS, 0x74);
    else if (c === LF) out.push(BS, 0x6e);
    else if (c === CR) out.push(BS, 0x72);
    else out.push(c);
  }
  return Uint8Array.from(out);
}

/** escapeCsv on bytes (RFC 4180 quoting; `"` and `,` are ASCII, as above). */
export function escapeCsvBytes(b: Uint8Array): Uint8Array {
  if (!b.some((c) => c === QUOTE || c === COMMA || c === CR || c === LF)) return b;
  const out: number[] = [QUOTE];
  for (const c of b) {
    if (c === QUOTE) out.push(QUOTE);
    out.push(c);
  }
  out.push(QUOTE);
  return Uint8Array.from(out);
}

/** One TSV or CSV line of a row: each value escaped for the format, NULL as `nul`, a plain loop (the per-row hot path). */
function delimitedLine(row: SqlValue[], sep: string, escape: (s: string) => string, nul: string): string {
  let s = "";
  for (let i = 0; i < row.length; i++) {
    const v = row[i]!;
    if (i > 0) s += sep;
    s += v === null ? nul : escape(valueText(v));
  }
  return s + "\n";
}

function jsonValue(v: SqlValue): string {
  if (v === null) return "null";
  if (typeof v === "bigint") return v.toString();
  if (typeof v === "number") return Number.isFinite(v) ? JSON.stringify(v) : "null";
  if (typeof v === "string") return JSON.stringify(v);
  return JSON.stringify(hex(v));
}

function jsonObject(columns: string[], row: SqlValue[]): string {
  const seen = new Set<string>();
  const parts: string[] = [];
  columns.forEach((c, i) => {
    // Duplicate column names (SELECT 1 AS a, 2 AS a): keep the first, like most JSON readers would.
    if (seen.has(c)) return;
    seen.add(c);
    parts.push(`${JSON.stringify(c)}:${jsonValue(row[i] ?? null)}`);
  });
  return `{${parts.join(",")}}`;
}

/** Where formatted text goes (the command's stdout, or a held buffer until COMMIT: ./output.ts). */
export interface TextSink {
  write(s: string): void;
  /** Bytes that are not UTF-8 text (a tsv/csv line with an InvalidText); after what was written before, in order. */
  writeBytes?(b: Uint8Array): void;
}

/** Rows a table holds back to size its columns (the rest print as they come). */
export const TABLE_SIZING_ROWS = 1000;

/**
 * Streaming formatter: rows are turned into text one by one and written to a
 * TextSink, so memory does not grow with the result (only --format table holds
 * the first TABLE_SIZING_ROWS rows of each result set to size its columns; a
 * longer cell later widens its column from that row on).
 * `state()`/`restore()` let a retried attempt rewind what "already printed" means
 * (json's comma, the result set in progress); `close()` ends the result set in
 * progress (table's bottom line), `end()` ends the whole output (json's `]`).
 */
export class RowFormatter {
  private readonly nul: string;
  private columns: string[] | undefined;
  private jsonRows = 0;
  // table state of the result set in progress
  private widths: number[] = [];
  private right: boolean[] = [];
  private pending: string[][] | undefined;

  constructor(
    private readonly o: FormatOptions,
    private readonly sink: TextSink,
  ) {
    this.nul = o.nullText ?? "";
  }

  /** A result set starts; consecutive sets of the same columns (the same statement) continue one set. */
  begin(columns: string[]): void {
    if (this.columns === columns) return;
    this.close();
    this.columns = columns;
    const f = this.o.format;
    if (this.o.header && (f === "tsv" || f === "csv")) {
      const esc = f === "tsv" ? escapeTsv : escapeCsv;
      this.sink.write(columns.map(esc).join(f === "tsv" ? "\t" : ",") + "\n");
    }
    if (f === "table") {
      this.widths = columns.map((c) => c.length);
      this.right = [];
      this.pending = [];
    }
  }

  row(row: SqlValue[]): void {
    const nul = this.nul;
    switch (this.o.format) {
      case "tsv":
        this.sink.write(delimitedLine(row, "\t", escapeTsv, nul));
        return;
      case "csv":
        this.sink.write(delimitedLine(row, ",", escapeCsv, nul));
        return;
      case "json":
        this.sink.write((this.jsonRows++ === 0 ? "[\n" : ",\n") + jsonObject(this.columns ?? [], row));
        return;
      case "jsonl":
        this.sink.write(jsonObject(this.columns ?? [], row) + "\n");
        return;
      case "table": {
        const cells = row.map((v) => (v === null ? nul : escapeTsv(valueText(v))));
        if (this.pending) {
          if (this.pending.length === 0) this.right = row.map((v) => typeof v !== "string");
          for (let i = 0; i < cells.length; i++) if (cells[i]!.length > (this.widths[i] ?? 0)) this.widths[i] = cells[i]!.length;
          this.pending.push(cells);
          if (this.pending.length >= TABLE_SIZING_ROWS) this.flushTable();
          return;
        }
        this.sink.write(this.tableRow(cells));
        return;
      }
    }
  }

  /**
   * A row with at least one InvalidText (rare: run.ts calls this instead of
   * row()). tsv and csv write the line as bytes; the other formats refuse.
   */
  rowExact(row: CellValue[]): void {
    const f = this.o.format;
    if ((f !== "tsv" && f !== "csv") || !this.sink.writeBytes) {
      const bad = row.find((v): v is InvalidText => v instanceof InvalidText);
      if (!bad) return this.row(row as SqlValue[]);
      throw new InvalidTextError({ reason: "format", format: f, column: bad.column, row: bad.row, where: bad.where });
    }
    const sep = f === "tsv" ? "\t" : ",";
    const escape = f === "tsv" ? escapeTsv : escapeCsv;
    const parts: Uint8Array[] = [];
    let text = "";
    for (let i = 0; i < row.length; i++) {
      const v = row[i]!;
      if (i > 0) text += sep;
      if (v instanceof InvalidText) {
        parts.push(Buffer.from(text), f === "tsv" ? escapeTsvBytes(v.bytes) : escapeCsvBytes(v.bytes));
        text = "";
      } else text += v === null ? this.nul : escape(valueText(v));
    }
    parts.push(Buffer.from(text + "\n"));
    this.sink.writeBytes(Buffer.concat(parts));
  }

  private line(): string {
    return "+" + this.widths.map((w) => "-".repeat(w + 2)).join("+") + "+\n";
  }

  private tableRow(cells: string[]): string {
    let s = "|";
    for (let i = 0; i < cells.length; i++) {
      const c = cells[i]!;
      if (c.length > this.widths[i]!) this.widths[i] = c.length;
      s += ` ${this.right[i] ? c.padStart(this.widths[i]!) : c.padEnd(this.widths[i]!)} |`;
    }
    return s + "\n";
  }

  /** Print the table's head and the rows held for sizing. */
  private flushTable(): void {
    const pending = this.pending!;
    this.pending = undefined;
    const cols = this.columns ?? [];
    let s = this.line() + "|" + cols.map((c, i) => ` ${c.padEnd(this.widths[i]!)} `).join("|") + "|\n" + this.line();
    for (const cells of pending) {
      s += this.tableRow(cells);
      if (s.length >= 65536) {
        this.sink.write(s);
        s = "";
      }
    }
    this.sink.write(s);
  }

  /** End the result set in progress (a table's closing line). */
  close(): void {
    if (this.columns === undefined) return;
    if (this.o.format === "table") {
      const empty = this.pending !== undefined && this.pending.length === 0;
      if (this.pending) this.flushTable();
      if (!empty) this.sink.write(this.line());
    }
    this.columns = undefined;
  }

  /** Everything printed: close the set in progress, and json's array. */
  end(): void {
    this.close();
    if (this.o.format === "json") this.sink.write(this.jsonRows === 0 ? "[]\n" : "\n]\n");
  }

  /** What a retried attempt must rewind to (sets never span attempts: close() runs at every commit). */
  state(): number {
    return this.jsonRows;
  }

  restore(jsonRows: number): void {
    this.columns = undefined;
    this.pending = undefined;
    this.jsonRows = jsonRows;
  }
}

/** Render all result sets in a format. Returns "" when there is nothing to print (json prints []). */
export function formatResults(sets: readonly ResultSet[], o: FormatOptions): string {
  const out: string[] = [];
  const f = new RowFormatter(o, { write: (s) => out.push(s) });
  for (const set of sets) {
    f.begin(set.columns);
    for (const row of set.rows) f.row(row);
    f.close();
  }
  f.end();
  return out.join("");
}

/** `--raw`: first column of the first row, unescaped, no newline added. Undefined when no row. */
export function rawValue(sets: readonly ResultSet[], nullText = ""): string | Uint8Array | undefined {
  for (const set of sets) {
    if (set.rows.length === 0) continue;
    const v = set.rows[0]![0] ?? null;
    if (v === null) return nullText;
    if (v instanceof Uint8Array) return v;
    return typeof v === "string" ? v : valueText(v);
  }
  return undefined;
}

/** `--raw` from a RawOutput's value: unescaped, NULL as `nullText`, undefined when there was no row; text that is not UTF-8 as its bytes. */
export function rawText(v: CellValue | undefined, nullText = ""): string | Uint8Array | undefined {
  if (v === undefined) return undefined;
  if (v === null) return nullText;
  if (v instanceof Uint8Array) return v;
  if (v instanceof InvalidText) return v.bytes;
  return typeof v === "string" ? v : valueText(v);
}

/** `--check`'s report: "ok", or one line per problem; as JSON `{ok, problems}` for --json / --format json. */
export function checkReport(r: { ok: boolean; problems: readonly string[] }, format: Format): string {
  if (format === "json") return JSON.stringify({ ok: r.ok, problems: r.problems }) + "\n";
  return r.ok ? "ok\n" : r.problems.map((p) => p.replace(/\n/g, " ") + "\n").join("");
}

/** `--stats`: what the retry loop did, printed on every exit (an exit 75 is when it matters most). */
export function statsText(s: { attempts: number; waitedMs: number }, totalMs: number): string {
  return `attempts=${s.attempts} waited=${formatDuration(s.waitedMs)} total=${formatDuration(totalMs)}`;
}
