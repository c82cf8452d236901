/**
 * Torture: git-lock cleaning a repository while real git commands run, get killed, and stale
 * locks are planted.
 *
 * Proves design.md §4 "a lock held by a live process is never removed (--force included)" and
 * "stale: no live holder and older than the threshold; clean removes it", with real git:
 * - 3 worker slots run random real git commands in one repository (add, commit -a, update-ref,
 *   branch -f, tag -f, pack-refs --all, status, config); some are SIGKILLed at random moments,
 *   which leaves real debris (index.lock, ref locks, packed-refs.lock, config.lock);
 * - an injector plants stale locks (dead holder, mtime 1 h ago) under the names git uses;
 * - 3 holder processes keep a lock file OPEN for the whole run (refs/heads/held/0.lock,
 *   refs/heads/held/1.lock, ORIG_HEAD.lock), with an mtime 1 h ago so age alone says "stale";
 * - a cleaner runs `git-lock clean` (half the time `--force`) and `git-lock status --json`
 *   over and over, concurrently with all of that.
 * Invariants: the held locks exist with their inode after every clean and at the end; after the
 * final `clean` no planted lock remains and `status` reports nothing stale; after `clean --force`
 * with no git running, only the held locks remain; git-lock only ever exits 0 or 1; no git
 * command failed because its own lock vanished; `git fsck` is clean and git works afterwards.
 */
import { mkdirSync, openSync, closeSync, existsSync, realpathSync, statSync, utimesSync, writeFileSync, rmSync } from "node:fs";
import { dirname, join } from "node:path";
import { findLocks, gitEnv, check, parseOpts, report, runSync, slots, spawnOutcome, type ScenarioOpts, type ScenarioResult, startScenario } from "./_lib";

// git wraps its message: "repository has been updated, but unable to write\nnew_index file".
const VANISHED = /unable to write\s+new.?index file|could not (commit|rename)|unable to rename|couldn't write|cannot rename|No such file or directory.*\.lock/i;
const CONTENTION = /File exists|Unable to create .*\.lock|cannot lock ref|could not lock config file|another git process|but expected|nothing to commit|nothing added to commit|unable to (create|lock)|is at [0-9a-f]+ but expected/i;

export async function run(opts: ScenarioOpts): Promise<ScenarioResult> {
  const scenario = startScenario("git-lock", "git-lock", "git", opts);
  if (!("exe" in scenario)) return scenario;
  const { exe: gl, checks, rng, root } = scenario;
  const repo = join(root, "repo");
  const side = join(root, "side");
  mkdirSync(side);
  const env = gitEnv(side);
  runSync(["git", "init", "-q", repo], { env });
  runSync(["git", "config", "gc.auto", "0"], { cwd: repo, env });
  for (let i = 0; i < 10; i++) writeFileSync(join(repo, `f${i}`), `file ${i}\n`);
  runSync(["git", "add", "."], { cwd: repo, env });
  const init = runSync(["git", "commit", "-q", "-m", "init"], { cwd: repo, env });
  if (init.code !== 0) throw new Error(`git commit failed: ${init.stderr}`);
  const gitDir = join(repo, ".git");
  const hourAgo = new Date(Date.now() - 3600_000);

  // Holders: a live process with the lock file open, for the whole run.
  const heldRel = ["refs/heads/held/0.lock", "refs/heads/held/1.lock", "ORIG_HEAD.lock"];
  const held = heldRel.map((rel) => join(gitDir, rel));
  const holders = held.map((p) => {
    mkdirSync(dirname(p), { recursive: true });
    return Bun.spawn(["bash", "-c", 'exec 3>>"$1"; touch -d "1 hour ago" "$1"; echo ready; exec sleep 3600', "holder", p], { cwd: side, stdin: "ignore", stdout: "pipe", stderr: "ignore" });
  });
  for (const h of holders) {
    const reader = (h.stdout as ReadableStream<Uint8Array>).getReader();
    await reader.read();
    reader.releaseLock();
  }
  const heldIno = held.map((p) => statSync(p).ino);
  // git-lock reports real paths; TMPDIR may sit behind a symlink
  const heldReal = held.map((p) => realpathSync(p));
  const heldIntact = () => held.every((p, i) => existsSync(p) && statSync(p).ino === heldIno[i]);

  const deadline = performance.now() + opts.seconds * 1000;
  let seq = 0;
  const gitRuns = { ok: 0, contention: 0, killed: 0, other: 0, vanished: 0 };
  const otherSamples: string[] = [];
  const vanishedSamples: string[] = [];
  // Inode numbers are recycled within milliseconds (a removed planted lock's number goes to the
  // next lock a git creates), so a planted lock is the same file only with the same ctime too.
  const planted: { path: string; ino: number; ctimeMs: number }[] = [];
  let heldViolations = 0;
  let glBadExit = 0;
  const glBadSamples: string[] = [];
  let cleans = 0;
  let removedDuringRun = 0;
  let statusActiveMisses = 0;
  let kills = 0;

  const worker = async () => {
    const k = rng.int(0, 9);
    const n = seq++;
    const op = rng.pick(["add", "commit", "update-ref", "branch", "tag", "pack-refs", "status", "config", "add", "commit"] as const);
    let argv: string[];
    switch (op) {
      case "add":
        writeFileSync(join(repo, `f${k}`), `file ${k} version ${n}\n`);
        argv = ["git", "add", `f${k}`];
        break;
      case "commit":
        writeFileSync(join(repo, `f${k}`), `file ${k} version ${n}\n`);
        argv = ["git", "commit", "-q", "-a", "-m", `change ${n}`];
        break;
      case "update-ref":
        argv = ["git", "update-ref", `refs/heads/w/${k}`, "HEAD"];
        break;
      case "branch":
        argv = ["git", "branch", "-f", `b${k}`];
        break;
      case "tag":
        argv = ["git", "tag", "-f", `t${k}`];
        break;
      case "pack-refs":
        argv = ["git", "pack-refs", "--all"];
        break;
      case "status":
        argv = ["git", "status", "--porcelain"];
        break;
      case "config":
        argv = ["git", "config", `stress.k${k}`, `v${n}`];
        break;
    }
    let kill: { afterMs: number; signal: "SIGKILL" } | undefined;
    if (rng.chance(0.15)) {
      kill = { afterMs: rng.int(0, 6), signal: "SIGKILL" };
      kills++;
    }
    const o = await spawnOutcome(argv, { cwd: repo, env, kill, timeoutMs: 60_000 });
    // git exits 128 on fatal errors, so only a signal means "killed" here
    if (o.code === 0) gitRuns.ok++;
    else if (o.signal) gitRuns.killed++;
    else if (VANISHED.test(o.stderr)) {
      gitRuns.vanished++;
      if (vanishedSamples.length < 3) vanishedSamples.push(`${argv.slice(0, 3).join(" ")}: ${o.stderr.trim().split("\n")[0]}`);
    } else if (CONTENTION.test(o.stderr) || (op === "commit" && o.code === 1 && !o.stderr.trim())) gitRuns.contention++; // commit says "nothing to commit" on stdout
    else {
      gitRuns.other++;
      if (otherSamples.length < 3) otherSamples.push(`${argv.slice(0, 3).join(" ")} exit ${o.code}: ${o.stderr.trim().split("\n")[0]}`);
    }
  };

  const injector = async () => {
    await Bun.sleep(rng.int(100, 400));
    const n = seq++;
    const rel = rng.pick([`refs/heads/inj/${n}.lock`, `refs/tags/inj-${n}.lock`, `logs/refs/heads/inj-${n}.lock`, "index.lock", "packed-refs.lock", "config.lock", "HEAD.lock", "FETCH_HEAD.lock", "shallow.lock"]);
    const p = join(gitDir, rel);
    try {
      mkdirSync(dirname(p), { recursive: true });
      const fd = openSync(p, "wx"); // never clobber a lock a live git just took
      closeSync(fd);
      utimesSync(p, hourAgo, hourAgo);
      const st = statSync(p);
      planted.push({ path: p, ino: st.ino, ctimeMs: st.ctimeMs });
    } catch {
      /* exists (a git holds it right now): skip */
    }
  };

  const cleaner = async () => {
    await Bun.sleep(rng.int(100, 500));
    const force = rng.chance(0.5);
    const o = await spawnOutcome([gl, "clean", "--repo", repo, ...(force ? ["--force"] : [])], { cwd: side, timeoutMs: 60_000 });
    cleans++;
    removedDuringRun += (o.stderr.match(/^git-lock: removed /gm) ?? []).length;
    if (o.code !== 0 && o.code !== 1) {
      glBadExit++;
      if (glBadSamples.length < 3) glBadSamples.push(`clean exit ${o.code}: ${o.stderr.trim().split("\n").pop()}`);
    }
    if (!heldIntact()) heldViolations++;
    if (rng.chance(0.3)) {
      const s = runSync([gl, "status", "--repo", repo, "--json"], { cwd: side });
      if (s.code !== 0 && s.code !== 1) {
        glBadExit++;
        if (glBadSamples.length < 3) glBadSamples.push(`status exit ${s.code}: ${s.stderr.trim().split("\n").pop()}`);
      } else {
        try {
          const list = JSON.parse(s.stdout) as { path: string; verdict: string }[];
          for (let i = 0; i < held.length; i++) if (!list.some((l) => (l.path === held[i] || l.path === heldReal[i]) && l.verdict === "active")) statusActiveMisses++;
        } catch {
          glBadExit++;
        }
      }
    }
  };

  await slots(5, deadline, (slot) => (slot < 3 ? worker() : slot === 3 ? injector() : cleaner()));
  opts.log(`git-lock: ${seq} operations, ${cleans} cleans; final checks`);

  // No git runs any more. Plain clean: every planted (1 h old, dead) lock must go.
  const c1 = runSync([gl, "clean", "--repo", repo], { cwd: side });
  const samePlanted = (p: (typeof planted)[number]) => {
    try {
      const st = statSync(p.path);
      return st.ino === p.ino && st.ctimeMs === p.ctimeMs;
    } catch {
      return false;
    }
  };
  const plantedLeft = planted.filter(samePlanted).map((p) => p.path.slice(gitDir.length + 1));
  const st = runSync([gl, "status", "--repo", repo, "--json"], { cwd: side });
  let staleAfter: string[] = ["(unreadable status)"];
  try {
    staleAfter = (JSON.parse(st.stdout) as { path: string; verdict: string }[]).filter((l) => l.verdict === "stale").map((l) => l.path);
  } catch {
    /* keep the marker */
  }
  // --force: what killed gits left (younger than 30 s) goes too; only the held locks may stay.
  const c2 = runSync([gl, "clean", "--repo", repo, "--force"], { cwd: side });
  const left = findLocks(gitDir);
  const extraLocks = left.filter((p) => !held.includes(p)).map((p) => p.slice(gitDir.length + 1));
  const intact = heldIntact() && holders.every((h) => h.exitCode === null);
  const st2 = runSync([gl, "status", "--repo", repo], { cwd: side });
  const fsck = runSync(["git", "fsck", "--no-progress"], { cwd: repo, env });
  const fsckBad = (fsck.stdout + fsck.stderr).split("\n").filter((l) => l.trim() && !/^dangling /.test(l) && !/^notice: /.test(l));
  writeFileSync(join(repo, "f0"), "after the storm\n");
  const after = runSync(["bash", "-c", "git add -A && git commit -q -m final && git pack-refs --all && git status --porcelain"], { cwd: repo, env });
  for (const h of holders) h.kill("SIGKILL");
  await Promise.all(holders.map((h) => h.exited));
  const glExits = [c1.code, st.code, c2.code, st2.code];
  if (glExits.some((c) => c !== 0 && c !== 1)) glBadExit++;

  const sample = (xs: string[]) => (xs.length ? ` e.g. ${xs.slice(0, 3).join(", ")}` : "");
  check(checks, "a lock held open by a live process is never removed", heldViolations === 0 && intact, `${held.length} held locks (mtime 1 h ago) checked after each of ${cleans} concurrent cleans (half --force) and at the end: ${heldViolations} violations, ${intact ? "intact" : "GONE"} at the end`);
  check(checks, "status reports held locks as active", statusActiveMisses === 0, `${statusActiveMisses} misses`);
  check(checks, "every planted stale lock is gone after clean", plantedLeft.length === 0, `${planted.length} planted, ${plantedLeft.length} left${sample(plantedLeft)}`);
  check(checks, "status after clean reports nothing stale", staleAfter.length === 0, `${staleAfter.length} stale${sample(staleAfter)}`);
  check(checks, "after clean --force only the held locks remain", extraLocks.length === 0, `${left.length} locks left${sample(extraLocks)}`);
  check(checks, "git-lock exits 0 or 1 only", glBadExit === 0, `${glBadExit} other exits${sample(glBadSamples)}`);
  check(checks, "no git command lost its own lock", gitRuns.vanished === 0, `${gitRuns.vanished}${sample(vanishedSamples)}`);
  check(checks, "git fsck clean", fsck.code === 0 && fsckBad.length === 0, `exit ${fsck.code}${sample(fsckBad)}`);
  check(checks, "git works afterwards (add, commit, pack-refs)", after.code === 0, `exit ${after.code}${after.code ? ": " + after.stderr.trim().split("\n")[0] : ""}`);

  rmSync(root, { recursive: true, force: true });
  return {
    name: "git-lock",
    checks,
    summary: `seed ${opts.seed}, ${opts.seconds}s, git commands: ${gitRuns.ok} ok, ${gitRuns.contention} lost a lock race or had nothing to commit, ${gitRuns.killed} killed (${kills} SIGKILL sent), ${gitRuns.other} other failures${sample(otherSamples)}; ${planted.length} stale locks planted; ${cleans} concurrent cleans removed ${removedDuringRun} locks`,
  };
}

if (import.meta.main) {
  const opts = parseOpts(process.argv.slice(2), { seconds: 60 });
  const r = report(await run(opts));
  process.stdout.write(`${r.passed} passed, ${r.failed} failed\n`);
  process.exit(r.failed ? 1 : 0);
}
