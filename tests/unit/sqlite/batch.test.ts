import { describe, expect, test } from "bun:test";
import { parseRows } from "../../../lib/sqlite/batch";
import { DataError } from "../../../lib/core/errors";
import { thrownBy } from "../_helpers";

const all = (text: string, f: "jsonl" | "tsv" | "csv") => [...parseRows(text, f)];
const dataError = (fn: () => unknown): DataError => thrownBy(DataError, fn);

describe("parseRows", () => {
  test("jsonl: objects by name, arrays by position, types mapped, blank lines skipped but counted", () => {
    const rows = all('{"a":1,"b":"x","c":1.5,"d":null,"e":true,"f":{"g":1}}\n\n[1,"y"]\n', "jsonl");
    expect(rows[0]).toEqual({ line: 1, fields: { a: 1n, b: "x", c: 1.5, d: null, e: 1n, f: '{"g":1}' } });
    expect(rows[1]).toEqual({ line: 3, fields: [1n, "y"] });
  });
  test("jsonl: a malformed row names its line", () => {
    const e = dataError(() => all('{"a":1}\n{"a":2}\n{"a":\n', "jsonl"));
    expect(e.subject).toBe("line 3");
    expect(dataError(() => all('{"a":1}\n42\n', "jsonl")).subject).toBe("line 2");
  });
  test("tsv: header line, escapes undone, \\N is NULL, wrong field count names the line", () => {
    const rows = all("a\tb\nx\\ty\t\\N\nplain\tz\\\\\n", "tsv");
    expect(rows).toEqual([
      { line: 2, fields: { a: "x\ty", b: null } },
      { line: 3, fields: { a: "plain", b: "z\\" } },
    ]);
    expect(dataError(() => all("a\tb\n1\t2\n3\n", "tsv")).subject).toBe("line 3");
  });
  test("csv: quoted fields with commas, quotes and line breaks; rows numbered by their first line", () => {
    const rows = all('a,b\n"x,1","he said ""hi"""\n"multi\nline",2\r\n3,4\n', "csv");
    expect(rows).toEqual([
      { line: 2, fields: { a: "x,1", b: 'he said "hi"' } },
      { line: 3, fields: { a: "multi\nline", b: "2" } },
      { line: 5, fields: { a: "3", b: "4" } },
    ]);
    expect(dataError(() => all('a,b\n1,2\n"open,3\n', "csv")).subject).toBe("line 3");
    expect(dataError(() => all("a,b\n1,2,3\n", "csv")).subject).toBe("line 2");
  });
  test("parsing is lazy: rows before a malformed one are delivered first", () => {
    const it = parseRows('{"a":1}\nnope\n', "jsonl");
    expect(it.next().value).toEqual({ line: 1, fields: { a: 1n } });
    expect(() => it.next()).toThrow(DataError);
  });
});

describe("runEach reading a stream", () => {
  const { Database } = require("bun:sqlite") as typeof import("bun:sqlite");
  const { mkdtempSync, rmSync } = require("node:fs") as typeof import("node:fs");
  const { tmpdir } = require("node:os") as typeof import("node:os");
  const { runEach } = require("../../../lib/sqlite/batch") as typeof import("../../../lib/sqlite/batch");
  const { openDatabase } = require("../../../lib/sqlite/open") as typeof import("../../../lib/sqlite/open");
  const { splitSql } = require("../../../lib/sqlite/split") as typeof import("../../../lib/sqlite/split");

  async function load(input: string, format: "jsonl" | "tsv" | "csv", batch: number, chunk: number, query = "select a, b from t order by rowid", sql = "insert into t(a, b) values (:a, :b)") {
    const dir = mkdtempSync(`${tmpdir()}/hs-batch-`);
    const path = `${dir}/a.db`;
    new Database(path, { create: true }).run("create table t(a, b)");
    const bytes = new TextEncoder().encode(input);
    async function* chunks() {
      for (let i = 0; i < bytes.length; i += chunk) yield bytes.slice(i, i + chunk);
    }
    const conn = openDatabase({ path });
    const batches: number[] = [];
    try {
      const opts = { policy: { baseMs: 1, maxMs: 5, retries: 3, deadlineMs: 5_000 }, busyTimeoutMs: 0, open: { path } };
      const r = await runEach(conn, splitSql(sql), chunks(), format, batch, opts, () => batches.push(new Database(path).query("select count(*) from t").values()[0]![0] as number));
      return { r, batches, rows: new Database(path).query(query).values() };
    } finally {
      conn.close();
      rmSync(dir, { recursive: true, force: true });
    }
  }

  test("chunks of any size give the same rows, batches commit every N rows", async () => {
    const jsonl = '{"a":1,"b":"x"}\n\n{"a":2,"b":"é"}\n{"a":3,"b":"y"}\n{"a":4,"b":"z"}';
    for (const chunk of [1, 2, 3, 7, 1000]) {
      const { r, batches, rows } = await load(jsonl, "jsonl", 2, chunk);
      expect(r.rows).toBe(4);
      expect(batches).toEqual([2, 4]);
      expect(rows).toEqual([[1, "x"], [2, "é"], [3, "y"], [4, "z"]]);
    }
  });
  test("tsv and csv headers and records survive any chunking", async () => {
    for (const chunk of [1, 4, 1000]) {
      expect((await load("a\tb\r\n1\tx\\ty\r\n2\t\\N\r\n", "tsv", 1, chunk)).rows).toEqual([["1", "x\ty"], ["2", null]]);
      expect((await load('a,b\n1,"multi\nline"\n2,"q""uote"\n', "csv", 1, chunk)).rows).toEqual([["1", "multi\nline"], ["2", 'q"uote']]);
    }
  });
  test("jsonl: a value spread over two lines is malformed at its first line, whatever the chunking", async () => {
    for (const chunk of [1, 5, 1000]) {
      const err = await load('{"a":1,"b":"x"}\n{"a":\n2,"b":"y"}\n', "jsonl", 10, chunk).catch((e) => e);
      expect(err).toBeInstanceOf(DataError);
      expect(err.subject).toBe("line 2");
    }
  });
  test("jsonl: blank lines are skipped but counted, and big integers stay exact, in the bulk and the line path alike", async () => {
    const q = "select cast(a as text) || typeof(a), b from t order by rowid";
    const { rows } = await load('{"a":1,"b":"x"}\n\n{"a":9007199254740993,"b":"y"}\n{"a":3,"b":"z"}\n', "jsonl", 10, 1000, q);
    expect(rows).toEqual([["1integer", "x"], ["9007199254740993integer", "y"], ["3integer", "z"]]);
    const err = await load('{"a":1,"b":"x"}\n\n{"a":2}\n', "jsonl", 10, 1000).catch((e) => e);
    expect(err.subject).toBe("line 3");
  });
  test("one-column tsv: an empty line is a row (an empty value) and counts toward --batch", async () => {
    const { rows, batches } = await load("a\nx\n\ny\n", "tsv", 2, 1, undefined, "insert into t(a) values (:a)");
    expect(rows).toEqual([["x", null], ["", null], ["y", null]]);
    expect(batches).toEqual([2, 3]);
  });
  test("a multi-byte character cut between chunks is not an encoding error", async () => {
    const { rows } = await load('{"a":"€€€","b":"ü"}\n', "jsonl", 10, 1);
    expect(rows).toEqual([["€€€", "ü"]]);
  });
  test("a batch retried after a busy COMMIT re-reads the same rows from its spool (memory and temp file): each row once", async () => {
    const dir = mkdtempSync(`${tmpdir()}/hs-batch-`);
    const path = `${dir}/a.db`;
    new Database(path, { create: true }).run("create table t(a, b)");
    // ~6 MiB: more than the 4 MiB kept in memory, so part of the batch is re-read from the temp file.
    const line = (i: number) => JSON.stringify({ a: i, b: "p".repeat(40) }) + "\n";
    const n = 100_000;
    let text = "";
    for (let i = 0; i < n; i++) text += line(i);
    const reader = new Database(path);
    reader.run("begin");
    reader.query("select count(*) from t").get(); // SHARED lock: our COMMIT cannot get EXCLUSIVE
    setTimeout(() => reader.run("commit"), 100);
    const conn = openDatabase({ path });
    try {
      const opts = { policy: { baseMs: 50, maxMs: 200, retries: 20, deadlineMs: 20_000 }, busyTimeoutMs: 0, open: { path } };
      const r = await runEach(conn, splitSql("insert into t(a, b) values (:a, :b)"), text, "jsonl", Infinity, opts, () => {});
      expect(r.attempts).toBeGreaterThan(1);
      expect(r.rows).toBe(n);
      const check = new Database(path).query("select count(*), count(distinct a), sum(a) from t").values()[0];
      expect(check).toEqual([n, n, (n * (n - 1)) / 2]);
    } finally {
      conn.close();
      reader.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
