/**
 * Shared measuring code for `npm run bench` (scripts/bench.ts and scripts/bench/*.ts).
 *
 * Why this shape: the machine is shared and noisy (2 cores, other suites running), so an
 * absolute millisecond figure means little. Every figure the bench prints is therefore a
 * RATIO or a COUNT measured side by side in the same run: the two (or more) contenders run
 * in interleaved rounds (A B, B A, A B, ...; the order alternates so neither always runs
 * first on a warm cache) and we report the median of the per-round ratios, which cancels
 * slow drifts in machine load. Nothing here ever fails the caller: measurements that cannot
 * be taken are reported as "n/a" with a reason.
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export const ROOT = join(import.meta.dir, "..", "..");
export const DIST = join(ROOT, "dist");

export interface BenchCtx {
  /** Smaller sizes and fewer rounds, for a smoke run. */
  quick: boolean;
  /** Interleaved rounds per comparison (>= 15 in a full run). */
  rounds: number;
  /** True when --rounds was given: every comparison uses exactly that many rounds. */
  roundsForced: boolean;
  /** Scratch directory, removed by the driver at the end. */
  tmp: string;
  /** Progress line on stderr (tables go to stdout). */
  log: (msg: string) => void;
}

export interface Section {
  title: string;
  /** What is compared and how, one paragraph (goes into docs/BENCHMARKS.md). */
  method: string;
  headers: string[];
  rows: string[][];
  /** Extra lines under the table (targets, observations). */
  notes: string[];
}

export function makeCtx(quick: boolean, rounds?: number): BenchCtx {
  return {
    quick,
    rounds: rounds ?? (quick ? 5 : 15),
    roundsForced: rounds !== undefined,
    tmp: mkdtempSync(join(tmpdir(), "hardshell-bench.")),
    log: (m) => process.stderr.write(`bench: ${m}\n`),
  };
}

/** Path of a hardshell binary, or undefined when it has not been built. */
export function bin(name: string): string | undefined {
  const p = join(DIST, name);
  return existsSync(p) ? p : undefined;
}

export function median(xs: number[]): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

export interface RunResult {
  ms: number;
  code: number | null;
  signal: string | null;
  stdout: string;
  stderr: string;
}

export interface SpawnOpts {
  cwd?: string;
  env?: Record<string, string | undefined>;
  /** Bytes for stdin, or a path to a file to redirect stdin from. */
  stdin?: Uint8Array | string | { file: string };
  timeoutMs?: number;
}

function stdinOf(s: SpawnOpts["stdin"]): "ignore" | Uint8Array | ReturnType<typeof Bun.file> {
  if (s === undefined) return "ignore";
  if (typeof s === "string") return new TextEncoder().encode(s);
  if (s instanceof Uint8Array) return s;
  return Bun.file(s.file);
}

/** The spawn options both runners share: cwd, env on top of ours, stdin, stdout and stderr captured. */
function spawnOptions(o: SpawnOpts) {
  return {
    cwd: o.cwd,
    env: o.env ? { ...process.env, ...o.env } : undefined,
    stdin: stdinOf(o.stdin),
    stdout: "pipe",
    stderr: "pipe",
  } as const;
}

/** Run one command to completion, timing it from spawn to exit (ms). */
export function runSync(argv: string[], o: SpawnOpts = {}): RunResult {
  const t0 = performance.now();
  const r = Bun.spawnSync(argv, { ...spawnOptions(o), timeout: o.timeoutMs ?? 120_000 });
  const ms = performance.now() - t0;
  return {
    ms,
    code: r.exitCode,
    signal: (r as { signalCode?: string | null }).signalCode ?? null,
    stdout: r.stdout?.toString() ?? "",
    stderr: r.stderr?.toString() ?? "",
  };
}

/** Run one command asynchronously (for N concurrent processes); resolves at exit. */
export async function runAsync(argv: string[], o: SpawnOpts = {}): Promise<RunResult> {
  const t0 = performance.now();
  const p = Bun.spawn(argv, spawnOptions(o));
  const timer = setTimeout(() => p.kill("SIGKILL"), o.timeoutMs ?? 120_000);
  const [stdout, stderr] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text()]);
  await p.exited;
  clearTimeout(timer);
  return { ms: performance.now() - t0, code: p.exitCode, signal: p.signalCode == null ? null : String(p.signalCode), stdout, stderr };
}

export interface Contender {
  name: string;
  /** Prepare state that must not be timed (fresh db, fresh file); optional. */
  setup?: (round: number) => void | Promise<void>;
  /** The timed call; returns wall ms (and may record counts itself). */
  run: (round: number) => number | Promise<number>;
}

/**
 * Interleaved rounds: each round runs every contender once, in an order that rotates
 * from round to round. Returns per-contender lists of wall times (ms), index-aligned by round.
 */
export async function interleave(rounds: number, contenders: Contender[], warmup = 1): Promise<Map<string, number[]>> {
  const times = new Map<string, number[]>(contenders.map((c) => [c.name, []]));
  for (let r = -warmup; r < rounds; r++) {
    const n = contenders.length;
    const shift = ((r % n) + n) % n;
    const order = contenders.map((_, i) => contenders[(i + shift) % n]!);
    for (const c of order) {
      if (c.setup) await c.setup(r);
      const ms = await c.run(r);
      if (r >= 0) times.get(c.name)!.push(ms);
    }
  }
  return times;
}

/** Median of per-round ratios a[i]/b[i]: robust against load drifting during the run. */
export function ratioOfPairs(a: number[], b: number[]): number {
  const n = Math.min(a.length, b.length);
  const rs: number[] = [];
  for (let i = 0; i < n; i++) if (b[i]! > 0) rs.push(a[i]! / b[i]!);
  return median(rs);
}

/** Peak resident set (KiB) of a command, via GNU time(1) -f %M (it forks from a small process). */
export function peakRssKiB(argv: string[], o: SpawnOpts = {}): { kib: number | undefined; run: RunResult } {
  const time = "/usr/bin/time";
  if (!existsSync(time)) return { kib: undefined, run: runSync(argv, o) };
  const out = join(tmpdir(), `hardshell-bench-rss.${process.pid}`);
  const run = runSync([time, "-f", "%M", "-o", out, ...argv], o);
  let kib: number | undefined;
  try {
    const lines = readFileSync(out, "utf8").trim().split("\n");
    kib = Number(lines[lines.length - 1]);
    if (!Number.isFinite(kib)) kib = undefined;
  } catch {
    kib = undefined;
  }
  rmSync(out, { force: true });
  return { kib, run };
}

export const fmt = {
  ms: (x: number) => (Number.isFinite(x) ? (x < 10 ? x.toFixed(2) : x < 100 ? x.toFixed(1) : x.toFixed(0)) : "n/a"),
  ratio: (x: number) => (Number.isFinite(x) ? x.toFixed(2) + "x" : "n/a"),
  num: (x: number) => (Number.isFinite(x) ? Math.round(x).toLocaleString("en-US") : "n/a"),
  mbs: (x: number) => (Number.isFinite(x) ? x.toFixed(0) : "n/a"),
};

/** A section for an item that could not be measured (a command not built yet, a tool missing). */
/** A fresh directory for one bench item under the run's scratch directory. */
export function workDir(ctx: BenchCtx, name: string): string {
  const dir = join(ctx.tmp, name);
  mkdirSync(dir, { recursive: true });
  return dir;
}

export function skipped(title: string, why: string): Section {
  return { title, method: "", headers: ["status"], rows: [[`skipped: ${why}`]], notes: [] };
}

/** Plain-text table for the terminal. */
export function textTable(headers: string[], rows: string[][]): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (cells: string[]) => cells.map((c, i) => (c ?? "").padEnd(widths[i]!)).join("  ").trimEnd();
  return [line(headers), widths.map((w) => "-".repeat(w)).join("  "), ...rows.map(line)].join("\n");
}

/** Markdown table for docs/BENCHMARKS.md. */
export function mdTable(headers: string[], rows: string[][]): string {
  const esc = (s: string) => (s ?? "").replace(/\|/g, "\\|");
  return [
    `| ${headers.map(esc).join(" | ")} |`,
    `|${headers.map(() => "---").join("|")}|`,
    ...rows.map((r) => `| ${r.map(esc).join(" | ")} |`),
  ].join("\n");
}

/** Create an (empty) SQLite database in WAL mode with the sqlite3 CLI. */
export function sqliteInit(db: string, sql: string, wal = true): void {
  rmSync(db, { force: true });
  rmSync(db + "-wal", { force: true });
  rmSync(db + "-shm", { force: true });
  const r = runSync(["sqlite3", db, `${wal ? "PRAGMA journal_mode=WAL;" : ""}${sql}`]);
  if (r.code !== 0) throw new Error(`sqlite3 init of ${db} failed: ${r.stderr}`);
}

/** One value from the sqlite3 CLI (trimmed stdout). */
export function sqliteValue(db: string, sql: string): string {
  return runSync(["sqlite3", "-cmd", ".timeout 10000", db, sql]).stdout.trim();
}

export function writeText(path: string, text: string): void {
  writeFileSync(path, text);
}

let realPython: string | undefined;
/**
 * The real python3 executable. Under pyenv, \`python3\` on PATH is a bash shim that costs
 * ~100 ms per start; timing the shim would measure pyenv, not python's sqlite3.
 */
export function python3(): string {
  if (realPython) return realPython;
  const r = Bun.spawnSync(["python3", "-c", "import sys; print(sys.executable)"], { stdout: "pipe", stderr: "ignore" });
  const p = r.stdout?.toString().trim();
  realPython = r.exitCode === 0 && p && existsSync(p) ? p : "python3";
  return realPython;
}

/** Versions of the peers, for the machine line. */
export function versionOf(argv: string[]): string {
  try {
    const r = runSync(argv, { timeoutMs: 10_000 });
    return (r.stdout || r.stderr).trim().split("\n")[0] ?? "?";
  } catch {
    return "missing";
  }
}
