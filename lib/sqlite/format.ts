/**
 * Output formatting of result rows (design.md §5.4). Pure: result sets in, text out;
 * the command writes the text, and only after the transaction committed
 * (lib/sqlite/run.ts), so a reader of stdout never sees rows of a rolled-back
 * or retried attempt.
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
 * - table: each result set as an aligned box with a header.
 * - `--header` adds a header line per result set (tsv/csv).
 * - raw: the first column of the first row, unescaped, with no newline added;
 *   a blob prints as its bytes.
 * Values: text as is, integers in decimal, reals in shortest round-trip form
 * (`1.0` keeps its `.0` so a REAL stays recognisable), blobs as hex except raw.
 */
import type { ResultSet } from "./run";
import type { SqlValue } from "./params";

export type Format = "tsv" | "csv" | "json" | "jsonl" | "table";
export const FORMATS: readonly Format[] = ["tsv", "csv", "json", "jsonl", "table"];

export interface FormatOptions {
  format: Format;
  header?: boolean;
  nullText?: string;
}

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

/** Render all result sets in a format. Returns "" when there is nothing to print (json prints []). */
export function formatResults(sets: readonly ResultSet[], o: FormatOptions): string {
  const nul = o.nullText ?? "";
  switch (o.format) {
    case "tsv":
    case "csv": {
      const esc = o.format === "tsv" ? escapeTsv : escapeCsv;
      const sep = o.format === "tsv" ? "\t" : ",";
      const out: string[] = [];
      for (const set of sets) {
        if (o.header) out.push(set.columns.map(esc).join(sep) + "\n");
        for (const row of set.rows) out.push(row.map((v) => (v === null ? nul : esc(valueText(v)))).join(sep) + "\n");
      }
      return out.join("");
    }
    case "json": {
      const objs: string[] = [];
      for (const set of sets) for (const row of set.rows) objs.push(jsonObject(set.columns, row));
      return objs.length === 0 ? "[]\n" : `[\n${objs.join(",\n")}\n]\n`;
    }
    case "jsonl": {
      const out: string[] = [];
      for (const set of sets) for (const row of set.rows) out.push(jsonObject(set.columns, row) + "\n");
      return out.join("");
    }
    case "table":
      return sets.map((s) => formatTable(s, nul)).join("");
  }
}

function formatTable(set: ResultSet, nul: string): string {
  const cell = (v: SqlValue) => (v === null ? nul : escapeTsv(valueText(v)));
  const cells = set.rows.map((r) => r.map(cell));
  const widths = set.columns.map((c, i) => Math.max(c.length, ...cells.map((r) => (r[i] ?? "").length)));
  const line = "+" + widths.map((w) => "-".repeat(w + 2)).join("+") + "+\n";
  const fmt = (r: string[]) =>
    "|" + r.map((v, i) => ` ${typeof set.rows[0]?.[i] === "string" || set.rows.length === 0 ? v.padEnd(widths[i]!) : v.padStart(widths[i]!)} `).join("|") + "|\n";
  const head = "|" + set.columns.map((c, i) => ` ${c.padEnd(widths[i]!)} `).join("|") + "|\n";
  return line + head + line + cells.map(fmt).join("") + (cells.length ? line : "");
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
