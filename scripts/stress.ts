/**
 * `npm run stress`: the torture suites, one after the other, each bounded by --seconds.
 *
 *   sqlite-exec   scripts/stress/sqlite.ts   8 writers (sqlite-exec, sqlite3 CLI, python3), random kills
 *   atomic-write  scripts/stress/atomic.ts   writers + --edit incrementers killed under checksumming readers
 *   git-lock      scripts/stress/gitlock.ts  real git commands, killed gits, planted stale locks, live holders
 *   git-lock-layouts  scripts/stress/gitlock-layouts.ts  `git commit -a` whose pre-commit hooks run
 *                 `git-lock clean --force`, in a separate-git-dir repo, a submodule, a linked worktree
 *                 with relative gitdir files and through a symlink-named git: no live lock removed
 *
 * Why: the unit and bats suites show each guarantee once; these runs hammer the same guarantees
 * thousands of times with real processes and random SIGKILLs, and check invariants (never
 * speed). Each scenario prints the invariants it checked and `[name] N passed, N failed`; the
 * last line is the total `N passed, N failed`, and the exit status is 1 if anything failed.
 *
 * Usage: bun scripts/stress.ts [--seconds N] [--seed N] [--commits N] [SCENARIO...]
 *   --seconds N   per scenario (default 60)
 *   --commits N   git-lock-layouts runs until N commits succeeded (default 500), not --seconds
 *   --seed N      seed of the PRNG that drives every random choice (default: random, printed)
 *   SCENARIO      sqlite-exec, atomic-write, git-lock, git-lock-layouts (default: all)
 * Build dist/ first (npm run build); a missing binary fails its scenario.
 */
import { parseOpts, report, type ScenarioOpts, type ScenarioResult } from "./stress/_lib";

const argv = process.argv.slice(2);
const opts = parseOpts(argv, { seconds: 60 });
const scenarios: Record<string, () => Promise<{ run: (o: ScenarioOpts) => Promise<ScenarioResult> }>> = {
  "sqlite-exec": () => import("./stress/sqlite"),
  "atomic-write": () => import("./stress/atomic"),
  "git-lock": () => import("./stress/gitlock"),
  "git-lock-layouts": () => import("./stress/gitlock-layouts"),
};
const valueFlags = new Set(["--seconds", "--seed", "--commits"]);
const names = argv.filter((a, i) => !a.startsWith("--") && !valueFlags.has(argv[i - 1] ?? ""));
for (const n of names) {
  if (!(n in scenarios)) {
    process.stderr.write(`stress: unknown scenario ${JSON.stringify(n)} (choose from ${Object.keys(scenarios).join(", ")})\n`);
    process.exit(64);
  }
}
const chosen = names.length ? names : Object.keys(scenarios);
process.stdout.write(`stress: seed ${opts.seed}, ${opts.seconds}s per scenario: ${chosen.join(", ")}\n`);
let passed = 0;
let failed = 0;
for (const name of chosen) {
  let r: { passed: number; failed: number };
  try {
    const mod = await scenarios[name]!();
    r = report(await mod.run(opts));
  } catch (err) {
    process.stdout.write(`[${name}] runner error: ${(err as Error)?.message ?? err}\n[${name}] 0 passed, 1 failed\n`);
    r = { passed: 0, failed: 1 };
  }
  passed += r.passed;
  failed += r.failed;
}
process.stdout.write(`${passed} passed, ${failed} failed\n`);
process.exit(failed ? 1 : 0);
