/**
 * Items 2 and 3 — many processes writing one SQLite database at once.
 *
 * 2. N = 100 and N = 500 concurrent one-row writers on one WAL database: wall time of the
 *    whole burst and the number of writers that failed, for four ways a script can write:
 *    - `sqlite-exec` with its default retry budget;
 *    - python3's sqlite3 with timeout=5 and 5 retries with exponential backoff + jitter
 *      (the usual hand recipe); run as the real interpreter with -S (no site import), which
 *      cuts its start-up to a third: python's figure is its best case;
 *    - a bash `sqlite_with_retry` function around the `sqlite3` CLI, backoff computed by awk
 *      (the function existing scripts carry; no `.timeout`, the loop is its only defence);
 *    - the bare `sqlite3` CLI with `.timeout 5000`.
 * 3. Read-then-write transactions (`BEGIN; SELECT; UPDATE; COMMIT`) from 50 processes at
 *    once: a deferred transaction that read first gets SQLITE_BUSY_SNAPSHOT when it tries to
 *    write after another writer committed, and a busy timeout cannot help with that. Counts
 *    failures per tool and checks the counter against the number of successes (lost updates).
 *
 * Why: this is the job sqlite-exec exists for. Each round starts from a fresh database and
 * runs the tools one after the other (order rotated per round); the ratio column is the median
 * over rounds of tool-wall / sqlite-exec-wall in the same round; failure columns are counts.
 */
import { join } from "node:path";
import { bin, fmt, python3, median, ratioOfPairs, skipped, sqliteInit, sqliteValue, type BenchCtx, type Section, workDir } from "./_lib";

const PY_WRITER = `
import sqlite3, sys, time, random
db, mode, ident = sys.argv[1], sys.argv[2], int(sys.argv[3])
for attempt in range(6):
    try:
        con = sqlite3.connect(db, timeout=5, isolation_level=None)
        try:
            if mode == "insert":
                con.execute("INSERT INTO t(id, who) VALUES (?, 'py')", (ident,))
            else:
                con.execute("BEGIN")
                con.execute("SELECT v FROM c WHERE id = 1").fetchone()
                con.execute("UPDATE c SET v = v + 1 WHERE id = 1")
                con.execute("COMMIT")
        finally:
            con.close()
        sys.exit(0)
    except sqlite3.OperationalError as e:
        msg = str(e)
        if ("locked" not in msg and "busy" not in msg) or attempt == 5:
            print("python3: " + msg, file=sys.stderr)
            sys.exit(1)
        time.sleep(random.uniform(0, min(2.0, 0.05 * 2 ** attempt)))
`;

// The retry function as shell scripts write it: retry up to 5 times, sleeping
// 0.1 * 2^attempt seconds scaled by a random factor in [0.5, 1) computed with awk.
const BASH_RETRY = `
sqlite_with_retry() {
  local db=$1 sql=$2 attempt=0 max=5 delay
  while true; do
    if sqlite3 "$db" "$sql" >/dev/null; then return 0; fi
    attempt=$((attempt + 1))
    if [ "$attempt" -gt "$max" ]; then return 1; fi
    delay=$(awk -v a="$attempt" -v s="$RANDOM$$" 'BEGIN { srand(s); printf "%.3f", 0.1 * 2^a * (0.5 + rand() / 2) }')
    sleep "$delay"
  done
}
sqlite_with_retry "$1" "$2"
`;

const INSERT_SQL = (id: number, who: string) => `INSERT INTO t(id, who) VALUES (${id}, '${who}')`;
const RTW_SCRIPT = "BEGIN; SELECT v FROM c WHERE id = 1; UPDATE c SET v = v + 1 WHERE id = 1; COMMIT;";
const RTW_BODY = "SELECT v FROM c WHERE id = 1; UPDATE c SET v = v + 1 WHERE id = 1";

/**
 * What the writers of one item do to the database: how each tool's database starts every round,
 * and how far its end state is from what the writers that exited 0 did (0: nothing lost, nothing
 * phantom).
 */
interface Workload {
  label: string;
  fresh: (db: string) => void;
  mismatch: (db: string, successes: number) => number;
}

const INSERT_WORKLOAD: Workload = {
  label: "insert",
  fresh: (db) => sqliteInit(db, "CREATE TABLE t(id INTEGER, who TEXT);"),
  // rows present must equal writers that reported success (missing or extra = mismatch)
  mismatch: (db, ok) => Math.abs(Number(sqliteValue(db, "SELECT count(*) FROM t")) - ok),
};

const RTW_WORKLOAD: Workload = {
  label: "rtw",
  fresh: (db) => sqliteInit(db, "CREATE TABLE c(id INTEGER PRIMARY KEY, v INTEGER NOT NULL); INSERT INTO c VALUES (1, 0);"),
  // every successful writer added one to the counter
  mismatch: (db, ok) => Math.abs(Number(sqliteValue(db, "SELECT v FROM c WHERE id = 1")) - ok),
};

interface Tool {
  name: string;
  /** argv of writer number i. */
  argv: (db: string, i: number) => string[];
}

function insertTools(se: string | undefined): Tool[] {
  const tools: Tool[] = [];
  if (se) tools.push({ name: "sqlite-exec", argv: (db, i) => [se, "--param", `id:int=${i}`, db, "INSERT INTO t(id, who) VALUES (:id, 'se')"] });
  tools.push({ name: "python3 (timeout=5, 5 retries)", argv: (db, i) => [python3(), "-S", "-c", PY_WRITER, db, "insert", String(i)] });
  tools.push({ name: "bash sqlite_with_retry (awk backoff)", argv: (db, i) => ["bash", "-c", BASH_RETRY, "w", db, INSERT_SQL(i, "sh")] });
  tools.push({ name: "sqlite3 .timeout 5000", argv: (db, i) => ["sqlite3", "-cmd", ".timeout 5000", db, INSERT_SQL(i, "cli")] });
  return tools;
}

function rtwTools(se: string | undefined): Tool[] {
  const tools: Tool[] = [];
  if (se) {
    tools.push({ name: "sqlite-exec 'SELECT; UPDATE'", argv: (db) => [se, db, RTW_BODY] });
    tools.push({ name: "sqlite-exec 'BEGIN; SELECT; UPDATE; COMMIT'", argv: (db) => [se, db, RTW_SCRIPT] });
  }
  tools.push({ name: "python3 (timeout=5, 5 retries)", argv: (db, i) => [python3(), "-S", "-c", PY_WRITER, db, "rtw", String(i)] });
  tools.push({ name: "bash sqlite_with_retry (awk backoff)", argv: (db) => ["bash", "-c", BASH_RETRY, "w", db, RTW_SCRIPT] });
  tools.push({ name: "sqlite3 .timeout 5000", argv: (db) => ["sqlite3", "-cmd", ".timeout 5000", db, RTW_SCRIPT] });
  return tools;
}

interface Burst {
  wallMs: number;
  failures: number;
  sampleError: string;
}

/** Start n writer processes at once and wait for all; wall time from first spawn to last exit. */
async function burst(n: number, argvOf: (i: number) => string[]): Promise<Burst> {
  const t0 = performance.now();
  const procs: ReturnType<typeof Bun.spawn>[] = [];
  for (let i = 0; i < n; i++) {
    procs.push(Bun.spawn(argvOf(i), { stdin: "ignore", stdout: "ignore", stderr: "pipe" }));
  }
  const killer = setTimeout(() => procs.forEach((p) => p.kill("SIGKILL")), 180_000);
  const errs = await Promise.all(procs.map((p) => new Response(p.stderr as ReadableStream<Uint8Array>).text()));
  await Promise.all(procs.map((p) => p.exited));
  clearTimeout(killer);
  const wallMs = performance.now() - t0;
  let failures = 0;
  let sampleError = "";
  procs.forEach((p, i) => {
    if (p.exitCode !== 0) {
      failures++;
      if (!sampleError) sampleError = (errs[i] ?? "").trim().split("\n").pop() ?? `exit ${p.exitCode}`;
    }
  });
  return { wallMs, failures, sampleError };
}

interface Tally {
  walls: number[];
  failures: number[];
  lost: number;
  sample: string;
}

async function compare(ctx: BenchCtx, work: Workload, n: number, rounds: number, tools: Tool[]): Promise<Map<string, Tally>> {
  const { label, fresh, mismatch } = work;
  const dir = workDir(ctx, `contention-${label}-${n}`);
  const tally = new Map<string, Tally>(tools.map((t) => [t.name, { walls: [], failures: [], lost: 0, sample: "" }]));
  for (let r = 0; r < rounds; r++) {
    const shift = r % tools.length;
    const order = tools.map((_, i) => tools[(i + shift) % tools.length]!);
    for (const tool of order) {
      const db = join(dir, "w.db");
      fresh(db);
      const b = await burst(n, (i) => tool.argv(db, i));
      const t = tally.get(tool.name)!;
      t.walls.push(b.wallMs);
      t.failures.push(b.failures);
      t.lost += mismatch(db, n - b.failures);
      if (b.sampleError && !t.sample) t.sample = b.sampleError.slice(0, 100);
    }
    ctx.log(`${label} N=${n}: round ${r + 1}/${rounds} done`);
  }
  return tally;
}

function rowsOf(tools: Tool[], tally: Map<string, Tally>, n: number, rounds: number): string[][] {
  const base = tally.get(tools[0]!.name)!.walls;
  return tools.map((tool) => {
    const t = tally.get(tool.name)!;
    const total = t.failures.reduce((a, b) => a + b, 0);
    return [
      tool.name,
      fmt.ms(median(t.walls)),
      fmt.ratio(ratioOfPairs(t.walls, base)),
      `${total} / ${n * rounds}`,
      String(Math.max(...t.failures)),
      `${t.lost}`,
      t.sample || "-",
    ];
  });
}

export async function runInsert(ctx: BenchCtx): Promise<Section[]> {
  const se = bin("sqlite-exec");
  const tools = insertTools(se);
  const ns = ctx.quick ? [50, 100] : [100, 500];
  const sections: Section[] = [];
  for (const n of ns) {
    // A 500-writer round costs ~20 s on 2 cores (the bash loop and python dominate); 15 of
    // them keep the whole full run near 8 minutes.
    const rounds = ctx.rounds;
    ctx.log(`contention: N=${n}, ${rounds} rounds x ${tools.length} tools`);
    const tally = await compare(ctx, INSERT_WORKLOAD, n, rounds, tools);
    const notes: string[] = [];
    if (!se) notes.push("sqlite-exec is not built yet: ratios are relative to the first tool listed.");
    else {
      const mine = tally.get("sqlite-exec")!;
      const fails = mine.failures.reduce((a, b) => a + b, 0);
      const walls = tools.map((t) => ({ name: t.name, w: median(tally.get(t.name)!.walls) }));
      const fastest = walls.reduce((a, b) => (b.w < a.w ? b : a));
      notes.push(`target: sqlite-exec 0 failures (measured ${fails}) and the lowest wall time of the four (lowest: ${fastest.name}).`);
    }
    sections.push({
      title: `2. Contention: ${n} concurrent one-row writers, one WAL database`,
      method: `${rounds} rounds; each round gives every tool a fresh WAL database and starts ${n} writer processes at once (tool order rotated per round). Wall = first spawn to last exit. Ratio = median over rounds of wall(tool)/wall(sqlite-exec) in the same round. "rows != successes" counts rows missing or extra against the writers that exited 0.`,
      headers: ["tool", "median wall ms", "wall ratio vs sqlite-exec", "failed writers (all rounds)", "worst round", "rows != successes", "sample error"],
      rows: rowsOf(tools, tally, n, rounds),
      notes,
    });
  }
  return sections;
}

export async function runReadThenWrite(ctx: BenchCtx): Promise<Section> {
  const se = bin("sqlite-exec");
  const tools = rtwTools(se);
  const n = 50;
  const rounds = ctx.quick && !ctx.roundsForced ? 3 : ctx.rounds;
  ctx.log(`read-then-write: N=${n}, ${rounds} rounds x ${tools.length} tools`);
  const tally = await compare(ctx, RTW_WORKLOAD, n, rounds, tools);
  const notes: string[] = [];
  if (se) {
    const f = tally.get(tools[0]!.name)!.failures.reduce((a, b) => a + b, 0);
    notes.push(`target: 0 failures for sqlite-exec (measured ${f} for the SELECT; UPDATE form).`);
  } else notes.push("sqlite-exec is not built yet.");
  notes.push("\"counter != successes\" is |final counter - writers that exited 0|: any non-zero value is a lost or phantom update.");
  return {
    title: `3. Read-then-write transactions from ${n} processes (BUSY_SNAPSHOT case)`,
    method: `${rounds} rounds, fresh WAL database per tool per round, ${n} processes at once each running \`${RTW_SCRIPT}\` (sqlite-exec also in its own-transaction form \`${RTW_BODY}\`, which it runs as BEGIN IMMEDIATE).`,
    headers: ["tool", "median wall ms", "wall ratio vs first", "failed (all rounds)", "worst round", "counter != successes", "sample error"],
    rows: rowsOf(tools, tally, n, rounds),
    notes,
  };
}

export async function run(ctx: BenchCtx): Promise<Section[]> {
  const out = await runInsert(ctx);
  out.push(await runReadThenWrite(ctx));
  return out;
}

export function unavailable(): Section {
  return skipped("2-3. Contention", "sqlite3 CLI or python3 missing");
}
