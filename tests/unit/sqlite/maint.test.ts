import { afterEach, describe, expect, test } from "bun:test";
import { Database } from "bun:sqlite";
import { chmodSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { openDatabase, type Connection } from "../../../lib/sqlite/open";
import { backup, checkDatabase, checkpoint } from "../../../lib/sqlite/maint";
import type { RunOptions } from "../../../lib/sqlite/run";
import { CantCreateError, UsageError } from "../../../lib/core/errors";

let dir = "";
let conn: Connection | undefined;
afterEach(() => {
  conn?.close();
  rmSync(dir, { recursive: true, force: true });
});
function setup(sql: string): { path: string; opts: RunOptions } {
  dir = mkdtempSync(join(tmpdir(), "hs-maint-"));
  const path = join(dir, "a.db");
  const db = new Database(path, { create: true });
  db.exec(sql);
  db.close();
  conn = openDatabase({ path });
  return { path, opts: { policy: { baseMs: 1, maxMs: 5, retries: 2, deadlineMs: 2000 }, busyTimeoutMs: 100, open: { path } } };
}

describe("maintenance", () => {
  test("check: a healthy database is ok", async () => {
    const { opts } = setup("create table p(id integer primary key); create table c(p references p(id)); insert into p values(1); insert into c values(1);");
    const r = await checkDatabase(conn!, opts);
    expect(r).toMatchObject({ ok: true, problems: [] });
  });
  test("check: a foreign key violation is reported", async () => {
    const { opts } = setup("create table p(id integer primary key); create table c(p references p(id)); insert into c values(7);");
    const r = await checkDatabase(conn!, opts);
    expect(r.ok).toBe(false);
    expect(r.problems[0]).toContain("foreign key: c rowid 1 references missing row in p");
  });
  test("backup: a consistent copy renamed into place, no temp file left", async () => {
    const { opts } = setup("create table t(a); insert into t values(1),(2),(3);");
    const dest = join(dir, "copy.db");
    await backup(conn!, dest, opts);
    const copy = new Database(dest, { readonly: true });
    expect(copy.query("select count(*) n from t").get()).toEqual({ n: 3 });
    copy.close();
    expect(readdirSync(dir).sort()).toEqual(["a.db", "copy.db"]);
    await expect(backup(conn!, join(dir, "missing", "x.db"), opts)).rejects.toBeInstanceOf(CantCreateError);
  });
  test("checkpoint: WAL frames are written back; bad modes are usage errors", async () => {
    const { opts } = setup("pragma journal_mode=wal; create table t(a); insert into t values(1);");
    const r = await checkpoint(conn!, "TRUNCATE", opts);
    expect(r.sets[0]!.columns).toEqual(["busy", "log", "checkpointed"]);
    expect(r.sets[0]!.rows[0]![0]).toBe(0n);
    await expect(checkpoint(conn!, "SOMETIMES", opts)).rejects.toBeInstanceOf(UsageError);
  });
  test("check: a file that is not a database is a finding, not an error", async () => {
    setup("create table t(a);");
    conn!.close();
    const path = join(dir, "text.db");
    writeFileSync(path, "this is not a database, only text that is long enough to have a header of a hundred bytes...\n");
    conn = openDatabase({ path });
    const r = await checkDatabase(conn, { policy: { baseMs: 1, maxMs: 5, retries: 2, deadlineMs: 2000 }, busyTimeoutMs: 100, open: { path } });
    expect(r.ok).toBe(false);
    expect(r.problems).toEqual(["integrity: file is not a database (SQLITE_NOTADB)"]);
  });
  test("backup: the copy has the source's mode, narrowed by an existing DEST's", async () => {
    const { path, opts } = setup("create table t(a); insert into t values(1);");
    const dest = join(dir, "copy.db");
    chmodSync(path, 0o600);
    await backup(conn!, dest, opts);
    expect(statSync(dest).mode & 0o777).toBe(0o600);
    chmodSync(path, 0o644);
    chmodSync(dest, 0o640);
    await backup(conn!, dest, opts);
    expect(statSync(dest).mode & 0o777).toBe(0o640);
  });
});
