import { describe, expect, test } from "bun:test";
import { mkdirSync, writeFileSync } from "node:fs";
import { NoInputError } from "../../../lib/core/errors";
import { configWorkTree, discoverRepo, linkedWorkTree, looksLikeGitDir, readGitFile, repoOfPath } from "../../../lib/git/repo";
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

describe("every layout maps to one common git dir", () => {
  test("separate git dir: work tree, subdirectory, .git file and the git dir itself", () => {
    const { dir } = makeRepo();
    git(dir, "init", "-q", "--separate-git-dir", `${dir}/gd`, `${dir}/sep`);
    mkdirSync(`${dir}/sep/a/b`, { recursive: true });
    for (const p of [`${dir}/sep`, `${dir}/sep/a/b`, `${dir}/sep/.git`, `${dir}/gd`, `${dir}/gd/refs/heads`]) {
      expect(repoOfPath(p)).toMatchObject({ gitDir: `${dir}/gd`, commonDir: `${dir}/gd` });
    }
    expect(discoverRepo({ repo: `${dir}/gd`, env: {} }).commonDir).toBe(`${dir}/gd`);
  });

  test("submodule: its work tree and its git dir under .git/modules map to that git dir; core.worktree is a work tree", () => {
    const { dir, repo, gitDir } = makeRepo();
    git(dir, "init", "-q", "-b", "main", "src");
    git(`${dir}/src`, "commit", "-q", "--allow-empty", "-m", "x");
    git(repo, "-c", "protocol.file.allow=always", "submodule", "add", "-q", `${dir}/src`, "sm");
    const sm = `${gitDir}/modules/sm`;
    expect(repoOfPath(`${repo}/sm`)?.commonDir).toBe(sm);
    expect(repoOfPath(sm)?.commonDir).toBe(sm);
    expect(repoOfPath(repo)?.commonDir).toBe(gitDir);
    expect(configWorkTree(sm)).toBe(`${repo}/sm`);
    // Found through GIT_DIR (as in a hook), the work tree comes from core.worktree.
    const r = discoverRepo({ cwd: dir, env: { GIT_DIR: sm } });
    expect(r).toMatchObject({ gitDir: sm, commonDir: sm });
    expect(r.workTrees).toEqual([`${repo}/sm`]);
  });

  test("linked worktree with relative gitdir files (worktree.useRelativePaths) maps to the main common dir", () => {
    const { dir, repo, gitDir } = makeRepo();
    git(repo, "worktree", "add", "-q", "-b", "side", `${dir}/wt`);
    writeFileSync(`${gitDir}/worktrees/wt/gitdir`, "../../../../wt/.git\n");
    writeFileSync(`${dir}/wt/.git`, "gitdir: ../r/.git/worktrees/wt\n");
    expect(linkedWorkTree(`${gitDir}/worktrees/wt`)).toBe(`${dir}/wt`);
    expect(repoOfPath(`${dir}/wt`)).toEqual({ gitDir: `${gitDir}/worktrees/wt`, commonDir: gitDir, workTree: `${dir}/wt` });
    expect(repoOfPath(`${gitDir}/worktrees/wt`)?.commonDir).toBe(gitDir);
    const r = discoverRepo({ cwd: repo, env: {} });
    expect(r.workTrees.sort()).toEqual([repo, `${dir}/wt`].sort());
    const h = discoverRepo({ cwd: `${dir}/wt`, env: { GIT_DIR: `${gitDir}/worktrees/wt` } });
    expect(h.workTrees.sort()).toEqual([repo, `${dir}/wt`].sort());
  });

  test("core.worktree relative to the git dir, quoted or not, names the work tree", () => {
    const { dir, repo, gitDir } = makeRepo();
    mkdirSync(`${dir}/elsewhere`);
    git(repo, "config", "core.worktree", "../../elsewhere");
    expect(configWorkTree(gitDir)).toBe(`${dir}/elsewhere`);
    writeFileSync(`${gitDir}/config`, `[core]\n\tworktree = "${dir}/elsewhere" ; comment\n`);
    expect(configWorkTree(gitDir)).toBe(`${dir}/elsewhere`);
    expect(discoverRepo({ cwd: dir, env: { GIT_DIR: gitDir } }).workTrees).toContain(`${dir}/elsewhere`);
  });

  test("a path in no repository, or missing, maps to nothing", () => {
    const { dir } = makeRepo();
    mkdirSync(`${dir}/plain`);
    expect(repoOfPath(`${dir}/plain`)?.commonDir).not.toBe(`${dir}/r/.git`);
    expect(repoOfPath(`${dir}/missing`)).toBeUndefined();
    writeFileSync(`${dir}/plain/notgit`, "hello\n");
    expect(repoOfPath(`${dir}/plain/notgit`)).toBeUndefined();
  });
});
