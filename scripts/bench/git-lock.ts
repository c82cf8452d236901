/**
 * Bench: `git-lock status` vs `find .git -name '*.lock'` (issue 4, SPEC §2.5).
 *
 * Set-up: a repository with 10,000 loose refs (refs/heads/b/NNN/NNNN), one
 * stale index.lock and one young HEAD.lock (so the /proc scan really runs:
 * the git-process check and the fd scan of every process), and ~300 extra
 * sleeping processes on the machine. Then >=15 interleaved pairs (status,
 * find), timing each whole process run; prints the medians and their ratio.
 * Every process it starts is killed on exit, signals included.
 *
 * Usage: bun scripts/bench/git-lock.ts [--pairs N] [--refs N] [--procs N]
 * Needs dist/git-lock (bun scripts/build.ts git-lock).
 */
import { mkdirSync, mkdtempSync, rmSync, utimesSync, writeFileSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

function arg(name: string, dflt: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : dflt;
}
const PAIRS = Math.max(15, arg("pairs", 15));
const REFS = arg("refs", 10_000);
const PROCS = arg("procs", 300);

const root = join(import.meta.dir, "..", "..");
const bin = join(root, "dist", "git-lock");
if (!existsSync(bin)) {
  process.stderr.write("bench: dist/git-lock is missing (run: bun scripts/build.ts git-lock)\n");
  process.exit(69);
}

const dir = mkdtempSync(join(tmpdir(), "hardshell-bench-gitlock-"));
const sleepers: ReturnType<typeof Bun.spawn>[] = [];
function cleanup(): void {
  for (const p of sleepers) {
    try {
      p.kill(9);
    } catch {
      /* gone */
    }
  }
  sleepers.length = 0;
  rmSync(dir, { recursive: true, force: true });
}
for (const sig of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
  process.on(sig, () => {
    cleanup();
    process.exit(128 + ({ SIGINT: 2, SIGTERM: 15, SIGHUP: 1 } as const)[sig]);
  });
}

try {
  const env = { ...process.env, GIT_CONFIG_NOSYSTEM: "1", GIT_AUTHOR_NAME: "b", GIT_AUTHOR_EMAIL: "b@x", GIT_COMMITTER_NAME: "b", GIT_COMMITTER_EMAIL: "b@x" };
  const repo = join(dir, "r");
  Bun.spawnSync(["git", "init", "-q", "-b", "main", repo], { env });
  Bun.spawnSync(["git", "commit", "-q", "--allow-empty", "-m", "init"], { cwd: repo, env });
  const sha = Bun.spawnSync(["git", "rev-parse", "HEAD"], { cwd: repo, env }).stdout.toString().trim();
  // Loose refs written directly (what `git update-ref` would leave, minus 10,000 process starts).
  for (let i = 0; i < REFS; i++) {
    const d = join(repo, ".git", "refs", "heads", "b", String(Math.floor(i / 100)).padStart(3, "0"));
    if (i % 100 === 0) mkdirSync(d, { recursive: true });
    writeFileSync(join(d, String(i).padStart(5, "0")), `${sha}\n`);
  }
  const count = Bun.spawnSync(["git", "for-each-ref", "--count", String(REFS + 10), "--format=x"], { cwd: repo, env }).stdout.toString().split("\n").filter(Boolean).length;
  const old = new Date(Date.now() - 2 * 3_600_000);
  writeFileSync(join(repo, ".git", "index.lock"), "");
  utimesSync(join(repo, ".git", "index.lock"), old, old);
  writeFileSync(join(repo, ".git", "HEAD.lock"), "");

  for (let i = 0; i < PROCS; i++) sleepers.push(Bun.spawn(["sleep", "600"], { stdio: ["ignore", "ignore", "ignore"] }));
  const nprocs = Bun.spawnSync(["sh", "-c", "ls -d /proc/[0-9]* | wc -l"]).stdout.toString().trim();

  const time = (cmd: string[]): number => {
    const t0 = performance.now();
    const r = Bun.spawnSync(cmd, { cwd: repo, stdout: "pipe", stderr: "pipe" });
    const ms = performance.now() - t0;
    if (r.exitCode !== 0 && !(cmd[0] === bin && r.exitCode === 1)) throw new Error(`${cmd.join(" ")} exited ${r.exitCode}: ${r.stderr}`);
    return ms;
  };
  // Warm-up (page cache, binary) for both.
  time([bin, "status"]);
  time(["find", ".git", "-name", "*.lock"]);
  const a: number[] = [];
  const b: number[] = [];
  for (let i = 0; i < PAIRS; i++) {
    // Interleave, alternating which goes first so drift hits both alike.
    if (i % 2 === 0) {
      a.push(time([bin, "status"]));
      b.push(time(["find", ".git", "-name", "*.lock"]));
    } else {
      b.push(time(["find", ".git", "-name", "*.lock"]));
      a.push(time([bin, "status"]));
    }
  }
  const median = (xs: number[]) => {
    const s = [...xs].sort((x, y) => x - y);
    return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
  };
  const ma = median(a);
  const mb = median(b);
  console.log(`git-lock status vs find .git -name '*.lock' (${count} loose refs, ${nprocs} processes, ${PAIRS} interleaved pairs)`);
  console.log(`  git-lock status                 median ${ma.toFixed(1)} ms`);
  console.log(`  find .git -name '*.lock'        median ${mb.toFixed(1)} ms`);
  console.log(`  ratio                           ${(ma / mb).toFixed(2)}x`);
} finally {
  cleanup();
}
