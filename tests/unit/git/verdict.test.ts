import { describe, expect, test } from "bun:test";
import { closeSync, openSync, writeFileSync } from "node:fs";
import { hostname } from "node:os";
import { ProcSnapshot } from "../../../lib/core/procscan";
import { listLocks } from "../../../lib/git/lockfiles";
import { discoverRepo } from "../../../lib/git/repo";
import { dispatcherAncestors, gitArgvPaths, gitSubcommand, isGitComm, judgeLocks, START_SLACK_MS, unknownGraceMs, type JudgeOptions } from "../../../lib/git/verdict";
import { aged, gitEnv, makeRepo } from "./helpers";

const HOUR = 3_600_000;

function judge(repo: string, opts: JudgeOptions = {}) {
  const r = discoverRepo({ cwd: repo, env: {} });
  return Object.fromEntries(judgeLocks(r, listLocks(r), opts).map((j) => [j.lock.path.slice(r.commonDir.length + 1), j]));
}

function deadPid(): number {
  return Bun.spawnSync(["true"]).pid;
}

describe("judgeLocks", () => {
  test("no holder: young below the threshold, stale above; --force drops the threshold", () => {
    const { repo, gitDir } = makeRepo();
    aged(`${gitDir}/index.lock`, 2 * HOUR);
    aged(`${gitDir}/HEAD.lock`, 1000);
    let v = judge(repo);
    expect(v["index.lock"]!.verdict).toBe("stale");
    expect(v["HEAD.lock"]!.verdict).toBe("young");
    expect(v["HEAD.lock"]!.reason).toContain("younger than 30s");
    v = judge(repo, { force: true });
    expect(v["HEAD.lock"]!.verdict).toBe("stale");
    v = judge(repo, { staleAfterMs: 3 * HOUR });
    expect(v["index.lock"]!.verdict).toBe("young");
  });

  test("a file held open by this process is active, --force included", () => {
    const { repo, gitDir } = makeRepo();
    aged(`${gitDir}/index.lock`, 2 * HOUR);
    const fd = openSync(`${gitDir}/index.lock`, "r");
    try {
      // selfPid: pretend to be another process so this one counts as a holder.
      const v = judge(repo, { force: true, selfPid: 1 });
      expect(v["index.lock"]!.verdict).toBe("active");
      expect(v["index.lock"]!.holders.map((h) => h.pid)).toContain(process.pid);
    } finally {
      closeSync(fd);
    }
  });

  test("a live git process working in the repository keeps every lock without a record", async () => {
    const { repo, gitDir } = makeRepo();
    aged(`${gitDir}/packed-refs.lock`, 2 * HOUR);
    aged(`${gitDir}/index.lock`, 2 * HOUR);
    writeFileSync(`${gitDir}/index~pid.lock`, `pid ${deadPid()}\n`);
    const g = Bun.spawn(["git", "cat-file", "--batch"], { cwd: repo, env: gitEnv, stdin: "pipe" });
    try {
      const t0 = Date.now();
      while (new ProcSnapshot().comm(g.pid) !== "git" && Date.now() - t0 < 2000) Bun.sleepSync(2);
      const v = judge(repo, { force: true });
      expect(v["packed-refs.lock"]!.verdict).toBe("active");
      expect(v["packed-refs.lock"]!.holders.map((h) => h.pid)).toContain(g.pid);
      // The holder record says its writer is gone: strongest evidence wins.
      expect(v["index.lock"]!.verdict).toBe("stale");
      expect(v["index.lock"]!.reason).toContain("holder record");
    } finally {
      g.kill(9);
      await g.exited;
    }
  });

  test("a git that started well after a lock was created is not its holder", async () => {
    const { repo, gitDir } = makeRepo();
    aged(`${gitDir}/packed-refs.lock`, 2 * HOUR);
    Bun.sleepSync(START_SLACK_MS + 200);
    const g = Bun.spawn(["git", "cat-file", "--batch"], { cwd: repo, env: gitEnv, stdin: "pipe" });
    try {
      const t0 = Date.now();
      while (new ProcSnapshot().comm(g.pid) !== "git" && Date.now() - t0 < 2000) Bun.sleepSync(2);
      aged(`${gitDir}/index.lock`, 2 * HOUR); // created after git started: it may be git's
      const v = judge(repo, { force: true });
      expect(v["packed-refs.lock"]!.verdict).toBe("stale");
      expect(v["index.lock"]!.verdict).toBe("active");
    } finally {
      g.kill(9);
      await g.exited;
    }
  });

  test("a holder record naming a live pid is active", () => {
    const { repo, gitDir } = makeRepo();
    aged(`${gitDir}/index.lock`, 2 * HOUR);
    writeFileSync(`${gitDir}/index~pid.lock`, `pid ${process.pid}\n`);
    const v = judge(repo, { force: true, selfPid: 1 });
    expect(v["index.lock"]).toMatchObject({ verdict: "active", holders: [{ pid: process.pid }] });
  });

  test("gc.pid: dead pid on this host stale, live pid active, another host unknown for 12h", () => {
    const { repo, gitDir } = makeRepo();
    aged(`${gitDir}/gc.pid`, 2 * HOUR, `${deadPid()} ${hostname()}`);
    expect(judge(repo)["gc.pid"]!.verdict).toBe("stale");
    aged(`${gitDir}/gc.pid`, 2 * HOUR, `${process.pid} ${hostname()}`);
    expect(judge(repo)["gc.pid"]!.verdict).toBe("active");
    aged(`${gitDir}/gc.pid`, 13 * HOUR, `${process.pid} ${hostname()}`);
    expect(judge(repo)["gc.pid"]!.verdict).toBe("stale"); // git gc's 12 h rule
    aged(`${gitDir}/gc.pid`, 2 * HOUR, `1 elsewhere`);
    expect(judge(repo, { force: true })["gc.pid"]!.verdict).toBe("unknown");
    aged(`${gitDir}/gc.pid`, 13 * HOUR, `1 elsewhere`);
    expect(judge(repo)["gc.pid"]!.verdict).toBe("stale");
  });

  test("liveness not visible: unknown until the grace period (1h for refs), never by --force", () => {
    const { repo, gitDir } = makeRepo();
    aged(`${gitDir}/index.lock`, 20 * 60_000);
    aged(`${gitDir}/packed-refs.lock`, 20 * 60_000);
    aged(`${gitDir}/HEAD.lock`, 60_000);
    const invisible = { visibility: () => ({ visible: false, reason: "network file system (nfs)" }), force: true };
    const v = judge(repo, invisible);
    expect(v["index.lock"]!.verdict).toBe("stale");
    expect(v["packed-refs.lock"]!.verdict).toBe("unknown");
    expect(v["HEAD.lock"]!.verdict).toBe("unknown");
    expect(v["HEAD.lock"]!.reason).toContain("nfs");
    expect(judge(repo, { ...invisible, staleAfterMs: 30_000 })["HEAD.lock"]!.verdict).toBe("stale");
    expect(unknownGraceMs("ref")).toBe(HOUR);
    expect(unknownGraceMs("index")).toBe(15 * 60_000);
  });

  test("run locks are judged by the lock module's verdict", () => {
    const { repo, gitDir } = makeRepo();
    require("node:fs").mkdirSync(`${gitDir}/hardshell-run.lock`);
    const v = judge(repo, { judgeRunLock: () => ({ verdict: "running", owner: { pid: process.pid, host: hostname() } }) });
    expect(v["hardshell-run.lock"]).toMatchObject({ verdict: "active", holders: [{ pid: process.pid }] });
    expect(judge(repo)["hardshell-run.lock"]!.verdict).toBe("unknown");
  });
});

describe("git process helpers", () => {
  test("git and its helpers are git processes; git-lock is not", () => {
    expect(isGitComm("git")).toBe(true);
    expect(isGitComm("git-remote-http")).toBe(true);
    expect(isGitComm("git-lock")).toBe(false);
    expect(isGitComm("bash")).toBe(false);
  });
  test("the subcommand is found past git's own options", () => {
    expect(gitSubcommand(["git", "-C", "x", "-c", "a=b", "--no-pager", "lock", "clean"])).toBe("lock");
    expect(gitSubcommand(["git", "commit", "-a"])).toBe("commit");
    expect(gitSubcommand(["git"])).toBeUndefined();
  });
  test("paths on git's command line: cumulative -C, --git-dir, --work-tree; not the subcommand's", () => {
    expect(gitArgvPaths(["git", "-C", "/a", "-C", "b", "--git-dir=x/.git", "--work-tree", "/w", "log", "-C", "/no"])).toEqual([
      "/a",
      "/a/b",
      "/a/b/x/.git",
      "/w",
    ]);
    expect(gitArgvPaths(["git", "-c", "a=b", "status"])).toEqual([]);
  });
  test("this test process has no `git lock` dispatcher among its ancestors", () => {
    expect(dispatcherAncestors(new ProcSnapshot(), process.pid).size).toBe(0);
  });
});
