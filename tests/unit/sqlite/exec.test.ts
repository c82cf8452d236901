import { afterEach, describe, expect, test } from "bun:test";
import { Database } from "bun:sqlite";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { execSqlite, selectMode, type ExecRequest } from "../../../lib/sqlite/exec";
import { parseBindings } from "../../../lib/sqlite/params";
import type { ResultSet } from "../../../lib/sqlite/run";
import { DataError, UsageError } from "../../../lib/core/errors";
import { rejectedWith } from "../_helpers";

let dir = "";
afterEach(() => rmSync(dir, { recursive: true, force: true }));

function db(schema = "create table t(id integer primary key, v text not null)"): string {
  dir = mkdtempSync(join(tmpdir(), "hs-exec-"));
  const path = join(dir, "a.db");
  const init = new Database(path, { create: true });
  init.run(schema);
  init.close();
  return path;
}

const request = (path: string, mode: ExecRequest["mode"], onCommitted?: (s: ResultSet[]) => void): ExecRequest => ({
  open: { path },
  run: { policy: { baseMs: 1, maxMs: 5, retries: 3, deadlineMs: 5_000 }, busyTimeoutMs: 0, open: { path }, countChanges: true },
  mode,
  onCommitted,
});

const rows = (path: string) => new Database(path).query("select v from t order by id").values().map((r) => r[0]);

describe("execSqlite", () => {
  test("a script runs as one transaction; its rows arrive once, after COMMIT", async () => {
    const path = db();
    const seen: ResultSet[][] = [];
    const r = await execSqlite(request(path, { kind: "script", sql: "insert into t(v) values (?); select v from t", bindings: parseBindings([], ["x"]) }, (s) => seen.push(s)));
    expect(r).toMatchObject({ ok: true, changes: 1, attempts: 1 });
    expect(seen).toEqual([[{ columns: ["v"], rows: [["x"]] }]]);
  });

  test("a failing script commits nothing and reports a DataError", async () => {
    const path = db();
    const err = await execSqlite(request(path, { kind: "script", sql: "insert into t(v) values ('a'); insert into t(v) values (null)", bindings: parseBindings() })).catch((e) => e);
    expect(err).toBeInstanceOf(DataError);
    expect(rows(path)).toEqual([]);
  });

  test("--each commits batch by batch and hands each batch's rows over after its COMMIT", async () => {
    const path = db();
    const batches: ResultSet[][] = [];
    const r = await execSqlite(request(path, { kind: "each", sql: "insert into t(v) values (:v) returning v", rows: '{"v":"a"}\n{"v":"b"}\n{"v":"c"}\n', input: "jsonl", batch: 2 }, (s) => batches.push(s)));
    expect(r.changes).toBe(3);
    expect(batches.length).toBe(2);
    expect(rows(path)).toEqual(["a", "b", "c"]);
  });

  test("--check reports a foreign key violation as not ok, naming the table", async () => {
    const path = db("create table p(id integer primary key); create table c(p integer references p(id)); insert into c values (7)");
    const r = await execSqlite(request(path, { kind: "check" }));
    expect(r.ok).toBe(false);
    expect(r.problems.join("\n")).toContain("c");
  });

  test("a script with unbound parameters fails before the database is opened, so --create makes no file", async () => {
    dir = mkdtempSync(join(tmpdir(), "hs-exec-"));
    const path = join(dir, "new.db");
    const req = request(path, { kind: "script", sql: "select :missing", bindings: parseBindings() });
    req.open = { path, create: true };
    const err = await execSqlite(req).catch((e) => e);
    expect(err).toBeInstanceOf(UsageError);
    expect(existsSync(path)).toBe(false);
  });
});

describe("selectMode", () => {
  const base = { check: false, input: "jsonl" as const, batch: Infinity, bindings: parseBindings([], []), stdinIsTerminal: () => false };
  const usage = (p: Promise<unknown>): Promise<UsageError> => rejectedWith(UsageError, p);
  test("exactly one source of work; the SQL argument and a maintenance option conflict", async () => {
    expect(await selectMode({ ...base, sqlArg: "select 1" })).toMatchObject({ kind: "script", sql: "select 1" });
    expect(await selectMode({ ...base, checkpoint: "FULL" })).toEqual({ kind: "checkpoint", mode: "FULL" });
    expect(await selectMode({ ...base, check: true })).toEqual({ kind: "check" });
    expect((await usage(selectMode({ ...base, sqlArg: "FULL", checkpoint: "" }))).message).toBe("conflicting inputs: SQL argument and --checkpoint (give SQL one way only)");
    expect((await usage(selectMode({ ...base, sqlArg: "select 1", each: "insert" }))).message).toContain("SQL argument and --each");
  });
  test("SQL or rows from a terminal are a usage error with a hint, before anything is read", async () => {
    const tty = { ...base, stdinIsTerminal: () => true };
    expect((await usage(selectMode(tty))).message).toMatch(/^no SQL given, and stdin is a terminal \(give SQL as an argument/);
    expect((await usage(selectMode({ ...tty, sqlArg: "-" }))).exitCode).toBe(64);
    expect((await usage(selectMode({ ...tty, each: "insert into t values (:a)" }))).message).toMatch(/^--each reads its rows from stdin, and stdin is a terminal/);
    // A terminal does not matter when the SQL comes from elsewhere.
    expect(await selectMode({ ...tty, sqlArg: "select 1" })).toMatchObject({ kind: "script" });
  });
  test("a missing --file is 66 with the errno in the hint", async () => {
    let err: unknown;
    try {
      await selectMode({ ...base, file: "/nonexistent/x.sql" });
    } catch (e) {
      err = e;
    }
    expect((err as Error).message).toBe("cannot read SQL file: /nonexistent/x.sql (ENOENT: no such file or directory)");
    expect((err as { exitCode: number }).exitCode).toBe(66);
  });
});
