/** Real git repositories for the lib/git unit tests (no mocks: git itself builds them). */
import { mkdtempSync, realpathSync } from "node:fs";
import { tmpdir } from "node:os";

export const gitEnv = {
  ...process.env,
  GIT_CONFIG_NOSYSTEM: "1",
  HOME: tmpdir(),
  GIT_AUTHOR_NAME: "t",
  GIT_AUTHOR_EMAIL: "t@example.invalid",
  GIT_COMMITTER_NAME: "t",
  GIT_COMMITTER_EMAIL: "t@example.invalid",
  GIT_DIR: undefined,
  GIT_WORK_TREE: undefined,
};

export function git(cwd: string, ...args: string[]): string {
  const r = Bun.spawnSync(["git", ...args], { cwd, env: gitEnv, stderr: "pipe" });
  if (r.exitCode !== 0) throw new Error(`git ${args.join(" ")}: ${r.stderr.toString()}`);
  return r.stdout.toString().trim();
}

/** A fresh temp dir (real path) holding a repository `r` with one commit. */
export function makeRepo(): { dir: string; repo: string; gitDir: string } {
  const dir = realpathSync(mkdtempSync(`${tmpdir()}/git-lock-unit-`));
  git(dir, "init", "-q", "-b", "main", "r");
  git(`${dir}/r`, "commit", "-q", "--allow-empty", "-m", "init");
  return { dir, repo: `${dir}/r`, gitDir: `${dir}/r/.git` };
}

/** Create a file aged by `ageMs`. */
export function aged(path: string, ageMs: number, content = ""): void {
  const { writeFileSync, utimesSync } = require("node:fs") as typeof import("node:fs");
  writeFileSync(path, content);
  const t = new Date(Date.now() - ageMs);
  utimesSync(path, t, t);
}
