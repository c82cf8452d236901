/**
 * Torture: `git commit -a` whose pre-commit hooks run `git-lock clean --force`, racing each
 * other in every repository layout git-lock must see through.
 *
 * Proves design.md §4 "git is recognised by its executable and the repository it works
 * in, for every layout, never by process name alone" and "a lock held by a live process is never
 * removed, --force included", with real git and no kills (so every lock that exists at any
 * moment belongs to a live git):
 * - layouts: a `git init --separate-git-dir` repository; a submodule (git dir under the
 *   superproject's .git/modules, core.worktree set) and its superproject; a main work tree and a
 *   linked worktree whose `.git` file and `worktrees/NAME/gitdir` hold relative paths (what newer
 *   git writes); a plain repository committed to through a symlink to git named `vcs`;
 * - one worker per work tree loops `git commit -q -a` (a changed file each time); each
 *   repository's pre-commit hook runs `git-lock clean --force` while its commit holds index.lock
 *   with no fd open, and other commits of the same repository (main + worktree, superproject +
 *   submodule) are racing at that moment;
 * - a cleaner loops `git-lock clean --force --repo GIT_DIR` over every git dir, from outside.
 * Runs until `--commits N` commits succeeded (default 500; `--seconds` does not bound it, a
 * 20-minute guard does).
 * Invariants: no git-lock ever removed a lock (every lock here is live); no commit failed
 * because its lock vanished; git-lock exits 0 or 1 only; no lock is left once every git is done;
 * `git fsck` is clean in every repository.
 */
import { chmodSync, mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync, existsSync } from "node:fs";
import { join } from "node:path";
import { findLocks, gitEnv, check, report, parseOpts, runSync, spawnOutcome, type ScenarioOpts, type ScenarioResult, startScenario } from "./_lib";

export const DEFAULT_COMMITS = 500;
const GUARD_MS = 20 * 60_000;
const VANISHED = /unable to write\s+new.?index file|could not (commit|rename)|unable to rename|cannot rename|No such file or directory.*\.lock/i;
const CONTENTION = /File exists|Unable to create .*\.lock|cannot lock ref|another git process|but expected|unable to (create|lock)/i;

interface Target {
  name: string;
  workTree: string;
  gitDir: string;
  git: string;
}

export async function run(opts: ScenarioOpts): Promise<ScenarioResult> {
  const name = "git-lock-layouts";
  const scenario = startScenario("git-lock", name, "gitlayouts", opts);
  if (!("exe" in scenario)) return scenario;
  const { exe: gl, checks, rng, root } = scenario;
  const target = opts.commits ?? DEFAULT_COMMITS;
  const side = join(root, "side");
  const logs = join(root, "logs");
  mkdirSync(side);
  mkdirSync(logs);
  const env = gitEnv(side);
  const git = (cwd: string, ...args: string[]) => {
    const r = runSync(["git", ...args], { cwd, env });
    if (r.code !== 0) throw new Error(`git ${args.join(" ")}: ${r.stderr}`);
    return r.stdout.trim();
  };
  const seed = (dir: string) => {
    writeFileSync(join(dir, "f"), "0\n");
    git(dir, "add", "f");
    git(dir, "commit", "-q", "-m", "init");
  };

  // The layouts.
  git(root, "init", "-q", "-b", "main", "--separate-git-dir", join(root, "gd"), join(root, "sep"));
  seed(join(root, "sep"));
  git(root, "init", "-q", "-b", "main", "src");
  seed(join(root, "src"));
  git(root, "init", "-q", "-b", "main", "super");
  seed(join(root, "super"));
  git(join(root, "super"), "-c", "protocol.file.allow=always", "submodule", "add", "-q", join(root, "src"), "sm");
  git(join(root, "super"), "commit", "-q", "-m", "sm");
  git(root, "init", "-q", "-b", "main", "main");
  seed(join(root, "main"));
  git(join(root, "main"), "worktree", "add", "-q", "-b", "side", join(root, "wt"));
  writeFileSync(join(root, "main/.git/worktrees/wt/gitdir"), "../../../../wt/.git\n");
  writeFileSync(join(root, "wt/.git"), "gitdir: ../main/.git/worktrees/wt\n");
  git(root, "init", "-q", "-b", "main", "plain");
  seed(join(root, "plain"));
  mkdirSync(join(root, "bin"));
  const vcs = join(root, "bin", "vcs");
  symlinkSync(Bun.which("git")!, vcs);

  const targets: Target[] = [
    { name: "separate-git-dir", workTree: join(root, "sep"), gitDir: join(root, "gd"), git: "git" },
    { name: "submodule", workTree: join(root, "super/sm"), gitDir: join(root, "super/.git/modules/sm"), git: "git" },
    { name: "superproject", workTree: join(root, "super"), gitDir: join(root, "super/.git"), git: "git" },
    { name: "main-worktree", workTree: join(root, "main"), gitDir: join(root, "main/.git"), git: "git" },
    { name: "linked-worktree", workTree: join(root, "wt"), gitDir: join(root, "main/.git/worktrees/wt"), git: "git" },
    { name: "symlink-named-git", workTree: join(root, "plain"), gitDir: join(root, "plain/.git"), git: vcs },
  ];
  // One pre-commit hook per repository (a linked worktree shares the main one's hooks).
  const hookDirs = [join(root, "gd/hooks"), join(root, "super/.git/modules/sm/hooks"), join(root, "super/.git/hooks"), join(root, "main/.git/hooks"), join(root, "plain/.git/hooks")];
  hookDirs.forEach((h, i) => {
    mkdirSync(h, { recursive: true });
    const hook = join(h, "pre-commit");
    writeFileSync(hook, `#!/bin/sh\n"${gl}" clean --force 2>>"${join(logs, `hook-${i}.log`)}"\necho "exit $?" >>"${join(logs, `hook-${i}.exit`)}"\nexit 0\n`);
    chmodSync(hook, 0o755);
  });
  if (git(join(root, "wt"), "rev-parse", "--abbrev-ref", "HEAD") !== "side") throw new Error("relative worktree links not understood by git");

  const commits: Record<string, number> = Object.fromEntries(targets.map((t) => [t.name, 0]));
  let ok = 0;
  let contention = 0;
  let vanished = 0;
  let other = 0;
  const vanishedSamples: string[] = [];
  const otherSamples: string[] = [];
  let cleans = 0;
  let cleanerRemoved = 0;
  let glBadExit = 0;
  const glBadSamples: string[] = [];
  const removedSamples: string[] = [];
  let seq = 0;
  const started = performance.now();
  const guard = started + GUARD_MS;
  let stop = false;

  const worker = async (t: Target) => {
    const n = seq++;
    writeFileSync(join(t.workTree, "f"), `${n}\n`);
    const o = await spawnOutcome([t.git, "commit", "-q", "-a", "-m", `c${n}`], { cwd: t.workTree, env, timeoutMs: 120_000 });
    if (o.code === 0) {
      ok++;
      commits[t.name]!++;
      if (ok >= target) stop = true;
    } else if (VANISHED.test(o.stderr)) {
      vanished++;
      if (vanishedSamples.length < 3) vanishedSamples.push(`${t.name}: ${o.stderr.trim().split("\n")[0]}`);
    } else if (CONTENTION.test(o.stderr) || (o.code === 1 && !o.stderr.trim())) contention++;
    else {
      other++;
      if (otherSamples.length < 3) otherSamples.push(`${t.name} exit ${o.code}: ${o.stderr.trim().split("\n")[0]}`);
    }
  };
  const cleaner = async () => {
    await Bun.sleep(rng.int(0, 30));
    const t = rng.pick(targets);
    const o = await spawnOutcome([gl, "clean", "--force", "--repo", t.gitDir], { cwd: side, timeoutMs: 60_000 });
    cleans++;
    const removed = o.stderr.split("\n").filter((l) => / removed /.test(l));
    cleanerRemoved += removed.length;
    if (removed.length && removedSamples.length < 3) removedSamples.push(removed[0]!);
    if (o.code !== 0 && o.code !== 1) {
      glBadExit++;
      if (glBadSamples.length < 3) glBadSamples.push(`clean exit ${o.code}: ${o.stderr.trim().split("\n").pop()}`);
    }
  };
  const progress = setInterval(() => opts.log(`${name}: ${ok}/${target} commits`), 15_000);
  await Promise.all(
    [...targets.map((t) => () => worker(t)), cleaner].map(async (body) => {
      while (!stop && performance.now() < guard) await body();
    }),
  );
  clearInterval(progress);
  const elapsedS = ((performance.now() - started) / 1000).toFixed(1);
  opts.log(`${name}: ${ok} commits, ${cleans} outside cleans in ${elapsedS}s; final checks`);

  // Every hook's git-lock: what it removed (nothing may be), what it kept, how it exited.
  let hookRuns = 0;
  let hookRemoved = 0;
  let hookKeptLive = 0;
  for (let i = 0; i < hookDirs.length; i++) {
    const log = existsSync(join(logs, `hook-${i}.log`)) ? readFileSync(join(logs, `hook-${i}.log`), "utf8") : "";
    const exits = existsSync(join(logs, `hook-${i}.exit`)) ? readFileSync(join(logs, `hook-${i}.exit`), "utf8").trim().split("\n").filter(Boolean) : [];
    hookRuns += exits.length;
    for (const e of exits) {
      if (e !== "exit 0" && e !== "exit 1") {
        glBadExit++;
        if (glBadSamples.length < 3) glBadSamples.push(`hook clean ${e}`);
      }
    }
    for (const l of log.split("\n")) {
      if (/ removed /.test(l)) {
        hookRemoved++;
        if (removedSamples.length < 3) removedSamples.push(l);
      }
      if (/ kept .*\(active: live git process/.test(l)) hookKeptLive++;
    }
  }
  const left = [...new Set([join(root, "gd"), join(root, "super/.git"), join(root, "main/.git"), join(root, "plain/.git")])].flatMap(findLocks);
  const fsckBad: string[] = [];
  for (const t of targets) {
    const f = runSync(["git", "fsck", "--no-progress"], { cwd: t.workTree, env });
    const bad = (f.stdout + f.stderr).split("\n").filter((l) => l.trim() && !/^dangling /.test(l) && !/^notice: /.test(l));
    if (f.code !== 0 || bad.length) fsckBad.push(`${t.name}: ${bad[0] ?? `exit ${f.code}`}`);
  }

  const sample = (xs: string[]) => (xs.length ? ` e.g. ${xs.slice(0, 3).join(" | ")}` : "");
  const perLayout = targets.map((t) => `${t.name} ${commits[t.name]}`).join(", ");
  check(checks, `at least ${target} commits succeeded`, ok >= target, `${ok} commits in ${elapsedS}s (${perLayout})`);
  check(checks, "every layout committed", targets.every((t) => commits[t.name]! > 0), perLayout);
  check(checks, "no live lock removed (hooks' clean --force and outside clean --force --repo GIT_DIR)", hookRemoved + cleanerRemoved === 0, `${hookRemoved} removed by ${hookRuns} hook cleans (which kept a live git's lock ${hookKeptLive} times), ${cleanerRemoved} by ${cleans} outside cleans${sample(removedSamples)}`);
  check(checks, "no commit lost its own lock", vanished === 0, `${vanished}${sample(vanishedSamples)}`);
  check(checks, "git-lock exits 0 or 1 only", glBadExit === 0, `${glBadExit} other exits${sample(glBadSamples)}`);
  check(checks, "no lock left once every git is done", left.length === 0, `${left.length}${sample(left.map((p) => p.slice(root.length + 1)))}`);
  check(checks, "git fsck clean in every repository", fsckBad.length === 0, `${fsckBad.length}${sample(fsckBad)}`);

  rmSync(root, { recursive: true, force: true });
  return {
    name,
    checks,
    summary: `seed ${opts.seed}, until ${target} commits: ${ok} commits in ${elapsedS}s, ${contention} lost an index.lock race, ${other} other failures${sample(otherSamples)}; ${hookRuns} hook cleans, ${cleans} outside cleans`,
  };
}

if (import.meta.main) {
  const opts = parseOpts(process.argv.slice(2), { seconds: 60 });
  const r = report(await run(opts));
  process.stdout.write(`${r.passed} passed, ${r.failed} failed\n`);
  process.exit(r.failed ? 1 : 0);
}
