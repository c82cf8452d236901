import { describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, symlinkSync, writeFileSync } from "node:fs";
import { listLocks } from "../../../lib/git/lockfiles";
import { hostname } from "node:os";
import { removeLockSafely, removeRunLock } from "../../../lib/git/remove";
import { discoverRepo } from "../../../lib/git/repo";
import { makeRepo } from "./helpers";

function lockOf(repo: string, rel: string) {
  const r = discoverRepo({ cwd: repo, env: {} });
  return listLocks(r).find((l) => l.path === `${r.commonDir}/${rel}`)!;
}

describe("removeLockSafely", () => {
  test("removes the judged file and its holder record, leaving nothing aside", () => {
    const { repo, gitDir } = makeRepo();
    writeFileSync(`${gitDir}/index.lock`, "");
    writeFileSync(`${gitDir}/index~pid.lock`, "pid 1\n");
    const out = removeLockSafely(lockOf(repo, "index.lock"), gitDir);
    expect(out.removed).toBe(true);
    expect(existsSync(`${gitDir}/index.lock`) || existsSync(`${gitDir}/index~pid.lock`)).toBe(false);
    expect(readdirSync(gitDir).some((n) => n.includes(".rm"))).toBe(false);
  });

  test("a lock replaced since it was judged (new inode) is left alone", () => {
    const { repo, gitDir } = makeRepo();
    writeFileSync(`${gitDir}/index.lock`, "old");
    const judged = lockOf(repo, "index.lock");
    renameSync(`${gitDir}/index.lock`, `${gitDir}/gone`);
    writeFileSync(`${gitDir}/index.lock`, "new holder");
    expect(removeLockSafely(judged, gitDir)).toMatchObject({ removed: false, why: "changed" });
    expect(readFileSync(`${gitDir}/index.lock`, "utf8")).toBe("new holder");
  });

  test("a new lock that got the judged lock's recycled inode number is left alone", () => {
    // Git frees and creates index.lock inodes many times a second; the file system hands the
    // freed number to the next file. Same dev and inode, but created after the judgement.
    const { repo, gitDir } = makeRepo();
    writeFileSync(`${gitDir}/index.lock`, "a live git's new lock");
    const now = lockOf(repo, "index.lock");
    const judgedEarlier = { ...now, ctimeMs: now.ctimeMs - 150, mtimeMs: now.mtimeMs - 150 };
    expect(removeLockSafely(judgedEarlier, gitDir)).toMatchObject({ removed: false, why: "changed" });
    expect(readFileSync(`${gitDir}/index.lock`, "utf8")).toBe("a live git's new lock");
    expect(removeLockSafely(now, gitDir).removed).toBe(true);
  });

  test("a symlink is never followed nor removed; a path resolving outside the git dir is refused", () => {
    const { dir, repo, gitDir } = makeRepo();
    writeFileSync(`${dir}/target`, "precious");
    symlinkSync(`${dir}/target`, `${gitDir}/HEAD.lock`);
    expect(removeLockSafely(lockOf(repo, "HEAD.lock"), gitDir)).toMatchObject({ removed: false, why: "not-regular" });
    expect(readFileSync(`${dir}/target`, "utf8")).toBe("precious");
    mkdirSync(`${dir}/ext`);
    writeFileSync(`${dir}/ext/x.lock`, "");
    symlinkSync(`${dir}/ext`, `${gitDir}/refs/heads/ext`);
    const { lockAt } = require("../../../lib/git/lockfiles") as typeof import("../../../lib/git/lockfiles");
    const outside = lockAt(gitDir, "refs/heads/ext/x.lock")!;
    expect(removeLockSafely(outside, gitDir)).toMatchObject({ removed: false, why: "outside" });
    expect(existsSync(`${dir}/ext/x.lock`)).toBe(true);
  });

  test("a run lock is removed only while stale, through the lock module's takeover", async () => {
    const { repo, gitDir } = makeRepo();
    const dead = Bun.spawnSync(["true"]).pid;
    mkdirSync(`${gitDir}/hardshell-run.lock`);
    writeFileSync(`${gitDir}/hardshell-run.lock/owner`, JSON.stringify({ pid: dead, host: hostname(), createdAt: 1 }));
    const l = lockOf(repo, "hardshell-run.lock");
    expect(removeLockSafely(l, gitDir)).toMatchObject({ removed: false, why: "not-regular" });
    expect(await removeRunLock(l, gitDir, 60_000)).toMatchObject({ removed: false, why: "changed" }); // young
    expect((await removeRunLock(l, gitDir, 0)).removed).toBe(true);
    expect(existsSync(`${gitDir}/hardshell-run.lock`)).toBe(false);
    expect(readdirSync(gitDir).some((n) => n.includes("hardshell-run"))).toBe(false);
  });

  test("an already removed lock is reported gone", () => {
    const { repo, gitDir } = makeRepo();
    writeFileSync(`${gitDir}/index.lock`, "");
    const l = lockOf(repo, "index.lock");
    require("node:fs").unlinkSync(`${gitDir}/index.lock`);
    expect(removeLockSafely(l, gitDir)).toMatchObject({ removed: false, why: "gone" });
  });
});
