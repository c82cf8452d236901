import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { Database } from "bun:sqlite";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, realpathSync, rmdirSync, rmSync, statSync, symlinkSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Subprocess } from "bun";
import { DataError, TempFailError, UsageError } from "../../../lib/core/errors";
import { _resetForTests, runCleanups } from "../../../lib/core/signals";
import { clearStaleDotLock, DotLock, DotLockHeld, dotlockGuard, dotlockPaths, judgeDotLock, type ClearedDotLock } from "../../../lib/sqlite/dotlock";
import { dotlockPresent, openDatabase, type Connection } from "../../../lib/sqlite/open";
import { runTransaction, scriptPlan, type RunOptions } from "../../../lib/sqlite/run";
import { splitSql } from "../../../lib/sqlite/split";

let dir = "";
let db = "";
let conns: Connection[] = [];
let children: Subprocess[] = [];
beforeEach(() => {
  dir = realpathSync(mkdtempSync(join(tmpdir(), "hs-dotlock-")));
  db = join(dir, "a.db");
  const init = new Database(db, { create: true });
  init.run("create table t(id integer primary key, v text not null)");
  init.close();
});
afterEach(() => {
  for (const c of conns) c.close();
  for (const c of children) c.kill(9);
  conns = [];
  children = [];
  _resetForTests();
  rmSync(dir, { recursive: true, force: true });
});

const open = () => {
  const c = openDatabase({ path: db });
  conns.push(c);
  return c;
};
/** Leave a DB.lock as a SIGKILLed node-sqlite3-wasm process would: an empty directory, mtime `ageMs` ago. */
function plant(lockPath: string, ageMs: number): void {
  mkdirSync(lockPath);
  const t = new Date(Date.now() - ageMs);
  utimesSync(lockPath, t, t);
}
/** A live process with the database open (as a node-sqlite3-wasm app holding DB.lock would have). */
function liveHolder(): Subprocess {
  const c = Bun.spawn(["sleep", "30"], { stdin: Bun.file(db) });
  children.push(c);
  return c;
}
const opts = (guard: DotLock, extra: Partial<RunOptions> = {}): RunOptions => ({
  policy: { baseMs: 1, maxMs: 5, retries: 3, deadlineMs: 5_000 },
  busyTimeoutMs: 0,
  open: { path: db },
  guard,
  ...extra,
});
const plan = (sql: string) => scriptPlan(splitSql(sql), splitSql(sql).map(() => undefined));
const rows = () => {
  const d = new Database(db, { readonly: true });
  const r = d.query("select v from t order by id").values().map((x) => x[0]);
  d.close();
  return r;
};
const debris = () => readdirSync(dir).filter((n) => n !== "a.db");

describe("dotlockPaths", () => {
  test("is the absolute DB path plus .lock, as node-sqlite3-wasm's path.resolve makes it", () => {
    const cwd = process.cwd();
    process.chdir(dir);
    try {
      expect(dotlockPaths("a.db")).toEqual([`${db}.lock`]);
    } finally {
      process.chdir(cwd);
    }
  });
  test("through a symlink: both the link's and the real file's lock, link first", () => {
    symlinkSync(db, join(dir, "link.db"));
    expect(dotlockPaths(join(dir, "link.db"))).toEqual([join(dir, "link.db.lock"), `${db}.lock`]);
  });
});

describe("judgeDotLock", () => {
  const lp = () => `${db}.lock`;
  test("gone, young, stale by age and liveness", () => {
    expect(judgeDotLock(lp(), 1000).verdict).toBe("gone");
    plant(lp(), 0);
    expect(judgeDotLock(lp(), 1000).verdict).toBe("young");
    const t = new Date(Date.now() - 5000);
    utimesSync(lp(), t, t);
    const j = judgeDotLock(lp(), 1000);
    expect(j.verdict).toBe("stale");
    expect(j.ageMs).toBeGreaterThanOrEqual(5000);
    expect(j.reason).toContain("no process has a.db open");
  });
  test("an old lock is held while a live process has the database open", () => {
    plant(lp(), 60_000);
    const c = liveHolder();
    const j = judgeDotLock(lp(), 1000);
    expect(j.verdict).toBe("held");
    expect(j.holders.map((h) => h.pid)).toEqual([c.pid]);
    expect(j.reason).toContain(`pid ${c.pid} (sleep)`);
  });
  test("our own open connection does not count as a holder", () => {
    open();
    plant(lp(), 60_000);
    expect(judgeDotLock(lp(), 1000).verdict).toBe("stale");
  });
  test("a file or a non-empty directory is not node-sqlite3-wasm's lock: unknown, never stale", () => {
    writeFileSync(lp(), "");
    utimesSync(lp(), new Date(0), new Date(0));
    expect(judgeDotLock(lp(), 1000).verdict).toBe("unknown");
    rmSync(lp());
    plant(lp(), 60_000);
    writeFileSync(join(lp(), "owner"), "{}");
    utimesSync(lp(), new Date(0), new Date(0));
    expect(judgeDotLock(lp(), 1000).verdict).toBe("unknown");
  });
});

describe("clearStaleDotLock", () => {
  test("two clearers of one stale lock: exactly one removes it, the other sees it changed", async () => {
    const lp = `${db}.lock`;
    plant(lp, 60_000);
    const j = judgeDotLock(lp, 1000);
    const [a, b] = await Promise.all([clearStaleDotLock(lp, j, 1000), clearStaleDotLock(lp, j, 1000)]);
    expect([a, b].filter(Boolean).length).toBe(1);
    expect(existsSync(lp)).toBe(false);
    expect(debris()).toEqual([]);
  });
  test("a lock re-created after judging (another inode) is left alone", async () => {
    const lp = `${db}.lock`;
    plant(lp, 60_000);
    const j = judgeDotLock(lp, 1000);
    rmdirSync(lp);
    plant(lp, 60_000);
    expect(await clearStaleDotLock(lp, j, 1000)).toBeUndefined();
    expect(existsSync(lp)).toBe(true);
  });
  test("removes aside debris of a clearer that was SIGKILLed, once its pid is dead", async () => {
    const dead = Bun.spawnSync(["true"]).pid;
    mkdirSync(join(dir, `.a.db.lock.hardshell-${dead}-0badf00d.stale`));
    plant(`${db}.lock`, 60_000);
    const j = judgeDotLock(`${db}.lock`, 1000);
    expect(await clearStaleDotLock(`${db}.lock`, j, 1000)).toBeDefined();
    expect(debris()).toEqual([]);
  });
});

describe("DotLock as the runner's attempt guard", () => {
  test("holds DB.lock during the attempt and removes it after COMMIT", async () => {
    const conn = open();
    const guard = new DotLock(db, { staleMs: 30_000 });
    let seen = false;
    const r = await runTransaction(conn, plan("insert into t(v) values ('a')"), opts(guard, { beforeAttempt: () => void (seen = statSync(`${db}.lock`).isDirectory()) }));
    expect(seen).toBe(true);
    expect(r.attempts).toBe(1);
    expect(rows()).toEqual(["a"]);
    expect(debris()).toEqual([]);
  });
  test("a held DB.lock is busy: retried with backoff, then TempFailError naming it; the holder's lock stays", async () => {
    plant(`${db}.lock`, 0);
    const ino = statSync(`${db}.lock`).ino;
    const conn = open();
    const err = await runTransaction(conn, plan("insert into t(v) values ('a')"), opts(new DotLock(db, { staleMs: 30_000 }))).catch((e) => e);
    expect(err).toBeInstanceOf(TempFailError);
    expect(err.attempts).toBe(4);
    expect(err.message).toContain(`${db}.lock held`);
    expect(statSync(`${db}.lock`).ino).toBe(ino);
    expect(rows()).toEqual([]);
  });
  test("a DB.lock released by its holder mid-wait is taken on a later attempt", async () => {
    plant(`${db}.lock`, 0);
    setTimeout(() => rmdirSync(`${db}.lock`), 30);
    const conn = open();
    const r = await runTransaction(conn, plan("insert into t(v) values ('a')"), opts(new DotLock(db, { staleMs: 30_000 }), { policy: { baseMs: 5, maxMs: 20, retries: 100, deadlineMs: 5_000 } }));
    expect(r.attempts).toBeGreaterThan(1);
    expect(rows()).toEqual(["a"]);
    expect(debris()).toEqual([]);
  });
  test("a stale DB.lock is cleared once, reported, and the attempt succeeds", async () => {
    plant(`${db}.lock`, 60_000);
    const cleared: ClearedDotLock[] = [];
    const conn = open();
    const r = await runTransaction(conn, plan("insert into t(v) values ('a')"), opts(new DotLock(db, { staleMs: 30_000, onCleared: (c) => cleared.push(c) })));
    expect(r.attempts).toBe(1);
    expect(cleared.length).toBe(1);
    expect(cleared[0]!.path).toBe(`${db}.lock`);
    expect(cleared[0]!.ageMs).toBeGreaterThanOrEqual(60_000);
    expect(cleared[0]!.reason).toContain("no process has a.db open");
    expect(rows()).toEqual(["a"]);
    expect(debris()).toEqual([]);
  });
  test("an old DB.lock whose holder is alive is never cleared", async () => {
    plant(`${db}.lock`, 60_000);
    const c = liveHolder();
    const cleared: ClearedDotLock[] = [];
    const err = await runTransaction(open(), plan("insert into t(v) values ('a')"), opts(new DotLock(db, { staleMs: 1000, onCleared: (x) => cleared.push(x) }))).catch((e) => e);
    expect(err).toBeInstanceOf(TempFailError);
    expect(err.message).toContain(`pid ${c.pid} (sleep) has a.db open`);
    expect(cleared).toEqual([]);
    expect(existsSync(`${db}.lock`)).toBe(true);
  });
  test("a failing script releases DB.lock and is not retried", async () => {
    const err = await runTransaction(open(), plan("insert into t(v) values ('a'); insert into t(v) values (null)"), opts(new DotLock(db, { staleMs: 30_000 }))).catch((e) => e);
    expect(err).toBeInstanceOf(DataError);
    expect(rows()).toEqual([]);
    expect(debris()).toEqual([]);
  });
  test("through a symlink: the second lock held releases the first", async () => {
    symlinkSync(db, join(dir, "link.db"));
    plant(`${db}.lock`, 0);
    const g = new DotLock(join(dir, "link.db"), { staleMs: 30_000 });
    const err = await g.enter(open()).catch((e) => e);
    expect(err).toBeInstanceOf(DotLockHeld);
    expect(g.isHeld(err)).toBe(true);
    expect(existsSync(join(dir, "link.db.lock"))).toBe(false);
  });
  test("a signal cleanup rolls the open transaction back BEFORE removing DB.lock", async () => {
    const conn = open();
    const g = new DotLock(db, { staleMs: 30_000 });
    await g.enter(conn);
    conn.db.run("BEGIN IMMEDIATE");
    conn.db.run("insert into t(v) values ('never')");
    runCleanups();
    expect(existsSync(`${db}.lock`)).toBe(false);
    expect(rows()).toEqual([]);
    const other = new Database(db);
    other.run("insert into t(v) values ('free')"); // no lock left behind by the dead transaction
    other.close();
    expect(rows()).toEqual(["free"]);
  });
});

describe("dotlockGuard and dotlockPresent", () => {
  test("refuses WAL, in-memory databases and a bad --dotlock-stale", () => {
    expect(() => dotlockGuard({ path: db, wal: true }, undefined)).toThrow(UsageError);
    expect(() => dotlockGuard({ path: ":memory:" }, undefined)).toThrow(UsageError);
    expect(() => dotlockGuard({ path: db }, "soon")).toThrow(UsageError);
    expect(dotlockGuard({ path: db }, "2m").opts.staleMs).toBe(120_000);
    expect(dotlockGuard({ path: db }, undefined).opts.staleMs).toBe(30_000);
  });
  test("dotlockPresent sees a DB.lock directory with one stat (guards Bun's missing-file mtime)", () => {
    expect(dotlockPresent(db)).toBe(false);
    mkdirSync(`${db}.lock`);
    expect(dotlockPresent(db)).toBe(true);
    expect(dotlockPresent(":memory:")).toBe(false);
  });
});
