/**
 * Item 6 — `git-lock status` on a repository with 10,000 loose refs, with ~300 processes on
 * the machine, against `find .git -name '*.lock'` (what a script does to look for locks).
 *
 * Why: git-lock does more than find — it walks the lock set and looks at /proc to tell live
 * holders from stale ones — and it runs in hooks, so its cost must stay proportional to what
 * it has to read. 10,000 loose refs make the ref tree big; the extra `sleep` processes make
 * the /proc scan realistic for a busy build host. Rounds are interleaved; the figure is the
 * median of per-round ratios. Both must find the same planted locks (checked each round).
 */
import { readdirSync, utimesSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { bin, fmt, interleave, median, ratioOfPairs, runSync, skipped, type BenchCtx, type Section, workDir } from "./_lib";

function processCount(): number {
  return readdirSync("/proc").filter((n) => /^\d+$/.test(n)).length;
}

export async function run(ctx: BenchCtx): Promise<Section> {
  const title = "6. git-lock status on 10,000 loose refs vs `find .git -name '*.lock'`";
  const gl = bin("git-lock");
  if (!gl) return skipped(title, "dist/git-lock is not built");
  const nrefs = ctx.quick ? 2_000 : 10_000;
  const repo = workDir(ctx, "gitlock-repo");
  const env = { GIT_AUTHOR_NAME: "b", GIT_AUTHOR_EMAIL: "b@example.invalid", GIT_COMMITTER_NAME: "b", GIT_COMMITTER_EMAIL: "b@example.invalid" };
  runSync(["git", "init", "-q", repo]);
  writeFileSync(join(repo, "f"), "x\n");
  runSync(["git", "add", "f"], { cwd: repo });
  runSync(["git", "commit", "-q", "-m", "init"], { cwd: repo, env });
  const head = runSync(["git", "rev-parse", "HEAD"], { cwd: repo }).stdout.trim();
  const cmds: string[] = [];
  for (let i = 0; i < nrefs; i++) cmds.push(`create refs/heads/topic/${i % 100}/${i} ${head}`);
  const up = runSync(["git", "update-ref", "--stdin"], { cwd: repo, stdin: cmds.join("\n") + "\n" });
  if (up.code !== 0) return skipped(title, `git update-ref failed: ${up.stderr.trim()}`);
  const loose = Number(runSync(["sh", "-c", "find .git/refs -type f | wc -l"], { cwd: repo }).stdout.trim());
  // Planted locks: dead holders, an hour old -> stale.
  const planted = [".git/index.lock", ".git/refs/heads/topic/7/7.lock", ".git/packed-refs.lock"];
  const old = new Date(Date.now() - 3600_000);
  for (const p of planted) {
    writeFileSync(join(repo, p), "");
    utimesSync(join(repo, p), old, old);
  }

  // Bring the machine to ~300 processes for the /proc scan.
  const extra: ReturnType<typeof Bun.spawn>[] = [];
  const before = processCount();
  for (let i = before; i < 300; i++) extra.push(Bun.spawn(["sleep", "3600"], { stdin: "ignore", stdout: "ignore", stderr: "ignore" }));
  await Bun.sleep(200);
  const during = processCount();
  const rounds = ctx.roundsForced ? ctx.rounds : Math.max(ctx.rounds, ctx.quick ? 5 : 15);
  let mismatches = 0;
  let glCodes = new Set<string>();
  try {
    ctx.log(`git-lock: ${loose} loose refs, ${during} processes, ${rounds} interleaved rounds`);
    const t = await interleave(
      rounds,
      [
        {
          name: "git-lock",
          run: () => {
            const r = runSync([gl, "status", "--repo", repo, "--json"], { cwd: ctx.tmp });
            glCodes.add(String(r.code));
            let found = 0;
            try {
              const list = JSON.parse(r.stdout) as { path: string; verdict: string }[];
              found = planted.filter((p) => list.some((l) => l.path.endsWith(p.replace(/^\.git\//, "")) && l.verdict === "stale")).length;
            } catch {
              found = -1;
            }
            if (found !== planted.length) mismatches++;
            return r.ms;
          },
        },
        {
          name: "find",
          run: () => {
            const r = runSync(["find", join(repo, ".git"), "-name", "*.lock"]);
            if (r.stdout.trim().split("\n").length !== planted.length) mismatches++;
            return r.ms;
          },
        },
      ],
      1,
    );
    const ratio = ratioOfPairs(t.get("git-lock")!, t.get("find")!);
    return {
      title,
      method: `${loose.toLocaleString("en-US")} loose refs (refs/heads/topic/*/*), 3 planted stale locks (index.lock, a ref lock, packed-refs.lock, mtime 1 h ago), ${during} processes on the machine during the run (${before} before, the rest \`sleep\`). ${rounds} interleaved rounds; ratio = median over rounds of git-lock/find.`,
      headers: ["call", "median ms", "ratio vs find", "rounds where the 3 stale locks were not all reported"],
      rows: [
        ["`git-lock status --repo R --json`", fmt.ms(median(t.get("git-lock")!)), fmt.ratio(ratio), String(mismatches)],
        ["`find R/.git -name '*.lock'` (yardstick)", fmt.ms(median(t.get("find")!)), "1.00x", "-"],
      ],
      notes: [`git-lock exit codes seen: ${[...glCodes].join(",")} (1 = stale locks exist, as planted).`],
    };
  } finally {
    for (const p of extra) p.kill("SIGKILL");
  }
}
