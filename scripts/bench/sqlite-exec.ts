/**
 * Start-up benchmark of sqlite-exec against the sqlite3 CLI (SPEC §2.5, issue 2):
 * the median wall time of `dist/sqlite-exec DB "INSERT ..."` over the median of
 * `sqlite3 DB "INSERT ..."`, measured as interleaved pairs in one run (the order
 * inside each pair alternates) so machine load hits both sides alike. Also
 * reports a bare `dist/sqlite-exec --version`. Target: ratio <= 3.0.
 *
 * Usage: bun scripts/bench/sqlite-exec.ts [PAIRS]   (default 31, minimum 15)
 * Needs dist/sqlite-exec (npm run build) and sqlite3 on PATH. Exit 1 when the
 * ratio is above the target, so CI can flag a start-up regression.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const root = join(import.meta.dir, "..", "..");
const bin = join(root, "dist", "sqlite-exec");
const pairs = Math.max(15, Number(process.argv[2] ?? 31) || 31);
const TARGET = 3.0;

const dir = mkdtempSync(join(tmpdir(), "hardshell-bench-"));
try {
  const dbA = join(dir, "a.db"); // sqlite-exec's
  const dbB = join(dir, "b.db"); // sqlite3's
  for (const db of [dbA, dbB]) {
    const r = Bun.spawnSync(["sqlite3", db, "CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT)"]);
    if (r.exitCode !== 0) throw new Error(`sqlite3 failed: ${r.stderr.toString()}`);
  }
  const sql = "INSERT INTO t(v) VALUES ('x')";
  const run = (argv: string[]): number => {
    const t0 = performance.now();
    const r = Bun.spawnSync(argv, { stdout: "ignore", stderr: "pipe" });
    const dt = performance.now() - t0;
    if (r.exitCode !== 0) throw new Error(`${argv.join(" ")} exited ${r.exitCode}: ${r.stderr.toString()}`);
    return dt;
  };
  const ours = () => run([bin, dbA, sql]);
  const theirs = () => run(["sqlite3", dbB, sql]);
  const version = () => run([bin, "--version"]);
  for (let i = 0; i < 5; i++) ours(), theirs(), version(); // warm the page cache

  const a: number[] = [];
  const b: number[] = [];
  const v: number[] = [];
  const ratios: number[] = [];
  for (let i = 0; i < pairs; i++) {
    let x: number, y: number;
    if (i % 2 === 0) {
      x = ours();
      y = theirs();
    } else {
      y = theirs();
      x = ours();
    }
    a.push(x);
    b.push(y);
    ratios.push(x / y);
    v.push(version());
  }
  const median = (xs: number[]) => {
    const s = [...xs].sort((p, q) => p - q);
    const m = s.length >> 1;
    return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
  };
  const ma = median(a);
  const mb = median(b);
  const ratio = ma / mb;
  const fmt = (ms: number) => `${ms.toFixed(2)} ms`;
  console.log(`sqlite-exec start-up, ${pairs} interleaved pairs (median wall time, spawn included)`);
  console.log(`  sqlite-exec DB "INSERT ..."   ${fmt(ma)}`);
  console.log(`  sqlite3     DB "INSERT ..."   ${fmt(mb)}`);
  console.log(`  sqlite-exec --version         ${fmt(median(v))}`);
  console.log(`  ratio (median/median)         ${ratio.toFixed(2)}x   median of pair ratios ${median(ratios).toFixed(2)}x   target <= ${TARGET.toFixed(1)}x`);
  process.exitCode = ratio <= TARGET ? 0 : 1;
} finally {
  rmSync(dir, { recursive: true, force: true });
}
