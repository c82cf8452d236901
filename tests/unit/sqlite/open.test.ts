import { afterEach, describe, expect, test } from "bun:test";
import { Database } from "bun:sqlite";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { configure, openDatabase, parsePragmas, validateOpenOptions } from "../../../lib/sqlite/open";
import { CantCreateError, NoInputError, UsageError } from "../../../lib/core/errors";

let dir = "";
afterEach(() => rmSync(dir, { recursive: true, force: true }));
const fresh = () => (dir = mkdtempSync(join(tmpdir(), "hs-open-")));

describe("openDatabase", () => {
  test("a missing database is NoInputError and nothing is created", () => {
    fresh();
    expect(() => openDatabase({ path: join(dir, "typo.db") })).toThrow(NoInputError);
    expect(readdirSync(dir)).toEqual([]);
  });
  test("--create makes it; a missing directory is CantCreateError; a directory is refused", () => {
    fresh();
    const c = openDatabase({ path: join(dir, "new.db"), create: true });
    c.db.run("create table t(a)");
    c.close();
    expect(existsSync(join(dir, "new.db"))).toBe(true);
    expect(() => openDatabase({ path: join(dir, "nodir", "x.db"), create: true })).toThrow(CantCreateError);
    mkdirSync(join(dir, "d"));
    expect(() => openDatabase({ path: join(dir, "d") })).toThrow(CantCreateError);
  });
  test("configure turns foreign keys on, applies pragmas and WAL", () => {
    fresh();
    const path = join(dir, "a.db");
    new Database(path, { create: true }).close();
    const c = openDatabase({ path });
    configure(c, { path, wal: true, synchronous: "normal", pragmas: ["cache_size=-4000"] });
    const one = (sql: string) => String(Object.values(c.db.query(sql).get() as object)[0]);
    expect(one("pragma foreign_keys")).toBe("1");
    expect(one("pragma journal_mode")).toBe("wal");
    expect(one("pragma synchronous")).toBe("1");
    expect(one("pragma cache_size")).toBe("-4000");
    c.close();
    const d = openDatabase({ path });
    configure(d, { path, foreignKeys: false });
    expect(String(Object.values(d.db.query("pragma foreign_keys").get() as object)[0])).toBe("0");
    d.close();
  });
  test("pragma text and option combinations are validated before any SQL", () => {
    expect(parsePragmas(["cache_size=-2000", "main.journal_size_limit=100", "temp_store=memory"])).toHaveLength(3);
    for (const bad of ["x", "a=1; drop table t", "a='x'", "1a=2", "a=b c"]) expect(() => parsePragmas([bad])).toThrow(UsageError);
    expect(() => validateOpenOptions({ path: "x", readOnly: true, create: true })).toThrow(UsageError);
    expect(() => validateOpenOptions({ path: "x", synchronous: "sometimes" })).toThrow(UsageError);
  });
});
