/**
 * Shared code for the torture suites (`npm run stress`, scripts/stress/*.ts).
 *
 * Why: a torture run is only useful if a failure can be replayed, so every random choice
 * (which tool, which payload, when to kill) comes from one seeded PRNG (mulberry32) and the
 * seed is printed. Wall-clock timing still varies between runs — the kernel schedules the
 * processes — so a seed reproduces the schedule of decisions, not the exact interleaving.
 * Scenarios assert invariants (what must hold whatever the timing), never speed.
 */
import { existsSync, mkdtempSync, readdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export const ROOT = join(import.meta.dir, "..", "..");

// Writing to the stdin of a writer we just killed raises EPIPE, sometimes asynchronously from
// Bun's FileSink, outside any try. That is the point of the exercise, not an error of the runner.
const isEpipe = (e: unknown) => (e as { code?: string } | null)?.code === "EPIPE";
process.on("uncaughtException", (e) => {
  if (isEpipe(e)) return;
  process.stderr.write(`stress: runner error: ${(e as Error)?.stack ?? e}\n`);
  process.exit(70);
});
process.on("unhandledRejection", (e) => {
  if (isEpipe(e)) return;
  process.stderr.write(`stress: runner error: ${(e as Error)?.stack ?? e}\n`);
  process.exit(70);
});
export const DIST = join(ROOT, "dist");

/** mulberry32: tiny, fast, good enough to drive test schedules; same seed, same sequence. */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export class Rng {
  readonly next: () => number;
  constructor(seed: number) {
    this.next = mulberry32(seed);
  }
  /** Integer in [lo, hi]. */
  int(lo: number, hi: number): number {
    return lo + Math.floor(this.next() * (hi - lo + 1));
  }
  chance(p: number): boolean {
    return this.next() < p;
  }
  pick<T>(xs: readonly T[]): T {
    return xs[Math.floor(this.next() * xs.length)]!;
  }
  bytes(n: number): Uint8Array {
    const b = new Uint8Array(n);
    for (let i = 0; i < n; i++) b[i] = Math.floor(this.next() * 256);
    return b;
  }
}

export interface ScenarioOpts {
  seconds: number;
  seed: number;
  /** `--commits N`: a scenario that counts git commits runs until this many succeeded (its own default when absent). */
  commits?: number;
  /** Progress on stderr. */
  log: (msg: string) => void;
}

export interface Check {
  name: string;
  ok: boolean;
  detail: string;
}

export interface ScenarioResult {
  name: string;
  checks: Check[];
  /** One-line summary of what ran (counts of operations, kills). */
  summary: string;
}

export function check(checks: Check[], name: string, ok: boolean, detail: string): void {
  checks.push({ name, ok, detail });
}

/** Print a scenario's invariants and end with its `N passed, N failed` line. */
export function report(r: ScenarioResult, out: (s: string) => void = (s) => process.stdout.write(s)): { passed: number; failed: number } {
  const passed = r.checks.filter((c) => c.ok).length;
  const failed = r.checks.length - passed;
  out(`[${r.name}] ${r.summary}\n`);
  for (const c of r.checks) out(`  ${c.ok ? "ok  " : "FAIL"} ${c.name}: ${c.detail}\n`);
  out(`[${r.name}] ${passed} passed, ${failed} failed\n`);
  return { passed, failed };
}

export function parseOpts(argv: string[], defaults: { seconds: number }): ScenarioOpts {
  const get = (name: string) => {
    const i = argv.findIndex((a) => a === name || a.startsWith(name + "="));
    if (i < 0) return undefined;
    return argv[i]!.includes("=") ? argv[i]!.split("=")[1] : argv[i + 1];
  };
  const seconds = Number(get("--seconds") ?? defaults.seconds);
  const seed = Number(get("--seed") ?? Math.floor(Math.random() * 2 ** 31));
  const commitsRaw = get("--commits");
  const commits = commitsRaw === undefined ? undefined : Number(commitsRaw);
  if (!Number.isFinite(seconds) || seconds <= 0 || !Number.isInteger(seed) || (commits !== undefined && !(Number.isInteger(commits) && commits > 0))) {
    process.stderr.write("usage: --seconds N (positive) --seed N (integer) --commits N (positive integer)\n");
    process.exit(64);
  }
  return { seconds, seed, commits, log: (m) => process.stderr.write(`stress: ${m}\n`) };
}

export function bin(name: string): string | undefined {
  const p = join(DIST, name);
  return existsSync(p) ? p : undefined;
}

/** The result of a scenario whose command is not built: one failed check, nothing run. */
export function notBuilt(command: string, scenario: string): ScenarioResult {
  return { name: scenario, checks: [{ name: `dist/${command} exists`, ok: false, detail: "not built (npm run build)" }], summary: "skipped" };
}

/** What every scenario starts from: its built binary, its list of checks, the seeded PRNG and a fresh scratch dir. */
export interface Scenario {
  exe: string;
  checks: Check[];
  rng: Rng;
  root: string;
}

/**
 * Start scenario `name` of dist/`command`, in a scratch dir labelled `label`; when the command is not
 * built, the notBuilt result to return instead (nothing is created then).
 */
export function startScenario(command: string, name: string, label: string, opts: ScenarioOpts): Scenario | ScenarioResult {
  const exe = bin(command);
  if (!exe) return notBuilt(command, name);
  return { exe, checks: [], rng: new Rng(opts.seed), root: scratch(label) };
}

/** Environment for git in a scenario: HOME at `home`, no system config, a fixed identity. */
export function gitEnv(home: string): Record<string, string> {
  return {
    HOME: home,
    GIT_CONFIG_NOSYSTEM: "1",
    GIT_AUTHOR_NAME: "s",
    GIT_AUTHOR_EMAIL: "s@example.invalid",
    GIT_COMMITTER_NAME: "s",
    GIT_COMMITTER_EMAIL: "s@example.invalid",
  };
}

/** Every `*.lock` file below a git dir (objects/ skipped: git's lock files are not there), sorted. */
export function findLocks(gitDir: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    let entries;
    try {
      entries = readdirSync(d, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      const p = join(d, e.name);
      if (e.isDirectory()) {
        if (e.name !== "objects") walk(p);
      } else if (e.name.endsWith(".lock")) out.push(p);
    }
  };
  walk(gitDir);
  return out.sort();
}

export function scratch(name: string): string {
  return mkdtempSync(join(tmpdir(), `hardshell-stress-${name}.`));
}

export interface Outcome {
  code: number | null;
  signal: string | null;
  stderr: string;
}

/** Classify an outcome: acknowledged (exit 0), cleanly failed (1..127), or killed (signal / 128+). */
export function classify(o: Outcome): "ack" | "failed" | "killed" {
  if (o.signal) return "killed";
  if (o.code === 0) return "ack";
  if (o.code !== null && o.code < 128) return "failed";
  return "killed";
}

/** What a scenario records of one spawned command: its class, exit code and first stderr line. */
export interface Attempt {
  outcome?: "ack" | "failed" | "killed";
  code?: number | null;
  stderr?: string;
}

/** Record outcome `o` on attempt `a` (stderr: its first line, or all of it with `wholeStderr`). */
export function settle(a: Attempt, o: Outcome, wholeStderr = false): void {
  a.outcome = classify(o);
  a.code = o.code;
  a.stderr = wholeStderr ? o.stderr.trim() : o.stderr.trim().split("\n")[0];
}

/** Run `n` slot loops concurrently until `deadline` (performance.now() ms). */
export async function slots(n: number, deadline: number, body: (slot: number) => Promise<void>): Promise<void> {
  await Promise.all(
    Array.from({ length: n }, async (_, slot) => {
      while (performance.now() < deadline) await body(slot);
    }),
  );
}

/**
 * Spawn argv, optionally kill it with `signal` after `killAfterMs`; resolve with its outcome.
 * `stdinChunks`, when given, are written one by one with `gapMs` between them (so a kill can
 * land mid-stream); errors writing to a killed process are ignored.
 */
export async function spawnOutcome(
  argv: string[],
  o: { cwd?: string; env?: Record<string, string>; kill?: { afterMs: number; signal: "SIGKILL" | "SIGTERM" | "SIGINT" }; stdinChunks?: Uint8Array[]; gapMs?: number; timeoutMs?: number },
): Promise<Outcome & { pid: number }> {
  const p = Bun.spawn(argv, {
    cwd: o.cwd,
    env: o.env ? { ...process.env, ...o.env } : undefined,
    stdin: o.stdinChunks ? "pipe" : "ignore",
    stdout: "ignore",
    stderr: "pipe",
  });
  let killTimer: ReturnType<typeof setTimeout> | undefined;
  if (o.kill) {
    const { afterMs, signal } = o.kill;
    killTimer = setTimeout(() => {
      try {
        p.kill(signal);
      } catch {
        /* already gone */
      }
    }, afterMs);
  }
  const guard = setTimeout(() => p.kill("SIGKILL"), o.timeoutMs ?? 120_000);
  const errP = new Response(p.stderr).text();
  if (o.stdinChunks) {
    const sink = p.stdin as import("bun").FileSink;
    try {
      for (const c of o.stdinChunks) {
        sink.write(c);
        await sink.flush();
        if (o.gapMs) await Bun.sleep(o.gapMs);
      }
      await sink.end();
    } catch {
      /* the process was killed while we wrote */
    }
  }
  const stderr = await errP;
  await p.exited;
  clearTimeout(guard);
  if (killTimer) clearTimeout(killTimer);
  return { code: p.exitCode, signal: p.signalCode == null ? null : String(p.signalCode), stderr, pid: p.pid };
}

/** Run to completion (no kill), stdout captured: the bench's runner, one spawn helper for all scripts. */
export { runSync } from "../bench/_lib";
