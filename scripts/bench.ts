/**
 * `npm run bench`: hardshell against the real programs it replaces, on this machine, in one run.
 *
 * Prints a machine line (cores, kernel, versions of bun, sqlite3, git, python3) and one table
 * per item of the benchmark plan, then writes the same to docs/BENCHMARKS.md:
 *   1. start-up of each command vs the sqlite3 CLI one-row insert    (scripts/bench/startup.ts)
 *   2. 100 and 500 concurrent writers on one WAL database             (scripts/bench/contention.ts)
 *   3. read-then-write transactions from 50 processes                 (scripts/bench/contention.ts)
 *   4. 100,000 rows: sqlite-exec --each vs sqlite3 .import            (scripts/bench/batch.ts)
 *      4b. peak RSS at 1M rows: --each, SELECT * in every format      (scripts/bench/batch.ts)
 *   5. atomic-write: small file vs cat+mv, 512 MiB vs cp, peak RSS    (scripts/bench/atomic.ts)
 *   6. git-lock status on 10,000 loose refs vs find                   (scripts/bench/gitlock.ts)
 *
 * Why a ratio table and not timings: every figure is a ratio or a count measured side by side in
 * the same run (median of >= 15 interleaved rounds; about 8 minutes on 2 cores), so it stays
 * meaningful on a loaded machine. Benchmarks
 * measure and print; they never fail (exit 0 unless the driver itself breaks).
 *
 * Usage: bun scripts/bench.ts [--quick] [--rounds N] [--only 1,2,...] [--no-build] [--out FILE]
 *   --quick     smaller sizes and 5 rounds (smoke run; docs/BENCHMARKS.md is not written)
 *   --rounds N  exactly N interleaved rounds for every comparison
 *   --only      run only these items (numbers above)
 *   --no-build  use dist/ as it is (default: rebuild stale binaries first)
 *   --out FILE  markdown output (default docs/BENCHMARKS.md for a full run)
 */
import { cpus, loadavg, release } from "node:os";
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { makeCtx, mdTable, python3, ROOT, runSync, textTable, versionOf, type Section } from "./bench/_lib";

const argv = process.argv.slice(2);
const flag = (name: string) => argv.includes(name);
const value = (name: string) => {
  const i = argv.indexOf(name);
  return i >= 0 ? argv[i + 1] : undefined;
};
const quick = flag("--quick");
const roundsArg = value("--rounds");
const only = value("--only")?.split(",").map((s) => s.trim());
const want = (item: string) => !only || only.includes(item);
const out = value("--out") ?? (quick || only ? undefined : join(ROOT, "docs", "BENCHMARKS.md"));

if (!flag("--no-build")) {
  const b = runSync([process.execPath, join(ROOT, "scripts", "build.ts"), "--if-stale"], { timeoutMs: 600_000 });
  if (b.code !== 0) process.stderr.write(`bench: build reported a failure, benchmarking what is in dist/:\n${b.stdout}${b.stderr}`);
}

const ctx = makeCtx(quick, roundsArg ? Math.max(1, Number(roundsArg)) : undefined);
const started = new Date();
const t0 = performance.now();
const py = python3();
const machine = [
  `${cpus().length} cores`,
  `Linux ${release()}`,
  `bun ${Bun.version}`,
  `sqlite3 ${versionOf(["sqlite3", "--version"]).split(" ")[0]}`,
  `${versionOf(["git", "--version"])}`,
  `${versionOf([py, "--version"])} (sqlite ${versionOf([py, "-c", "import sqlite3; print(sqlite3.sqlite_version)"])})`,
  `load average at start ${loadavg().map((x) => x.toFixed(2)).join(" ")}`,
].join(" · ");
process.stdout.write(`machine: ${machine}\n${quick ? "QUICK run (smaller sizes, fewer rounds)\n" : ""}\n`);

const sections: Section[] = [];
function show(s: Section): void {
  sections.push(s);
  process.stdout.write(`## ${s.title}\n${s.method ? s.method + "\n" : ""}\n${textTable(s.headers, s.rows)}\n${s.notes.map((n) => `  * ${n}`).join("\n")}\n\n`);
}

async function item(n: string, load: () => Promise<Section | Section[]>): Promise<void> {
  if (!want(n)) return;
  try {
    const r = await load();
    for (const s of Array.isArray(r) ? r : [r]) show(s);
  } catch (err) {
    show({ title: `${n}. (failed to measure)`, method: "", headers: ["error"], rows: [[String((err as Error)?.message ?? err).split("\n")[0]!]], notes: [] });
  }
}

try {
  await item("1", async () => (await import("./bench/startup")).run(ctx));
  if (want("2") || want("3")) {
    const c = await import("./bench/contention");
    await item("2", () => c.runInsert(ctx));
    await item("3", () => c.runReadThenWrite(ctx));
  }
  await item("4", async () => (await import("./bench/batch")).run(ctx));
  await item("5", async () => (await import("./bench/atomic")).run(ctx));
  await item("6", async () => (await import("./bench/gitlock")).run(ctx));
} finally {
  rmSync(ctx.tmp, { recursive: true, force: true });
}

const minutes = (performance.now() - t0) / 60_000;
process.stdout.write(`bench: done in ${minutes.toFixed(1)} min\n`);

if (out) {
  const md = [
    "# hardshell benchmarks",
    "",
    "Written by `npm run bench` (scripts/bench.ts); rerun it to refresh. Every figure is a ratio or a count",
    "measured side by side in the same run: contenders run in interleaved rounds (order rotated each round)",
    "and a ratio is the median of the per-round ratios. Milliseconds are shown for orientation only.",
    "",
    `- machine: ${machine}`,
    `- run: ${started.toISOString().replace(/\.\d+Z$/, "Z")}, ${minutes.toFixed(1)} min${quick ? ", QUICK (smaller sizes)" : ""}`,
    "",
    ...sections.flatMap((s) => [`## ${s.title}`, "", ...(s.method ? [s.method, ""] : []), mdTable(s.headers, s.rows), "", ...s.notes.map((n) => `- ${n}`), ...(s.notes.length ? [""] : [])]),
  ].join("\n");
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(out, md);
  process.stdout.write(`bench: wrote ${out}\n`);
}
process.exit(0);
