#!/usr/bin/env node
/*
 * A node-sqlite3-wasm application, as a real peer for the --dotlock tests
 * (design.md §6). It opens DB with node-sqlite3-wasm (whose VFS locks with the
 * DB.lock directory and ignores POSIX locks) and writes into table t(v).
 *
 *   node wasm-writer.cjs DB insert TAG N [MAX_SLEEP_MS [GIVE_UP_MS]]
 *       N transactions, each BEGIN IMMEDIATE; INSERT v='TAG-i'; COMMIT.
 *       "database is locked" (its busy timeout is 0) -> ROLLBACK, sleep 1-5 ms, again;
 *       after GIVE_UP_MS (default 60000) of that for one row: exit 3.
 *       After each COMMIT prints "acked TAG-i" (written synchronously, so an
 *       acknowledged row is on stdout before anything else happens).
 *       Sleeps up to MAX_SLEEP_MS (default 0) between transactions.
 *   node wasm-writer.cjs DB hold TAG ROWS
 *       BEGIN IMMEDIATE; inserts ROWS rows v='TAG' of 2 kB each with a 2-page
 *       cache, so SQLite spills uncommitted pages into DB (the journal is hot);
 *       prints "holding PID" and then waits forever without committing.
 * Exit 0 when done; 3 when still locked after GIVE_UP_MS; 2 on any other error.
 */
"use strict";
const { writeSync } = require("node:fs");
const { Database } = require("node-sqlite3-wasm");

const [db, mode, tag, nText, sleepText, giveUpText] = process.argv.slice(2);
const say = (line) => writeSync(1, line + "\n");
const sleep = (ms) => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
const locked = (e) => /database is locked/.test(String(e && e.message));

function rollback(conn) {
  try {
    if (conn.inTransaction) conn.exec("ROLLBACK");
  } catch {
    /* nothing to roll back */
  }
}

function main() {
  if (!db || !["insert", "hold"].includes(mode) || !tag) {
    process.stderr.write("usage: wasm-writer.cjs DB insert TAG N [MAX_SLEEP_MS] | DB hold TAG ROWS\n");
    return 2;
  }
  const conn = new Database(db, { fileMustExist: true });
  if (mode === "hold") {
    for (;;) {
      try {
        conn.exec("PRAGMA cache_size = 2");
        conn.exec("BEGIN IMMEDIATE");
        break;
      } catch (e) {
        if (!locked(e)) throw e;
        sleep(2);
      }
    }
    const ins = conn.prepare("INSERT INTO t(v) SELECT ? || hex(randomblob(1000))");
    for (let i = 0; i < Number(nText || 1); i++) ins.run([tag]);
    ins.finalize();
    say(`holding ${process.pid}`);
    setInterval(() => {}, 1 << 30);
    return undefined;
  }
  const n = Number(nText);
  const maxSleep = Number(sleepText || 0);
  const giveUpMs = Number(giveUpText || 60000);
  for (let i = 1; i <= n; i++) {
    const v = `${tag}-${i}`;
    const since = Date.now();
    for (;;) {
      try {
        conn.exec("BEGIN IMMEDIATE");
        conn.run("INSERT INTO t(v) VALUES (?)", [v]);
        conn.exec("COMMIT");
        break;
      } catch (e) {
        rollback(conn);
        if (!locked(e)) throw e;
        if (Date.now() - since > giveUpMs) {
          process.stderr.write(`wasm-writer: still locked after ${giveUpMs} ms: ${v}\n`);
          return 3;
        }
        sleep(1 + Math.floor(Math.random() * 5));
      }
    }
    say(`acked ${v}`);
    if (maxSleep > 0) sleep(Math.floor(Math.random() * maxSleep));
  }
  conn.close();
  return 0;
}

try {
  const code = main();
  if (code !== undefined) process.exitCode = code;
} catch (e) {
  process.stderr.write(`wasm-writer: ${e && e.message}\n`);
  process.exitCode = 2;
}
