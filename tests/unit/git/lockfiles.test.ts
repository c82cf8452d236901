import { describe, expect, test } from "bun:test";
import { mkdirSync, symlinkSync, writeFileSync } from "node:fs";
import { isPidRecordName, listLocks, lockAt, parseGcPid, parsePidRecord, pidRecordPathFor } from "../../../lib/git/lockfiles";
import { discoverRepo } from "../../../lib/git/repo";
import { git, makeRepo } from "./helpers";

describe("listLocks", () => {
  test("finds git's lock set, deep refs included, with kinds; skips holder records and non-locks", () => {
    const { repo, gitDir } = makeRepo();
    for (const d of ["refs/heads/a", "logs/refs/heads", "objects/info/commit-graphs", "reftable"]) mkdirSync(`${gitDir}/${d}`, { recursive: true });
    const files: Record<string, string> = {
      "index.lock": "index",
      "HEAD.lock": "head",
      "config.lock": "config",
      "packed-refs.lock": "packed-refs",
      "shallow.lock": "shallow",
      "refs/heads/a/b.lock": "ref",
      "logs/refs/heads/main.lock": "reflog",
      "objects/info/commit-graph.lock": "objects",
      "objects/info/commit-graphs/commit-graph-chain.lock": "objects",
      "objects/pack/multi-pack-index.lock": "objects",
      "reftable/tables.list.lock": "reftable",
      "gc.pid": "gc-pid",
    };
    for (const f of Object.keys(files)) writeFileSync(`${gitDir}/${f}`, "");
    writeFileSync(`${gitDir}/index~pid.lock`, "pid 123\n");
    writeFileSync(`${gitDir}/objects/pack/pack-x.keep`, "");
    mkdirSync(`${gitDir}/hardshell-run.lock`);
    const locks = listLocks(discoverRepo({ cwd: repo, env: {} }));
    const byRel = Object.fromEntries(locks.map((l) => [l.path.slice(gitDir.length + 1), l]));
    for (const [f, kind] of Object.entries(files)) expect(byRel[f]?.kind).toBe(kind as never);
    expect(byRel["hardshell-run.lock"]).toMatchObject({ kind: "run", type: "dir" });
    expect(byRel["index.lock"]!.pidRecord).toEqual({ path: `${gitDir}/index~pid.lock`, pid: 123 });
    expect(Object.keys(byRel).some((k) => k.includes("~pid"))).toBe(false);
    expect(locks.length).toBe(Object.keys(files).length + 1);
  });

  test("finds every worktree's private locks; a symlink is listed as such and never followed", () => {
    const { dir, repo, gitDir } = makeRepo();
    git(repo, "worktree", "add", "-q", `${dir}/wt`, "-b", "side");
    writeFileSync(`${gitDir}/worktrees/wt/index.lock`, "");
    mkdirSync(`${dir}/ext`);
    writeFileSync(`${dir}/ext/x.lock`, "");
    symlinkSync(`${dir}/ext`, `${gitDir}/refs/heads/ext`);
    symlinkSync(`${dir}/ext/x.lock`, `${gitDir}/HEAD.lock`);
    const locks = listLocks(discoverRepo({ cwd: repo, env: {} }));
    expect(locks.find((l) => l.path === `${gitDir}/worktrees/wt/index.lock`)?.gitDir).toBe(`${gitDir}/worktrees/wt`);
    expect(locks.find((l) => l.path === `${gitDir}/HEAD.lock`)?.type).toBe("symlink");
    expect(locks.some((l) => l.path.includes("/ext/"))).toBe(false);
    expect(lockAt(gitDir, "nothing.lock")).toBeUndefined();
  });
});

describe("record parsing", () => {
  test("holder records and gc.pid", () => {
    expect(parsePidRecord("pid 4242\n")).toBe(4242);
    expect(parsePidRecord("garbage")).toBeUndefined();
    expect(parseGcPid("123 myhost")).toEqual({ pid: 123, host: "myhost" });
    expect(parseGcPid("")).toBeUndefined();
    expect(pidRecordPathFor("/g/refs/heads/a.lock")).toBe("/g/refs/heads/a~pid.lock");
    expect(isPidRecordName("index~pid.lock")).toBe(true);
    expect(isPidRecordName("index.lock")).toBe(false);
  });
});
