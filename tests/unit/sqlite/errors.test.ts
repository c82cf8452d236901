import { describe, expect, test } from "bun:test";
import { Database } from "bun:sqlite";
import { isBusy, sqliteErrorInfo, toHardshellError } from "../../../lib/sqlite/errors";
import { BusyError } from "../../../lib/core/busy";
import { DataError, IoError, PermissionError } from "../../../lib/core/errors";
import { thrownBy } from "../_helpers";

const thrown = (fn: () => unknown): Error => thrownBy(Error, fn);

// Real SQLite errors, not hand-made ones: the fields are what bun:sqlite gives.
describe("SQLite error classification", () => {
  const db = new Database(":memory:");
  db.run("create table t(a integer primary key, b text not null)");
  test("bun:sqlite errors carry the extended code and errno", () => {
    const e = thrown(() => db.run("insert into t values(1, null)"));
    expect(sqliteErrorInfo(e)).toMatchObject({ code: "SQLITE_CONSTRAINT_NOTNULL", errno: 1299, primary: 19 });
  });
  test("syntax and constraint errors are data errors with the cause kept", () => {
    const e = thrown(() => db.prepare("selec 1"));
    const h = toHardshellError(e, { where: "line 1", note: "nothing was committed" });
    expect(h).toBeInstanceOf(DataError);
    expect(h.cause).toBe(e);
    expect(h.message).toBe('SQL error: near "selec": syntax error [line 1] (SQLITE_ERROR; nothing was committed)');
  });
  test("BUSY and LOCKED with any extended code are retryable, nothing else is", () => {
    const mk = (errno: number, code: string) => Object.assign(new Error("x"), { name: "SQLiteError", errno, code });
    for (const [n, c] of [[5, "SQLITE_BUSY"], [261, "SQLITE_BUSY_RECOVERY"], [517, "SQLITE_BUSY_SNAPSHOT"], [773, "SQLITE_BUSY_TIMEOUT"], [6, "SQLITE_LOCKED"], [262, "SQLITE_LOCKED_SHAREDCACHE"], [518, "SQLITE_LOCKED_VTAB"]] as const) {
      expect(isBusy(mk(n, c))).toBe(true);
    }
    expect(isBusy(thrown(() => db.prepare("selec 1")))).toBe(false);
    expect(isBusy(new Error("database is locked"))).toBe(false);
  });
  test("an error with the shared busy marker (a lock held by a peer, a blocked checkpoint) is retryable too", () => {
    class Held extends BusyError {}
    expect(isBusy(new Held("held"))).toBe(true);
  });
  test("a real SQLITE_BUSY from a second connection is retryable", () => {
    const path = `${require("node:os").tmpdir()}/hs-busy-${process.pid}.db`;
    const a = new Database(path, { create: true });
    a.run("create table if not exists x(a)");
    a.run("begin exclusive");
    const b = new Database(path);
    b.run("pragma busy_timeout = 0");
    const e = thrown(() => b.run("insert into x values(1)"));
    expect(isBusy(e)).toBe(true);
    a.run("rollback");
    a.close();
    b.close();
    require("node:fs").rmSync(path, { force: true });
  });
  test("read-only and I/O failures map to 77 and 74", () => {
    const mk = (errno: number) => Object.assign(new Error("x"), { name: "SQLiteError", errno, code: "X" });
    expect(toHardshellError(mk(8))).toBeInstanceOf(PermissionError);
    expect(toHardshellError(mk(1032))).toBeInstanceOf(PermissionError); // READONLY_DBMOVED
    expect(toHardshellError(mk(11))).toBeInstanceOf(IoError);
    expect(toHardshellError(mk(26))).toBeInstanceOf(IoError);
    expect(toHardshellError(mk(266))).toBeInstanceOf(IoError); // IOERR_READ
  });
});
