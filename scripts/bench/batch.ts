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
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { bin, fmt, interleave, median, ratioOfPairs, runSync, skipped, sqliteInit, sqliteValue, type BenchCtx, type Section } from "./_lib";

export async function run(ctx: BenchCtx): Promise<Section> {
  const title = "4. Batch load: `sqlite-exec --each` vs `sqlite3 .import`";
  const se = bin("sqlite-exec");
  if (!se) return skipped(title, "dist/sqlite-exec is not built");
  const rows = ctx.quick ? 10_000 : 100_000;
  const dir = join(ctx.tmp, "batch");
  mkdirSync(dir, { recursive: true });
  const tsv = join(dir, "rows.tsv");
  const jsonl = join(dir, "rows.jsonl");
  const t: string[] = ["a\tb"];
  const j: string[] = [];
  for (let i = 0; i < rows; i++) {
    const b = `row ${i} ${((i * 2654435761) >>> 0).toString(36)}`;
    t.push(`${i}\t${b}`);
    j.push(JSON.stringify({ a: i, b }));
  }
  writeFileSync(tsv, t.join("\n") + "\n");
  writeFileSync(jsonl, j.join("\n") + "\n");
  const schema = "CREATE TABLE t(a INTEGER, b TEXT);";
  const db = (name: string) => join(dir, `${name}.db`);
  const bad = new Map<string, number>();
  const verify = (name: string, r: { code: number | null; stderr: string }) => {
    const n = Number(sqliteValue(db(name), "SELECT count(*) FROM t"));
    if (r.code !== 0 || n !== rows) {
      bad.set(name, (bad.get(name) ?? 0) + 1);
      ctx.log(`batch: ${name} exit ${r.code}, ${n} rows: ${r.stderr.trim().split("\n")[0] ?? ""}`);
    }
  };
  const insert = "INSERT INTO t(a, b) VALUES (:a, :b)";
  const contenders = [
    {
      name: "import",
      setup: () => sqliteInit(db("import"), schema, false),
      run: () => {
        const r = runSync(["sqlite3", "-cmd", ".mode tabs", db("import"), `.import --skip 1 ${tsv} t`]);
        verify("import", r);
        return r.ms;
      },
    },
    {
      name: "each-tsv",
      setup: () => sqliteInit(db("each-tsv"), schema, false),
      run: () => {
        const r = runSync([se, "--input", "tsv", "--each", insert, db("each-tsv")], { stdin: { file: tsv } });
        verify("each-tsv", r);
        return r.ms;
      },
    },
    {
      name: "each-jsonl",
      setup: () => sqliteInit(db("each-jsonl"), schema, false),
      run: () => {
        const r = runSync([se, "--each", insert, db("each-jsonl")], { stdin: { file: jsonl } });
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
    title,
    method: `${rows.toLocaleString("en-US")} rows (integer + text) from one file, fresh rollback-journal database per load, ${ctx.rounds} interleaved rounds. Ratio = median over rounds of rows/s(tool) / rows/s(.import). "bad loads" = loads that exited non-zero or left a row count other than ${rows}.`,
    headers: ["load", "median rows/s", "rows/s ratio vs .import", "bad loads"],
    rows: [
      row("`sqlite3 .import --skip 1 rows.tsv t` (yardstick)", "import"),
      row("`sqlite-exec --input tsv --each 'INSERT ...' < rows.tsv`", "each-tsv"),
      row("`sqlite-exec --each 'INSERT ...' < rows.jsonl` (default input)", "each-jsonl"),
    ],
    notes: [],
  };
}
