import { afterEach, describe, expect, test } from "bun:test";
import { Database } from "bun:sqlite";
import { ExactText, exactQuery, sameValue, type ExactSource } from "../../../lib/sqlite/exact";
import { InvalidText, type CellValue } from "../../../lib/sqlite/format";
import { InvalidTextError } from "../../../lib/sqlite/errors";
import type { AttemptRows } from "../../../lib/sqlite/output";
import type { SqlValue } from "../../../lib/sqlite/params";

let dbs: Database[] = [];
afterEach(() => {
  for (const d of dbs) d.close();
  dbs = [];
});

/** t(id, v): 1 'A' + C3 (invalid), 2 'ok', 3 a real U+FFFD (EF BF BD), 4 C3 A9 FF (é then an invalid byte). */
function db(): Database {
  const d = new Database(":memory:", { safeIntegers: true });
  dbs.push(d);
  d.run("create table t(id integer primary key, v text)");
  d.run("insert into t values (1, cast(x'41c3' as text)), (2, 'ok'), (3, cast(x'7265616c20efbfbd' as text)), (4, cast(x'c3a9ff' as text))");
  return d;
}

function source(d: Database, sql: string, extra: Partial<ExactSource> = {}): ExactSource {
  const words = [sql.trim().split(/\s+/)[0]!.toUpperCase()];
  return { db: d, sql, words, bind: undefined, readonly: true, sameSnapshot: true, names: d.prepare(sql).columnNames, where: "line 1", ...extra };
}

/** Run `sql` as run.ts does (iterate, suspect rows through ExactText while still stepping) and collect what reaches the output. */
function collect(d: Database, sql: string, extra: Partial<ExactSource> = {}): { rows: CellValue[][]; exact: boolean[] } {
  const st = d.prepare(sql);
  const names = st.columnNames;
  const got: { rows: CellValue[][]; exact: boolean[] } = { rows: [], exact: [] };
  const out = {
    row: (v: SqlValue[]) => (got.rows.push(v), got.exact.push(false)),
    rowExact: (v: CellValue[]) => (got.rows.push(v), got.exact.push(true)),
  } as unknown as AttemptRows;
  const x = new ExactText(source(d, sql, { names, ...extra }));
  try {
    let k = 0;
    for (const obj of st.iterate() as Iterable<Record<string, SqlValue>>) {
      const row = names.map((n) => obj[n]!);
      if (row.some((v) => typeof v === "string" && v.includes("\uFFFD"))) x.put(k, row, out);
      else out.row(row);
      k++;
    }
  } finally {
    x.close();
    st.finalize();
  }
  return got;
}

describe("ExactText", () => {
  test("invalid UTF-8 comes back as its stored bytes; a real U+FFFD stays text", () => {
    const { rows, exact } = collect(db(), "select id, v from t order by id");
    expect(exact).toEqual([true, false, false, true]);
    const first = rows[0]![1] as InvalidText;
    expect(first).toBeInstanceOf(InvalidText);
    expect(Buffer.from(first.bytes).toString("hex")).toBe("41c3");
    expect(first.column).toBe("v");
    expect(first.row).toBe(1);
    expect(rows[2]![1]).toBe("real \uFFFD");
    expect(Buffer.from((rows[3]![1] as InvalidText).bytes).toString("hex")).toBe("c3a9ff");
    expect((rows[3]![1] as InvalidText).row).toBe(4);
  });

  test("the re-run binds the same values and keeps repeated column names apart", () => {
    const d = db();
    const sql = "select v, v, ?1 as n from t where id >= ?1 order by t.id desc";
    const st = d.prepare(sql);
    const names = st.columnNames;
    const x = new ExactText(source(d, sql, { names, bind: [3n] }));
    const rows = st.values([3n] as never) as SqlValue[][];
    expect(rows.length).toBe(2);
    const r0 = x.resolve(0, rows[0]!);
    expect(Buffer.from((r0[0] as InvalidText).bytes).toString("hex")).toBe("c3a9ff");
    expect(Buffer.from((r0[1] as InvalidText).bytes).toString("hex")).toBe("c3a9ff");
    expect(x.resolve(1, rows[1]!)).toBe(rows[1]!);
    x.close();
    st.finalize();
  });

  test("a writing statement is refused as unverifiable, naming column and row", () => {
    const d = db();
    const row = ["A\uFFFD"];
    const x = new ExactText(source(d, "insert into t(v) values (cast(x'41c3' as text)) returning v", { names: ["v"], readonly: false }));
    const err = (() => {
      try {
        x.resolve(0, row);
      } catch (e) {
        return e;
      }
    })() as InvalidTextError;
    expect(err).toBeInstanceOf(InvalidTextError);
    expect(err.reason).toBe("unverifiable");
    expect(err.exitCode).toBe(65);
    expect(err.message).toContain("column v, row 1 [line 1]");
    expect(err.message).toContain("select CAST(v AS BLOB)");
  });

  test("a finished statement outside a transaction is refused: a re-run could see other data", () => {
    const d = db();
    const x = new ExactText(source(d, "select v from t", { names: ["v"], sameSnapshot: false }));
    expect(() => x.resolve(0, ["A\uFFFD"])).toThrow(/outside a transaction/);
  });

  test("a re-run that does not give the same row is refused (results that change from run to run)", () => {
    const d = db();
    // The caller saw 'B' + U+FFFD at row 1; the database holds 'A' + C3 there.
    const x = new ExactText(source(d, "select v from t order by id", { names: ["v"] }));
    expect(() => x.resolve(0, ["B\uFFFD"])).toThrow(/gave a different row/);
    const y = new ExactText(source(d, "select v from t order by id", { names: ["v"] }));
    expect(() => y.resolve(9, ["A\uFFFD"])).toThrow(InvalidTextError);
    x.close();
    y.close();
  });

  test("a statement that is not a query (PRAGMA, EXPLAIN) is re-read whole with raw(), with the same outcome", () => {
    // words as ./split.ts gives them decide the way; a PRAGMA's rows come back the same through raw().
    const { rows, exact } = collect(db(), "select id, v from t order by id", { words: ["PRAGMA"] });
    expect(exact).toEqual([true, false, false, true]);
    expect(Buffer.from((rows[3]![1] as InvalidText).bytes).toString("hex")).toBe("c3a9ff");
    expect(rows[2]![1]).toBe("real \uFFFD");
  });
});

describe("exactQuery and sameValue", () => {
  test("the wrapper names columns by position and survives a trailing line comment", () => {
    const d = db();
    const q = exactQuery("select v, v from t where id = 1 -- the first", 2);
    const row = d.prepare(q).values()[0] as Uint8Array[];
    expect(Buffer.from(row[0]!).toString("hex")).toBe("41c3");
    expect(Buffer.from(row[1]!).toString("hex")).toBe("41c3");
  });
  test("values compare across fetched and re-read forms", () => {
    const le = (n: bigint) => {
      const b = Buffer.alloc(8);
      b.writeBigInt64LE(n);
      return new Uint8Array(b);
    };
    expect(sameValue("A\uFFFD", new Uint8Array([0x41, 0xc3]))).toBe(true);
    expect(sameValue("A\uFFFD", new Uint8Array([0x42, 0xc3]))).toBe(false);
    expect(sameValue(5n, 5n)).toBe(true);
    expect(sameValue(5n, le(5n))).toBe(true);
    expect(sameValue(5n, le(6n))).toBe(false);
    expect(sameValue(null, null)).toBe(true);
    expect(sameValue(null, new Uint8Array())).toBe(false);
    expect(sameValue(new Uint8Array([1, 2]), new Uint8Array([1, 2]))).toBe(true);
    expect(sameValue(1.5, 1.5)).toBe(true);
  });
});
