import { describe, expect, test } from "bun:test";
import { closeSync, existsSync, mkdirSync, openSync, utimesSync, writeFileSync } from "node:fs";
import { hostname } from "node:os";
import { holdLock } from "../../../lib/core/dirlock";
import { TempFailError, UsageError } from "../../../lib/core/errors";
import { cleanLocks, scanLocks, waitForLocks } from "../../../lib/git/operations";
import { aged, makeRepo } from "./helpers";

const HOUR = 3_600_000;

describe("scanLocks / cleanLocks", () => {
  test("a clean repository has no locks and suggests nothing", () => {
    const { repo } = makeRepo();
    expect(scanLocks({ cwd: repo, env: {} })).toMatchObject({ locks: [], noHolderRecord: false });
  });

  test("clean removes stale locks only, reports each, and --dry-run removes nothing", async () => {
    const { repo, gitDir } = makeRepo();
    aged(`${gitDir}/index.lock`, 2 * HOUR);
    aged(`${gitDir}/HEAD.lock`, 1000);
    const dry = await cleanLocks({ cwd: repo, env: {}, dryRun: true });
    expect(dry.removals.map((x) => x.lock.lock.path)).toEqual([`${gitDir}/index.lock`]);
    expect(existsSync(`${gitDir}/index.lock`)).toBe(true);
    const r = await cleanLocks({ cwd: repo, env: {} });
    expect(r.noHolderRecord).toBe(true);
    expect(r.removals).toHaveLength(1);
    expect(r.removals[0]!.outcome.removed).toBe(true);
    expect(existsSync(`${gitDir}/index.lock`)).toBe(false);
    expect(existsSync(`${gitDir}/HEAD.lock`)).toBe(true);
  });

  test("named paths restrict the scan; a path outside the git dir is a usage error", () => {
    const { dir, repo, gitDir } = makeRepo();
    aged(`${gitDir}/index.lock`, 2 * HOUR);
    aged(`${gitDir}/HEAD.lock`, 2 * HOUR);
    const r = scanLocks({ cwd: repo, env: {}, paths: [".git/HEAD.lock"] });
    expect(r.locks.map((j) => j.lock.path)).toEqual([`${gitDir}/HEAD.lock`]);
    writeFileSync(`${dir}/x.lock`, "");
    expect(() => scanLocks({ cwd: repo, env: {}, paths: [`${dir}/x.lock`] })).toThrow(UsageError);
    expect(() => scanLocks({ cwd: repo, env: {}, paths: [`${gitDir}/config`] })).toThrow(UsageError);
  });
});

describe("run locks", () => {
  test("a stale run lock is removed through the lock module; a live one is kept", async () => {
    const { repo, gitDir } = makeRepo();
    const dead = Bun.spawnSync(["true"]).pid;
    mkdirSync(`${gitDir}/hardshell-run.lock`);
    writeFileSync(`${gitDir}/hardshell-run.lock/owner`, JSON.stringify({ pid: dead, host: hostname(), createdAt: 1 }));
    const old = new Date(Date.now() - 2 * HOUR);
    utimesSync(`${gitDir}/hardshell-run.lock`, old, old);
    const live = await holdLock(`${gitDir}/hardshell-other.lock`, { timeoutMs: 0 });
    try {
      const r = await cleanLocks({ cwd: repo, env: {}, force: true });
      expect(r.removals.map((x) => [x.lock.lock.path, x.outcome.removed])).toEqual([[`${gitDir}/hardshell-run.lock`, true]]);
      expect(existsSync(`${gitDir}/hardshell-run.lock`)).toBe(false);
      expect(r.locks.find((j) => j.lock.path.endsWith("hardshell-other.lock"))?.verdict).toBe("active");
      expect(existsSync(`${gitDir}/hardshell-other.lock`)).toBe(true);
    } finally {
      live.release();
    }
  });
});

describe("waitForLocks", () => {
  test("returns at once when free", async () => {
    const { repo } = makeRepo();
    const r = await waitForLocks({ cwd: repo, env: {}, timeoutMs: 1000 });
    expect(r.polls).toBe(1);
  });

  test("a live holder makes it give up with TempFailError after the timeout", async () => {
    const { repo, gitDir } = makeRepo();
    aged(`${gitDir}/index.lock`, 2 * HOUR);
    const fd = openSync(`${gitDir}/index.lock`, "r");
    try {
      const t0 = performance.now();
      const err = await waitForLocks({ cwd: repo, env: {}, timeoutMs: 300, selfPid: 1 }).catch((e) => e);
      expect(err).toBeInstanceOf(TempFailError);
      expect((err as TempFailError).exitCode).toBe(75);
      expect(performance.now() - t0).toBeGreaterThanOrEqual(290);
    } finally {
      closeSync(fd);
    }
  });

  test("polls back off with full jitter on the shared policy: each sleep is below min(500 ms, 50 ms * 2^n), not a fixed doubling", async () => {
    const { repo, gitDir } = makeRepo();
    aged(`${gitDir}/index.lock`, 2 * HOUR);
    const fd = openSync(`${gitDir}/index.lock`, "r");
    const sleeps: number[] = [];
    try {
      const err = await waitForLocks({
        cwd: repo,
        env: {},
        timeoutMs: 1500,
        selfPid: 1,
        sleep: (ms) => {
          sleeps.push(ms);
          return Bun.sleep(ms);
        },
      }).catch((e) => e);
      expect(err).toBeInstanceOf(TempFailError);
    } finally {
      closeSync(fd);
    }
    expect(sleeps.length).toBeGreaterThan(2);
    sleeps.slice(0, -1).forEach((ms, n) => expect(ms).toBeLessThan(Math.min(500, 50 * 2 ** n)));
    expect(sleeps.slice(0, 4)).not.toEqual([50, 100, 200, 400]);
  });

  test("--clean removes stale locks on the way; a young lock is waited for", async () => {
    const { repo, gitDir } = makeRepo();
    aged(`${gitDir}/index.lock`, 2 * HOUR);
    const r = await waitForLocks({ cwd: repo, env: {}, timeoutMs: 1000, clean: true });
    expect(r.removals).toHaveLength(1);
    aged(`${gitDir}/HEAD.lock`, 0);
    const w = await waitForLocks({ cwd: repo, env: {}, timeoutMs: 2000, staleAfterMs: 300 });
    expect(w.polls).toBeGreaterThan(1);
  });
});
