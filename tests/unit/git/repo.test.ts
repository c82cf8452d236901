import { describe, expect, test } from "bun:test";
import { mkdirSync, writeFileSync } from "node:fs";
import { NoInputError } from "../../../lib/core/errors";
import { discoverRepo, looksLikeGitDir, readGitFile } from "../../../lib/git/repo";
import { git, makeRepo } from "./helpers";

describe("discoverRepo", () => {
  test("walks up from a subdirectory like git, and --repo wins over GIT_DIR", () => {
    const { repo, gitDir, dir } = makeRepo();
    mkdirSync(`${repo}/a/b`, { recursive: true });
    const r = discoverRepo({ cwd: `${repo}/a/b`, env: {} });
    expect(r).toMatchObject({ gitDir, commonDir: gitDir, workTree: repo, bare: false });
    expect(r.workTrees).toEqual([repo]);
    expect(discoverRepo({ repo: "r/a", cwd: dir, env: { GIT_DIR: "/nowhere" } }).gitDir).toBe(gitDir);
  });

  test("GIT_DIR names the git dir directly, relative to the cwd", () => {
    const { dir, gitDir } = makeRepo();
    expect(discoverRepo({ cwd: dir, env: { GIT_DIR: "r/.git" } }).gitDir).toBe(gitDir);
  });

  test("a linked worktree has its own git dir and shares the common dir", () => {
    const { dir, repo, gitDir } = makeRepo();
    git(repo, "worktree", "add", "-q", `${dir}/wt`, "-b", "side");
    const r = discoverRepo({ cwd: `${dir}/wt`, env: {} });
    expect(r.gitDir).toBe(`${gitDir}/worktrees/wt`);
    expect(r.commonDir).toBe(gitDir);
    expect(r.workTree).toBe(`${dir}/wt`);
    expect(r.workTrees.sort()).toEqual([repo, `${dir}/wt`].sort());
    expect(discoverRepo({ cwd: repo, env: {} }).worktreeGitDirs).toEqual([`${gitDir}/worktrees/wt`]);
  });

  test("a bare repository is found from inside it, and so is a .git dir run from within", () => {
    const { dir, gitDir } = makeRepo();
    git(dir, "init", "-q", "--bare", "b.git");
    const b = discoverRepo({ repo: "b.git", cwd: dir, env: {} });
    expect(b).toMatchObject({ gitDir: `${dir}/b.git`, bare: true, workTrees: [] });
    expect(discoverRepo({ cwd: `${gitDir}/refs`, env: {} })).toMatchObject({ gitDir, bare: false });
  });

  test("a .git file (submodule, separate git dir) is followed", () => {
    const { dir, gitDir } = makeRepo();
    mkdirSync(`${dir}/sep`);
    writeFileSync(`${dir}/sep/.git`, "gitdir: ../r/.git\n");
    expect(readGitFile(`${dir}/sep/.git`)).toBe(gitDir);
    expect(discoverRepo({ cwd: `${dir}/sep`, env: {} }).gitDir).toBe(gitDir);
  });

  test("not a repository is NoInputError (66)", () => {
    const { dir } = makeRepo();
    mkdirSync(`${dir}/plain`);
    expect(() => discoverRepo({ cwd: `${dir}/plain`, env: { GIT_CEILING_DIRECTORIES: dir } })).toThrow(NoInputError);
    expect(() => discoverRepo({ repo: `${dir}/missing`, env: {} })).toThrow(NoInputError);
    expect(() => discoverRepo({ cwd: dir, env: { GIT_DIR: `${dir}/plain` } })).toThrow(NoInputError);
    expect(looksLikeGitDir(`${dir}/plain`)).toBe(false);
  });
});
