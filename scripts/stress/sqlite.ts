/**
 * Torture: sqlite-exec under concurrency and crashes, mixed with other real clients.
 *
 * Proves design.md §5.1 "commits whole or not at all, so a retry can never duplicate a write":
 * 8 writer slots run transactions back to back on one WAL database for --seconds; each
 * transaction writes 1-4 rows carrying a unique job id (and, for some, increments a shared
 * counter in the same transaction). Writers are sqlite-exec (single insert with --param,
 * multi-statement script, --each batch, tight budgets that run out, scripts that hit a
 * constraint), the sqlite3 CLI (`.timeout`) and python3's sqlite3 (holding its write lock
 * for a while). Random writers are SIGKILLed or SIGTERMed at random moments.
 *
 * Invariants checked at the end:
 * - acknowledged (exit 0)        -> every row of the job present, exactly once
 * - cleanly failed (exit 1..127) -> no row of the job present
 * - killed (signal or 128+N)     -> all rows of the job or none (atomicity)
 * - zero duplicate (id, part) rows; no row from a job that was never started
 * - counter = number of incrementing jobs whose rows are present
 * - `PRAGMA integrity_check` = ok (sqlite3 CLI) and `sqlite-exec --check` exit 0
 */
import { rmSync } from "node:fs";
import { join } from "node:path";
import { python3 } from "../bench/_lib";
import { settle, type Attempt, check, parseOpts, report, runSync, slots, spawnOutcome, type ScenarioOpts, type ScenarioResult, startScenario } from "./_lib";

const PY = `
import sqlite3, sys, time, random
db, ident, parts, inc, hold = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4] == "1", float(sys.argv[5])
who = "py" + ("+" if inc else "")
for attempt in range(10):
    con = sqlite3.connect(db, timeout=5, isolation_level=None)
    try:
        con.execute("BEGIN IMMEDIATE")
        for p in range(parts):
            con.execute("INSERT INTO w(id, who, part) VALUES (?, ?, ?)", (ident, who, p))
        if inc:
            con.execute("UPDATE c SET v = v + 1 WHERE k = 1")
        time.sleep(hold)
        con.execute("COMMIT")
        sys.exit(0)
    except sqlite3.OperationalError as e:
        if "locked" not in str(e) and "busy" not in str(e):
            print("python3: " + str(e), file=sys.stderr)
            sys.exit(3)
        time.sleep(random.uniform(0, min(1.0, 0.02 * 2 ** attempt)))
    finally:
        con.close()
print("python3: still busy", file=sys.stderr)
sys.exit(75)
`;

interface Job extends Attempt {
  id: string;
  tool: string;
  parts: number;
  inc: boolean;
}

export async function run(opts: ScenarioOpts): Promise<ScenarioResult> {
  const scenario = startScenario("sqlite-exec", "sqlite-exec", "sqlite", opts);
  if (!("exe" in scenario)) return scenario;
  const { exe: se, checks, rng, root: dir } = scenario;
  const db = join(dir, "w.db");
  const init = runSync(["sqlite3", db, "PRAGMA journal_mode=WAL; CREATE TABLE w(id TEXT NOT NULL, who TEXT NOT NULL, part INTEGER NOT NULL); CREATE TABLE c(k INTEGER PRIMARY KEY, v INTEGER NOT NULL); INSERT INTO c VALUES (1, 0);"]);
  if (init.code !== 0) throw new Error(`sqlite3 init failed: ${init.stderr}`);
  const py = python3();
  const jobs: Job[] = [];
  let seq = 0;
  const deadline = performance.now() + opts.seconds * 1000;
  const kills = { SIGKILL: 0, SIGTERM: 0 };

  await slots(8, deadline, async (slot) => {
    const id = `s${opts.seed}-${seq++}`;
    const r = rng.next();
    const inc = rng.chance(0.5);
    let job: Job;
    let argv: string[];
    let stdinChunks: Uint8Array[] | undefined;
    const incSql = inc ? "; UPDATE c SET v = v + 1 WHERE k = 1" : "";
    if (r < 0.3) {
      job = { id, tool: "se-one", parts: 1, inc };
      argv = [se, "--param", `id=${id}`, "--param", `who=se${inc ? "+" : ""}`, db, `INSERT INTO w(id, who, part) VALUES (:id, :who, 0)${incSql}`];
    } else if (r < 0.5) {
      const parts = rng.int(2, 4);
      job = { id, tool: "se-script", parts, inc };
      const ins = Array.from({ length: parts }, (_, p) => `INSERT INTO w(id, who, part) VALUES (:id, :who, ${p})`).join("; ");
      // read-then-write: the SELECT first, as scripts do
      argv = [se, "--param", `id=${id}`, "--param", `who=ses${inc ? "+" : ""}`, db, `SELECT v FROM c WHERE k = 1; ${ins}${incSql}`];
    } else if (r < 0.6) {
      const parts = rng.int(2, 4);
      job = { id, tool: "se-each", parts, inc: false };
      argv = [se, "--each", "INSERT INTO w(id, who, part) VALUES (:id, 'see', :part)", db];
      stdinChunks = [new TextEncoder().encode(Array.from({ length: parts }, (_, p) => JSON.stringify({ id, part: p })).join("\n") + "\n")];
    } else if (r < 0.66) {
      // a budget too small to survive contention: exit 75 expected sometimes, never a partial write
      job = { id, tool: "se-tight", parts: 2, inc };
      argv = [se, "--busy-timeout", "5ms", "--retries", "1", "--deadline", "20ms", "--param", `id=${id}`, db, `INSERT INTO w(id, who, part) VALUES (:id, 'set${inc ? "+" : ""}', 0); INSERT INTO w(id, who, part) VALUES (:id, 'set${inc ? "+" : ""}', 1)${incSql}`];
    } else if (r < 0.7) {
      // a constraint violation after two inserts: exit 65, nothing of the script may stay
      job = { id, tool: "se-constraint", parts: 2, inc };
      argv = [se, "--param", `id=${id}`, db, `INSERT INTO w(id, who, part) VALUES (:id, 'sec', 0); INSERT INTO w(id, who, part) VALUES (:id, 'sec', 1)${incSql}; INSERT INTO c(k, v) VALUES (1, 0)`];
    } else if (r < 0.85) {
      const parts = rng.int(1, 3);
      job = { id, tool: "sqlite3", parts, inc };
      const ins = Array.from({ length: parts }, (_, p) => `INSERT INTO w(id, who, part) VALUES ('${id}', 'cli${inc ? "+" : ""}', ${p});`).join(" ");
      argv = ["sqlite3", "-cmd", ".timeout 2000", db, `BEGIN IMMEDIATE; ${ins} ${inc ? "UPDATE c SET v = v + 1 WHERE k = 1;" : ""} COMMIT;`];
    } else {
      const parts = rng.int(1, 3);
      job = { id, tool: "python3", parts, inc };
      argv = [py, "-S", "-c", PY, db, id, String(parts), inc ? "1" : "0", (rng.int(0, 30) / 1000).toFixed(3)];
    }
    jobs.push(job);
    let kill: { afterMs: number; signal: "SIGKILL" | "SIGTERM" } | undefined;
    if (rng.chance(0.12)) {
      kill = { afterMs: rng.int(0, 40), signal: rng.chance(0.75) ? "SIGKILL" : "SIGTERM" };
      kills[kill.signal]++;
    }
    const o = await spawnOutcome(argv, { kill, stdinChunks, timeoutMs: 60_000 });
    settle(job, o);
    void slot;
  });
  opts.log(`sqlite-exec: ${jobs.length} jobs done, checking`);

  // Read everything back with the sqlite3 CLI (an independent reader).
  const dump = runSync(["sqlite3", "-cmd", ".timeout 10000", "-separator", "\t", db, "SELECT id, part FROM w"]);
  const rows = new Map<string, number[]>();
  for (const line of dump.stdout.split("\n")) {
    if (!line) continue;
    const [id, part] = line.split("\t");
    if (!rows.has(id!)) rows.set(id!, []);
    rows.get(id!)!.push(Number(part));
  }
  const byId = new Map(jobs.map((j) => [j.id, j]));
  const count = { ack: 0, failed: 0, killed: 0 };
  const bad = { ackMissing: [] as string[], failedPresent: [] as string[], partial: [] as string[], dup: [] as string[], unknown: [] as string[] };
  let incPresent = 0;
  for (const j of jobs) {
    count[j.outcome!]++;
    const got = rows.get(j.id) ?? [];
    const distinct = new Set(got);
    if (distinct.size !== got.length) bad.dup.push(j.id);
    const whole = distinct.size === j.parts && [...Array(j.parts).keys()].every((p) => distinct.has(p));
    if (j.outcome === "ack" && !whole) bad.ackMissing.push(`${j.id}(${j.tool}: ${got.length}/${j.parts} rows)`);
    if (j.outcome === "failed" && got.length > 0) bad.failedPresent.push(`${j.id}(${j.tool} exit ${j.code}: ${got.length} rows)`);
    if (j.outcome === "killed" && got.length > 0 && !whole) bad.partial.push(`${j.id}(${j.tool}: ${got.length}/${j.parts})`);
    if (j.inc && got.length > 0) incPresent++;
  }
  for (const id of rows.keys()) if (!byId.has(id)) bad.unknown.push(id);
  const counter = Number(runSync(["sqlite3", "-cmd", ".timeout 10000", db, "SELECT v FROM c WHERE k = 1"]).stdout.trim());
  const integrity = runSync(["sqlite3", "-cmd", ".timeout 10000", db, "PRAGMA integrity_check"]).stdout.trim();
  const seCheck = runSync([se, "--check", db]);
  const sample = (xs: string[]) => (xs.length ? ` e.g. ${xs.slice(0, 3).join(", ")}` : "");
  const tools = new Map<string, { ack: number; failed: number; killed: number }>();
  for (const j of jobs) {
    const t = tools.get(j.tool) ?? { ack: 0, failed: 0, killed: 0 };
    t[j.outcome!]++;
    tools.set(j.tool, t);
  }
  const failCodes = new Map<string, number>();
  for (const j of jobs) if (j.outcome === "failed") failCodes.set(`${j.tool}:${j.code}`, (failCodes.get(`${j.tool}:${j.code}`) ?? 0) + 1);

  check(checks, "acknowledged (exit 0) = present, whole", bad.ackMissing.length === 0, `${count.ack} acknowledged, ${bad.ackMissing.length} missing or partial${sample(bad.ackMissing)}`);
  check(checks, "cleanly failed (exit 1..127) = absent", bad.failedPresent.length === 0, `${count.failed} failed cleanly (${[...failCodes].map(([k, v]) => `${k} x${v}`).join(", ") || "none"}), ${bad.failedPresent.length} left rows${sample(bad.failedPresent)}`);
  check(checks, "killed = all rows or none", bad.partial.length === 0, `${count.killed} killed (${kills.SIGKILL} SIGKILL, ${kills.SIGTERM} SIGTERM sent), ${bad.partial.length} partial${sample(bad.partial)}`);
  check(checks, "zero duplicate rows", bad.dup.length === 0, `${bad.dup.length} jobs with a duplicated (id, part)${sample(bad.dup)}`);
  check(checks, "no rows from unknown jobs", bad.unknown.length === 0, `${bad.unknown.length}${sample(bad.unknown)}`);
  check(checks, "counter = incrementing jobs present", counter === incPresent, `counter ${counter}, incrementing jobs present ${incPresent}`);
  check(checks, "PRAGMA integrity_check", integrity === "ok", integrity.split("\n")[0] ?? "");
  check(checks, "sqlite-exec --check exit 0", seCheck.code === 0, `exit ${seCheck.code}${seCheck.code ? ": " + (seCheck.stdout + seCheck.stderr).trim().split("\n")[0] : ""}`);

  const perTool = [...tools].map(([k, v]) => `${k} ${v.ack}/${v.failed}/${v.killed}`).join(", ");
  rmSync(dir, { recursive: true, force: true });
  return {
    name: "sqlite-exec",
    checks,
    summary: `seed ${opts.seed}, ${opts.seconds}s, 8 writers, ${jobs.length} transactions (ack/failed/killed per tool: ${perTool})`,
  };
}

if (import.meta.main) {
  const opts = parseOpts(process.argv.slice(2), { seconds: 60 });
  const r = report(await run(opts));
  process.stdout.write(`${r.passed} passed, ${r.failed} failed\n`);
  process.exit(r.failed ? 1 : 0);
}
