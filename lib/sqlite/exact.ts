/**
 * Exact bytes of TEXT that bun:sqlite handed over with U+FFFD (design.md §5.4).
 *
 * Why: SQLite stores TEXT as given; `CAST(x'C3' AS TEXT)` or a client that
 * does not check leaves bytes that are not UTF-8 in a TEXT column. bun:sqlite
 * decodes every TEXT value into a JS string and puts U+FFFD in place of each
 * invalid sequence, before our code sees it (verified with bun 1.4.5, whose
 * `iterate()`/`values()` have no byte mode). A real U+FFFD is valid UTF-8
 * (EF BF BD), so only a string that contains U+FFFD can be a replacement;
 * ./run.ts checks every string it fetches for that (one `includes` per string
 * value) and hands only such rows here, so ordinary results pay nothing more.
 *
 * How the bytes are read: at the first suspect row of a statement execution
 * the statement runs a second time, once, with the same bind values, in
 * lockstep with the first run (row by row, so memory stays bounded):
 * - a query (SELECT, VALUES, WITH) is wrapped as
 *   `WITH hardshell_exact(c1..cN) AS (<sql>) SELECT CASE WHEN typeof(c1) = 'text'
 *   THEN CAST(c1 AS BLOB) ELSE c1 END, ...`: CAST to BLOB keeps TEXT's bytes as
 *   stored (https://sqlite.org/lang_expr.html#castexpr), the column list names
 *   the columns by position (repeated names are fine), and the bind values
 *   keep their indexes (the wrapper adds no parameter before them). SQLite
 *   runs a CTE used once in place, in its own query's order;
 * - anything else that returns rows (PRAGMA, EXPLAIN: small results) runs
 *   with `Statement.raw()`, which returns every value as its bytes but only
 *   for a whole result at once (TEXT as stored, INTEGER/REAL as 8 bytes
 *   little-endian, BLOB bytes, NULL null).
 * That costs one more execution of the statement, paid only by results that
 * contain U+FFFD.
 *
 * When the re-read can be trusted (otherwise: InvalidTextError "unverifiable", 65):
 * - the statement is read-only (sqlite3_stmt_readonly); a writing statement
 *   (INSERT ... RETURNING) must not run twice;
 * - it sees the same data: the re-run happens while the first run is still
 *   stepping (its read transaction or WAL snapshot is held, and a read-only
 *   statement changes nothing), or inside a transaction (`sameSnapshot`);
 * - and the row matches: the re-run reached the row, and every value of it
 *   equals what the first run gave (text compared after decoding the bytes
 *   the way bun:sqlite does, with U+FFFD for invalid sequences, which
 *   TextDecoder matches). A result that changes from run to run (random())
 *   fails this check.
 * Then a string whose bytes are valid UTF-8 (a real U+FFFD) is kept as is,
 * and one whose bytes are not becomes an InvalidText (./format.ts) carrying
 * them: tsv, csv and raw print the bytes, json, jsonl and table refuse.
 *
 * Out of scope: printing (./format.ts, ./output.ts), input (--param, --each
 * rows: refused at parse time, ./params.ts, ./batch.ts).
 * Calling sequence: one ExactText per statement execution, created at its
 * first suspect row; put(index, row, out) for each suspect row, in order;
 * close() when the execution ends (on every path).
 */
import type { Database, Statement } from "bun:sqlite";
import { isUtf8 } from "node:buffer";
import { errorText } from "../core/errors";
import { InvalidTextError } from "./errors";
import { InvalidText, type CellValue } from "./format";
import type { AttemptRows } from "./output";
import type { SqlValue } from "./params";

const REPLACEMENT = "\uFFFD";
const REPLACEMENT_BYTES = Buffer.from(REPLACEMENT);

/** Would these bytes, decoded as bun:sqlite decodes TEXT, contain U+FFFD? */
function decodesWithReplacement(b: unknown): boolean {
  if (!(b instanceof Uint8Array)) return false;
  return !isUtf8(b) || Buffer.from(b.buffer, b.byteOffset, b.byteLength).includes(REPLACEMENT_BYTES);
}

const decoder = new TextDecoder();

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return Buffer.compare(Buffer.from(a.buffer, a.byteOffset, a.byteLength), Buffer.from(b.buffer, b.byteOffset, b.byteLength)) === 0;
}

/**
 * Does the re-read value `r` stand for the fetched value `v`? `r` is what the
 * wrapper returns (text as its bytes, other values as they are) or what raw()
 * returns (every value as bytes, numbers as 8 bytes little-endian).
 */
export function sameValue(v: SqlValue, r: unknown): boolean {
  if (v === null || r === null) return v === r;
  if (typeof r === "bigint" || typeof r === "number") return v === r;
  if (!(r instanceof Uint8Array)) return false;
  if (typeof v === "string") return decoder.decode(r) === v;
  if (v instanceof Uint8Array) return sameBytes(v, r);
  if (r.length !== 8) return false;
  const buf = Buffer.from(r.buffer, r.byteOffset, r.byteLength);
  return typeof v === "bigint" ? buf.readBigInt64LE(0) === v : buf.readDoubleLE(0) === v || Number(buf.readBigInt64LE(0)) === v;
}

const QUERY_WORDS = new Set(["SELECT", "VALUES", "WITH"]);

/** The lockstep re-run of a query: its text values as bytes (see the contract above). */
export function exactQuery(sql: string, columns: number): string {
  const c = Array.from({ length: columns }, (_, i) => `c${i + 1}`);
  const cols = c.map((x, i) => `CASE WHEN typeof(${x}) = 'text' THEN CAST(${x} AS BLOB) ELSE ${x} END AS b${i + 1}`);
  // The newline before `)` ends a trailing `-- comment` of the statement.
  return `WITH hardshell_exact(${c.join(", ")}) AS (\n${sql}\n) SELECT ${cols.join(", ")} FROM hardshell_exact`;
}

export interface ExactSource {
  db: Database;
  /** The statement's SQL text, as prepared, and its first keywords (./split.ts `words`). */
  sql: string;
  words: readonly string[];
  bind: SqlValue[] | undefined;
  readonly: boolean;
  /** True when a re-run sees the data the first run saw (see the contract above). */
  sameSnapshot: boolean;
  names: string[];
  /** "statement 2, line 3", for messages. */
  where?: string;
}

export class ExactText {
  private failure: string | undefined;
  private started = false;
  // lockstep re-run of a query
  private wrapper: Statement | undefined;
  private cursor: Iterator<Record<string, unknown>> | undefined;
  /** Index of the row the cursor yields next. */
  private next = 0;
  // raw() re-run of anything else: the suspect rows, by index
  private rawRows: Map<number, unknown[]> | undefined;

  constructor(private readonly src: ExactSource) {}

  /**
   * Row `index` (0-based) as fetched, with U+FFFD in some string: write it to
   * `out`, with its bytes where they are not UTF-8 (out.rowExact), or throw
   * InvalidTextError when they cannot be known.
   */
  put(index: number, row: SqlValue[], out: AttemptRows): void {
    const resolved = this.resolve(index, row);
    if (resolved === row) out.row(row);
    else out.rowExact(resolved);
  }

  /** The row to print: `row` itself when every U+FFFD in it is real, else a copy with InvalidText values. */
  resolve(index: number, row: SqlValue[]): CellValue[] {
    if (!this.started) this.start(index);
    const raw = this.failure === undefined ? this.reread(index) : undefined;
    if (raw === undefined || raw.length !== row.length || !row.every((v, i) => sameValue(v, raw[i]))) {
      throw this.unverifiable(index, row, this.failure ?? "a re-run of the statement to read its bytes gave a different row, so its result changes from run to run");
    }
    let out: CellValue[] | undefined;
    for (let i = 0; i < row.length; i++) {
      const v = row[i];
      const b = raw[i];
      if (typeof v === "string" && b instanceof Uint8Array && v.includes(REPLACEMENT) && !isUtf8(b)) {
        out ??= row.slice();
        out[i] = new InvalidText(b, this.src.names[i] ?? `${i + 1}`, index + 1, this.src.where);
      }
    }
    return out ?? row;
  }

  /** End the re-run (its read of the database) and free its statement. */
  close(): void {
    try {
      this.cursor?.return?.();
    } finally {
      this.cursor = undefined;
      this.wrapper?.finalize();
      this.wrapper = undefined;
      this.rawRows = undefined;
    }
  }

  private start(from: number): void {
    this.started = true;
    const src = this.src;
    if (!src.readonly) {
      this.failure = "a writing statement such as INSERT ... RETURNING runs only once, so its bytes cannot be read back";
      return;
    }
    if (!src.sameSnapshot) {
      this.failure = "the statement had finished outside a transaction, so a re-run could see other data";
      return;
    }
    const args = (src.bind === undefined ? [] : [src.bind]) as never[];
    try {
      if (QUERY_WORDS.has(src.words[0] ?? "") && !/^\s*EXPLAIN\b/i.test(src.sql)) {
        try {
          this.wrapper = src.db.prepare(exactQuery(src.sql, src.names.length));
        } catch {
          // Not wrappable after all (e.g. behind a leading comment, EXPLAIN): whole-result raw() below.
        }
      }
      if (this.wrapper) {
        this.cursor = this.wrapper.iterate(...args)[Symbol.iterator]() as Iterator<Record<string, unknown>>;
        return;
      }
      const st = src.db.prepare(src.sql);
      try {
        const all = st.raw(...args) as unknown[][];
        const rows = new Map<number, unknown[]>();
        for (let i = from; i < all.length; i++) if (all[i]!.some(decodesWithReplacement)) rows.set(i, all[i]!);
        this.rawRows = rows;
      } finally {
        st.finalize();
      }
    } catch (err) {
      this.close();
      this.failure = `re-running the statement to read its bytes failed: ${errorText(err)}`;
    }
  }

  /** The re-run's values of row `index`, or undefined when it has no such row. */
  private reread(index: number): unknown[] | undefined {
    if (this.rawRows) {
      const r = this.rawRows.get(index);
      this.rawRows.delete(index);
      return r;
    }
    const cursor = this.cursor;
    if (!cursor || index < this.next) return undefined;
    let it: IteratorResult<Record<string, unknown>>;
    do {
      it = cursor.next();
      if (it.done) return undefined;
      this.next++;
    } while (this.next <= index);
    const obj = it.value;
    return this.src.names.map((_, i) => obj[`b${i + 1}`]);
  }

  private unverifiable(index: number, row: SqlValue[], why: string): InvalidTextError {
    const col = row.findIndex((v) => typeof v === "string" && v.includes(REPLACEMENT));
    return new InvalidTextError({ reason: "unverifiable", column: this.src.names[col] ?? `${col + 1}`, row: index + 1, where: this.src.where, why });
  }
}
