/**
 * Item 4 — bulk load: 100,000 rows through `sqlite-exec --each` against the `sqlite3` CLI
 * `.import` of the same TSV file, as a rows-per-second ratio.
 *
 * Why: `--each` is the safe way for a script to load many rows (parameters bound per row,
 * never spliced into SQL; one retried transaction), and `.import` is what a script would use
 * instead. Both load into a fresh database with the same schema, in one transaction each;
 * rounds are interleaved and the ratio is the median of per-round ratios. The row count is
 * checked after every load so a fast-but-wrong load cannot win.
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { bin, fmt, interleave, median, peakRssKiB, ratioOfPairs, runSync, skipped, sqliteInit, sqliteValue, type BenchCtx, type Section, workDir } from "./_lib";

/** Column b of row i: a short text that differs from row to row (no long runs of equal values to compress). */
const rowText = (i: number) => `row ${i} ${((i * 2654435761) >>> 0).toString(36)}`;

/** Both sections load rows (a INTEGER, b TEXT) into this table, one row per input record. */
const SCHEMA = "CREATE TABLE t(a INTEGER, b TEXT);";
const INSERT = "INSERT INTO t(a, b) VALUES (:a, :b)";
const THROUGHPUT_TITLE = "4. Batch load: `sqlite-exec --each` vs `sqlite3 .import`";
const MEMORY_TITLE = "4b. Memory at 1M rows: `sqlite-exec --each` and `SELECT *` in every format";

export async function run(ctx: BenchCtx): Promise<Section[]> {
  const se = bin("sqlite-exec");
  if (!se) return [THROUGHPUT_TITLE, MEMORY_TITLE].map((title) => skipped(title, "dist/sqlite-exec is not built"));
  return [await throughput(ctx, se), memory(ctx, se)];
}

/**
 * `rows` input rows in a fresh work dir `name`: rows.jsonl (`{"a":i,"b":...}` a line) and, with
 * `tsv`, the same rows as rows.tsv under an `a<TAB>b` header line.
 */
function rowFiles(ctx: BenchCtx, name: string, rows: number, tsv: boolean): { dir: string; jsonl: string; tsv: string } {
  const dir = workDir(ctx, name);
  const files = { dir, jsonl: join(dir, "rows.jsonl"), tsv: join(dir, "rows.tsv") };
  const t: string[] = ["a\tb"];
  const j: string[] = [];
  for (let i = 0; i < rows; i++) {
    const b = rowText(i);
    if (tsv) t.push(`${i}\t${b}`);
    j.push(JSON.stringify({ a: i, b }));
  }
  if (tsv) writeFileSync(files.tsv, t.join("\n") + "\n");
  writeFileSync(files.jsonl, j.join("\n") + "\n");
  return files;
}

/**
 * Item 4b — memory at 1,000,000 rows: peak RSS of `--each` loading 1M JSONL rows (default
 * --batch: one transaction) and of `SELECT *` of 1M rows in every output format, over the
 * peak of a trivial call. Why: cron jobs load logs and pipe big SELECTs into jq; memory must
 * not grow with the row count (target: <= +64 MiB). Each figure is the median of 3 runs.
 */
function memory(ctx: BenchCtx, se: string): Section {
  const rows = ctx.quick ? 100_000 : 1_000_000;
  const { dir, jsonl } = rowFiles(ctx, "memory", rows, false);
  const db = join(dir, "m.db");
  const runs = 3;
  const peak = (argv: string[], opts: Parameters<typeof peakRssKiB>[1], setup?: () => void, check?: () => boolean): [number | undefined, number] => {
    const ks: number[] = [];
    let bad = 0;
    for (let r = 0; r < runs; r++) {
      setup?.();
      const m = peakRssKiB(argv, { timeoutMs: 600_000, ...opts });
      if (m.run.code !== 0 || (check && !check())) {
        bad++;
        ctx.log(`memory: ${argv.slice(1, 4).join(" ")} exit ${m.run.code}: ${m.run.stderr.trim().split("\n")[0] ?? ""}`);
      }
      if (m.kib !== undefined) ks.push(m.kib);
    }
    return [ks.length ? median(ks) : undefined, bad];
  };
  const mib = (k: number | undefined) => (k === undefined ? "n/a" : (k / 1024).toFixed(1));
  const [trivial] = peak([se, "--create", join(dir, "tiny.db"), "SELECT 1"], {});
  const out: string[][] = [["trivial call (`SELECT 1`)", mib(trivial), "-", "0"]];
  const extra = (k: number | undefined) => (k === undefined || trivial === undefined ? "n/a" : `+${((k - trivial) / 1024).toFixed(1)} MiB`);
  ctx.log(`memory: ${rows} rows, ${runs} runs each`);
  const [eachK, eachBad] = peak(
    [se, "--each", INSERT, db],
    { stdin: { file: jsonl } },
    () => sqliteInit(db, SCHEMA, false),
    () => Number(sqliteValue(db, "SELECT count(*) FROM t")) === rows,
  );
  out.push([`\`--each 'INSERT ...' < ${rows.toLocaleString("en-US")} rows.jsonl\` (default --batch)`, mib(eachK), extra(eachK), String(eachBad)]);
  sqliteInit(db, SCHEMA, false);
  runSync([se, "--each", INSERT, db], { stdin: { file: jsonl }, timeoutMs: 600_000 });
  for (const f of ["tsv", "csv", "json", "jsonl", "table"]) {
    const [k, bad] = peak([se, "--format", f, db, "SELECT * FROM t"], {});
    out.push([`\`SELECT *\` of ${rows.toLocaleString("en-US")} rows, \`--format ${f}\``, mib(k), extra(k), String(bad)]);
  }
  return {
    title: MEMORY_TITLE,
    method: `${rows.toLocaleString("en-US")} rows (integer + text). Peak RSS from GNU time %M, median of ${runs} runs; "extra" = peak minus the trivial call's peak. The --each load starts from an empty table each run and is checked to hold ${rows} rows afterwards; the SELECTs write to a pipe read by the bench. "bad runs" = runs that exited non-zero or loaded a wrong row count.`,
    headers: ["call", "peak RSS MiB", "extra over trivial", "bad runs"],
    rows: out,
    notes: ["target: extra <= +64 MiB for every row (issue: bounded memory at any size)"],
  };
}

async function throughput(ctx: BenchCtx, se: string): Promise<Section> {
  const rows = ctx.quick ? 10_000 : 100_000;
  const { dir, tsv, jsonl } = rowFiles(ctx, "batch", rows, true);
  const db = (name: string) => join(dir, `${name}.db`);
  const bad = new Map<string, number>();
  const verify = (name: string, r: { code: number | null; stderr: string }) => {
    const n = Number(sqliteValue(db(name), "SELECT count(*) FROM t"));
    if (r.code !== 0 || n !== rows) {
      bad.set(name, (bad.get(name) ?? 0) + 1);
      ctx.log(`batch: ${name} exit ${r.code}, ${n} rows: ${r.stderr.trim().split("\n")[0] ?? ""}`);
    }
  };
  const contenders = [
    {
      name: "import",
      setup: () => sqliteInit(db("import"), SCHEMA, false),
      run: () => {
        const r = runSync(["sqlite3", "-cmd", ".mode tabs", db("import"), `.import --skip 1 ${tsv} t`]);
        verify("import", r);
        return r.ms;
      },
    },
    {
      name: "each-tsv",
      setup: () => sqliteInit(db("each-tsv"), SCHEMA, false),
      run: () => {
        const r = runSync([se, "--input", "tsv", "--each", INSERT, db("each-tsv")], { stdin: { file: tsv } });
        verify("each-tsv", r);
        return r.ms;
      },
    },
    {
      name: "each-jsonl",
      setup: () => sqliteInit(db("each-jsonl"), SCHEMA, false),
      run: () => {
        const r = runSync([se, "--each", INSERT, db("each-jsonl")], { stdin: { file: jsonl } });
        verify("each-jsonl", r);
        return r.ms;
      },
    },
  ];
  ctx.log(`batch: ${rows} rows, ${ctx.rounds} interleaved rounds`);
  const times = await interleave(ctx.rounds, contenders, 1);
  const base = times.get("import")!;
  const rate = (ms: number) => (rows / ms) * 1000;
  const row = (label: string, name: string) => {
    const xs = times.get(name)!;
    // rows/s ratio = (rows / t_tool) / (rows / t_import) = t_import / t_tool, per round
    return [label, fmt.num(rate(median(xs))), fmt.ratio(1 / ratioOfPairs(xs, base)), String(bad.get(name) ?? 0)];
  };
  return {
    title: THROUGHPUT_TITLE,
    method: `${rows.toLocaleString("en-US")} rows (integer + text) from one file, fresh rollback-journal database per load, ${ctx.rounds} interleaved rounds. Ratio = median over rounds of rows/s(tool) / rows/s(.import). "bad loads" = loads that exited non-zero or left a row count other than ${rows}.`,
    headers: ["load", "median rows/s", "rows/s ratio vs .import", "bad loads"],
    rows: [
      row("`sqlite3 .import --skip 1 rows.tsv t` (yardstick)", "import"),
      row("`sqlite-exec --input tsv --each 'INSERT ...' < rows.tsv`", "each-tsv"),
      row("`sqlite-exec --each 'INSERT ...' < rows.jsonl` (default input)", "each-jsonl"),
    ],
    notes: ["targets: TSV >= 0.60x, JSONL >= 0.50x the rows/s of .import (0.42x and 0.35x before --each streamed its input)"],
  };
}
