import { afterEach, describe, expect, test } from "bun:test";
import { Database } from "bun:sqlite";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { openDatabase, type Connection } from "../../../lib/sqlite/open";
import { isControlStatement, runTransaction, scriptPlan, type RunOptions } from "../../../lib/sqlite/run";
import { splitSql } from "../../../lib/sqlite/split";
import { bindScript, parseBindings } from "../../../lib/sqlite/params";
import { DataError, PermissionError, TempFailError } from "../../../lib/core/errors";
import { outputSink } from "../_helpers";
import { InvalidTextError, StatementDeadlineError } from "../../../lib/sqlite/errors";
import type { BackoffEnv } from "../../../lib/core/backoff";

let dir = "";
let conns: (Connection | Database)[] = [];
afterEach(() => {
  for (const c of conns) c.close();
  conns = [];
  rmSync(dir, { recursive: true, force: true });
});

function setup(schema = "create table t(id integer primary key, v text not null)") {
  dir = mkdtempSync(join(tmpdir(), "hs-run-"));
  const path = join(dir, "a.db");
  const init = new Database(path, { create: true });
  init.run(schema);
  init.close();
  const conn = openDatabase({ path });
  conns.push(conn);
  const other = new Database(path);
  conns.push(other);
  return { path, conn, other };
}

const opts = (path: string, extra: Partial<RunOptions> = {}): RunOptions => ({
  policy: { baseMs: 1, maxMs: 5, retries: 3, deadlineMs: 5_000 },
  busyTimeoutMs: 0,
  open: { path },
  ...extra,
});
const plan = (sql: string, params: string[] = [], args: string[] = []) => {
  const st = splitSql(sql);
  return scriptPlan(st, bindScript(st, parseBindings(params, args)));
};
const count = (db: Database) => Number((db.query("select count(*) c from t").get() as { c: number }).c);

describe("runTransaction", () => {
  test("runs every statement and returns rows of each row-returning one", async () => {
    const { path, conn } = setup();
    const r = await runTransaction(conn, plan("insert into t(v) values(:v); insert into t(v) values(?); select v from t order by id", ["v=a"], ["b"]), opts(path, { countChanges: true }));
    expect(r.sets).toEqual([{ columns: ["v"], rows: [["a"], ["b"]] }]);
    expect(r.changes).toBe(2);
    expect(r.attempts).toBe(1);
    expect(r.mode).toBe("wrapped");
  });
  test("a failing statement rolls back the earlier ones: nothing is committed", async () => {
    const { path, conn, other } = setup();
    const err = await runTransaction(conn, plan("insert into t(v) values('a'); insert into t(v) values(null)"), opts(path)).catch((e) => e);
    expect(err).toBeInstanceOf(DataError);
    expect(err.message).toContain("statement 2, line 1");
    expect(err.message).toContain("nothing was committed");
    expect(count(other)).toBe(0);
  });
  // Scripts that end without an error: the rows of t another connection then sees.
  const committed: [title: string, sql: string, rows: number][] = [
    ["a table created earlier in the same script can be used later", "create table u(a); insert into u values(1); insert into t(v) select a from u", 1],
    ["as written: a transaction the script leaves open is rolled back, not committed", "begin; insert into t(v) values('a')", 0],
  ];
  for (const [title, sql, rows] of committed) {
    test(title, async () => {
      const { path, conn, other } = setup();
      await runTransaction(conn, plan(sql), opts(path));
      expect(count(other)).toBe(rows);
    });
  }
  test("busy: retried with backoff, and the rows come back once", async () => {
    const { path, conn, other } = setup();
    other.run("begin immediate");
    other.run("insert into t(v) values('holder')");
    const slept: number[] = [];
    const env: BackoffEnv = {
      random: () => 0.5,
      now: () => performance.now(),
      sleep: async (ms) => {
        slept.push(ms);
        if (other.inTransaction) other.run("commit"); // the holder finishes while we back off
      },
    };
    const r = await runTransaction(conn, plan("insert into t(v) values('me'); select v from t order by id"), opts(path, { env }));
    expect(r.attempts).toBe(2);
    expect(slept).toHaveLength(1);
    expect(r.sets).toEqual([{ columns: ["v"], rows: [["holder"], ["me"]] }]);
  });
  test("busy past the budget is TempFailError with attempts, and nothing is committed", async () => {
    const { path, conn, other } = setup();
    other.run("begin exclusive");
    const err = await runTransaction(conn, plan("insert into t(v) values('me')"), opts(path)).catch((e) => e);
    expect(err).toBeInstanceOf(TempFailError);
    expect(err.attempts).toBe(4);
    other.run("rollback");
    expect(count(other)).toBe(0);
  });
  test("a read-only script takes no write lock (plain BEGIN), a writing one does (BEGIN IMMEDIATE)", async () => {
    const { path, conn, other } = setup();
    other.run("begin immediate"); // RESERVED lock: readers may proceed, writers may not
    const r = await runTransaction(conn, plan("select count(*) from t"), opts(path));
    expect(r.sets[0]!.rows).toEqual([[0n]]);
    expect(r.began).toBe("BEGIN");
    // A read-then-write script must ask for the write lock up front, not find out at its first write.
    const err = await runTransaction(conn, plan("select count(*) from t; update t set v = v"), opts(path, { policy: { baseMs: 1, maxMs: 1, retries: 0, deadlineMs: 1000 } })).catch((e) => e);
    expect(err).toBeInstanceOf(TempFailError);
    other.run("rollback");
    const w = await runTransaction(conn, plan("select count(*) from t; update t set v = v"), opts(path));
    expect(w.began).toBe("BEGIN IMMEDIATE");
  });
  test("--read-only refuses a write before running anything", async () => {
    const { path } = setup();
    const ro = openDatabase({ path, readOnly: true });
    conns.push(ro);
    const err = await runTransaction(ro, plan("insert into t(v) values('x')"), opts(path, { open: { path, readOnly: true } })).catch((e) => e);
    expect(err).toBeInstanceOf(PermissionError);
  });
  test("a script with its own BEGIN/COMMIT or VACUUM runs as written", async () => {
    const { path, conn, other } = setup();
    const p = plan("begin; insert into t(v) values('a'); commit; vacuum");
    expect(p.statements.map(isControlStatement)).toEqual([true, false, true, true]);
    const r = await runTransaction(conn, p, opts(path));
    expect(r.mode).toBe("as-written");
    expect(count(other)).toBe(1);
  });
  test("as written: a busy retry first detaches what the failed attempt attached", async () => {
    const { path, conn } = setup();
    const m = join(dir, "m.db");
    const holder = new Database(m, { create: true });
    conns.push(holder);
    holder.run("create table t(v)");
    holder.run("begin immediate");
    const r = await runTransaction(conn, plan(`attach '${m}' as m; insert into m.t values('x'); detach m`), opts(path, {
      onRetry: () => {
        if (holder.inTransaction) holder.run("commit"); // released while we back off
      },
    }));
    expect(r.attempts).toBe(2);
    expect(holder.query("select v from t").values()).toEqual([["x"]]);
  });
  test("a deadline that passed is exit 75 before the next statement, and nothing is committed", async () => {
    const { path, conn, other } = setup();
    const err = await runTransaction(conn, plan("begin; insert into t(v) values('a'); commit"), opts(path, { stopAt: performance.now() - 1 })).catch((e) => e);
    expect(err).toBeInstanceOf(StatementDeadlineError);
    expect(err.exitCode).toBe(75);
    expect(err.message).toContain("deadline reached while a statement was running");
    expect(err.message).toContain("nothing was committed");
    expect(count(other)).toBe(0);
  });
});

describe("runTransaction with a streaming output", () => {
  const { createOutput } = require("../../../lib/sqlite/output") as typeof import("../../../lib/sqlite/output");
  const sink = outputSink;
  // abs() of INT64_MIN fails at run time (integer overflow), after the first statement's rows were fetched.
  const failing = "select 'r1' union all select 'r2'; select abs(-9223372036854775807 - 1)";

  test("a read-only script streams from its first row: a later failure leaves those rows printed", async () => {
    const { path, conn } = setup();
    const d = sink();
    const err = await runTransaction(conn, plan(failing), opts(path, { output: createOutput({ format: "tsv" }, d) })).catch((e) => e);
    expect(err).toBeInstanceOf(Error);
    expect(d.text).toBe("r1\nr2\n");
  });
  test("a script that writes holds its rows until COMMIT: a failure prints none of them", async () => {
    const { path, conn, other } = setup();
    const d = sink();
    const sql = "insert into t(v) values ('a'), ('b') returning v; " + failing;
    const err = await runTransaction(conn, plan(sql), opts(path, { output: createOutput({ format: "tsv" }, d) })).catch((e) => e);
    expect(err).toBeInstanceOf(Error);
    expect(d.text).toBe("");
    expect(count(other)).toBe(0);
  });
  test("busy before the first row: retried, and the rows print once", async () => {
    const { path, conn, other } = setup();
    other.run("insert into t(v) values ('x')");
    other.run("begin exclusive");
    setTimeout(() => other.run("commit"), 30);
    const d = sink();
    const r = await runTransaction(conn, plan("select v from t"), opts(path, { policy: { baseMs: 5, maxMs: 20, retries: 50, deadlineMs: 5_000 }, output: createOutput({ format: "tsv" }, d) }));
    expect(r.attempts).toBeGreaterThan(1);
    expect(d.text).toBe("x\n");
  });

  test("text that is not UTF-8 prints as its bytes in tsv; a real U+FFFD as itself", async () => {
    const { path, conn } = setup("create table t(id integer primary key, v text)");
    conn.db.run("insert into t(v) values (cast(x'41c3' as text)), ('ok'), (cast(x'efbfbd' as text))");
    const d = sink();
    await runTransaction(conn, plan("select v from t order by id"), opts(path, { output: createOutput({ format: "tsv" }, d) }));
    expect(d.bytes().toString("hex")).toBe("41c30a" + "6f6b0a" + "efbfbd0a");
  });
  test("jsonl refuses it with 65 after the rows before it were printed (read-only, live)", async () => {
    const { path, conn } = setup("create table t(id integer primary key, v text)");
    conn.db.run("insert into t(v) values ('ok'), (cast(x'41c3' as text))");
    const d = sink();
    const err = await runTransaction(conn, plan("select v from t order by id"), opts(path, { output: createOutput({ format: "jsonl" }, d) })).catch((e) => e);
    expect(err).toBeInstanceOf(InvalidTextError);
    expect(err.message).toContain("column v, row 2");
    expect(err.message).toContain("the rows before it were printed; nothing was changed");
    expect(d.text).toBe('{"v":"ok"}\n');
  });
  test("INSERT ... RETURNING text with U+FFFD cannot be re-read: refused with 65, nothing committed, nothing printed", async () => {
    const { path, conn, other } = setup("create table t(id integer primary key, v text)");
    const d = sink();
    const sql = "insert into t(v) values ('fine'); insert into t(v) values (cast(x'41c3' as text)) returning v";
    const err = await runTransaction(conn, plan(sql), opts(path, { output: createOutput({ format: "tsv" }, d) })).catch((e) => e);
    expect(err).toBeInstanceOf(InvalidTextError);
    expect(err.reason).toBe("unverifiable");
    expect(err.message).toContain("nothing was committed");
    expect(d.text).toBe("");
    expect(count(other)).toBe(0);
  });
});
