import { describe, expect, test } from "bun:test";
import { mkdirSync, realpathSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { ProcSnapshot } from "../../../lib/core/procscan";
import { gitBinaries, gitProcessesWorkingOn, gitWorksOn, isGitProcess, lazyBinaries, type GitBinaries } from "../../../lib/git/gitproc";
import { discoverRepo } from "../../../lib/git/repo";
import { git, gitEnv, makeRepo } from "./helpers";

const GIT = realpathSync(Bun.which("git")!);

/** A /proc-shaped directory: each process gets what proc(5) would show (links for cwd/exe, NUL-separated files). */
interface FakeProc {
  comm?: string;
  exe?: string;
  cwd?: string;
  env?: Record<string, string>;
  argv?: string[];
  ppid?: number;
  children?: number[];
}
function fakeProc(root: string, procs: Record<number, FakeProc>): ProcSnapshot {
  for (const [pid, p] of Object.entries(procs)) {
    const d = `${root}/${pid}`;
    mkdirSync(`${d}/task/${pid}`, { recursive: true });
    if (p.comm) writeFileSync(`${d}/comm`, `${p.comm}\n`);
    writeFileSync(`${d}/stat`, `${pid} (${p.comm ?? "?"}) S ${p.ppid ?? 1} 0 0 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 100 0 0`);
    if (p.exe) symlinkSync(p.exe, `${d}/exe`);
    if (p.cwd === "hidden") writeFileSync(`${d}/cwd`, ""); // readlink fails, but not with ENOENT: like EACCES
    else if (p.cwd) symlinkSync(p.cwd, `${d}/cwd`);
    if (p.env) writeFileSync(`${d}/environ`, Object.entries(p.env).map(([k, v]) => `${k}=${v}\0`).join(""));
    if (p.argv) writeFileSync(`${d}/cmdline`, p.argv.map((a) => `${a}\0`).join(""));
    writeFileSync(`${d}/task/${pid}/children`, (p.children ?? []).map((c) => `${c} `).join(""));
  }
  return new ProcSnapshot(root);
}

const noBins = (): GitBinaries => ({ dirs: new Set(), ids: new Set() });

describe("git is recognised by its executable", () => {
  test("gitBinaries knows the git on PATH and its exec path", () => {
    const b = gitBinaries({ PATH: "/usr/bin:/bin" });
    const st = statSync(GIT);
    expect(b.ids.has(`${st.dev}:${st.ino}`)).toBe(true);
    const execPath = git("/", "--exec-path");
    expect(b.dirs.has(realpathSync(execPath))).toBe(true);
  });

  test("by the file behind /proc/PID/exe, whatever comm says; by exec-path dir or inode; comm only as a fallback", () => {
    const { dir } = makeRepo();
    const snap = fakeProc(`${dir}/proc`, {
      10: { comm: "vcs", exe: GIT },
      11: { comm: "remote-https", exe: "/usr/lib/git-core/git-remote-https" },
      12: { comm: "helper", exe: `${dir}/libexec/helper` },
      13: { comm: "copy", exe: `${dir}/copy` },
      14: { comm: "sleep", exe: "/usr/bin/sleep" },
      15: { comm: "git-lock", exe: `${dir}/dist/git-lock` },
      16: { comm: "git" }, // exe unreadable
    });
    writeFileSync(`${dir}/copy`, "x");
    const bins = () => ({ dirs: new Set([`${dir}/libexec`]), ids: new Set([`${statSync(`${dir}/copy`).dev}:${statSync(`${dir}/copy`).ino}`]) });
    expect([10, 11, 12, 13, 14, 15, 16].map((p) => isGitProcess(snap, p, bins))).toEqual([true, true, true, true, false, false, true]);
    expect(isGitProcess(snap, 13, noBins)).toBe(false);
  });
});

describe("the repository a git process works on, for every layout", () => {
  function layouts() {
    const { dir, repo, gitDir } = makeRepo();
    git(dir, "init", "-q", "--separate-git-dir", `${dir}/gd`, `${dir}/sep`);
    git(dir, "init", "-q", "-b", "main", "src");
    git(`${dir}/src`, "commit", "-q", "--allow-empty", "-m", "x");
    git(repo, "-c", "protocol.file.allow=always", "submodule", "add", "-q", `${dir}/src`, "sm");
    git(repo, "worktree", "add", "-q", "-b", "side", `${dir}/wt`);
    writeFileSync(`${gitDir}/worktrees/wt/gitdir`, "../../../../wt/.git\n");
    writeFileSync(`${dir}/wt/.git`, "gitdir: ../r/.git/worktrees/wt\n");
    mkdirSync(`${dir}/sep/sub`);
    return { dir, repo, gitDir };
  }

  test("cwd, GIT_DIR (relative to cwd or PWD), argv and the children's GIT_DIR all map to the common dir", () => {
    const { dir, repo, gitDir } = layouts();
    const snap = fakeProc(`${dir}/proc`, {
      20: { comm: "git", exe: GIT, cwd: `${dir}/sep/sub`, env: {} },
      21: { comm: "git", exe: GIT, cwd: "/", env: { PWD: dir, GIT_DIR: "gd" } },
      22: { comm: "git", exe: GIT, cwd: "/", env: {}, argv: ["git", "--git-dir", `${dir}/gd`, "fetch"] },
      23: { comm: "git", exe: GIT, cwd: "/", env: {}, children: [24] },
      24: { comm: "sh", exe: "/bin/sh", cwd: `${dir}/plain`, env: { GIT_DIR: `${dir}/gd` }, ppid: 23 },
      25: { comm: "git", exe: GIT, cwd: `${dir}/src`, env: {} },
      26: { comm: "git", exe: GIT, cwd: "hidden" },
      27: { comm: "git", exe: GIT, cwd: `${repo}/sm`, env: {} },
      28: { comm: "git", exe: GIT, cwd: `${dir}/wt`, env: {} },
      29: { comm: "git", exe: GIT }, // a zombie: no cwd, no exe
    });
    mkdirSync(`${dir}/plain`);
    const sep = discoverRepo({ repo: `${dir}/gd`, env: {} });
    const ans = (pid: number, r = sep) => gitWorksOn(snap, pid, r).answer;
    expect([20, 21, 22, 23, 25, 26, 29].map((p) => ans(p))).toEqual(["yes", "yes", "yes", "yes", "no", "unknown", "no"]);
    expect(gitWorksOn(snap, 23, sep).via).toBe("child 24 GIT_DIR");
    // Submodule (core.worktree) and linked worktree with relative gitdir files.
    expect(ans(27, discoverRepo({ repo: `${gitDir}/modules/sm`, env: {} }))).toBe("yes");
    expect(ans(27, discoverRepo({ repo, env: {} }))).toBe("no");
    expect(ans(28, discoverRepo({ repo: gitDir, env: {} }))).toBe("yes");
    expect(ans(28, discoverRepo({ repo: `${dir}/wt`, env: {} }))).toBe("yes");
  });

  test("a git whose cwd is hidden counts only as an ancestor or as the same user; excluded pids never", () => {
    const { dir } = layouts();
    const snap = fakeProc(`${dir}/proc`, {
      30: { comm: "git", exe: GIT, cwd: "hidden" },
      31: { comm: "git", exe: GIT, cwd: `${dir}/sep`, env: {} },
      32: { comm: "git", exe: GIT, cwd: `${dir}/src`, env: {} },
    });
    const sep = discoverRepo({ repo: `${dir}/gd`, env: {} });
    const found = (o: { ancestors?: number[]; uid?: number; exclude?: number[] }) =>
      gitProcessesWorkingOn(sep, { snapshot: snap, exclude: new Set(o.exclude ?? []), ancestors: new Set(o.ancestors ?? []), uid: o.uid ?? 12345, bins: lazyBinaries({}) }).map((g) => g.pid);
    expect(found({})).toEqual([31]);
    expect(found({ ancestors: [30] }).sort()).toEqual([30, 31]);
    expect(found({ uid: statSync(`${dir}/proc/30`).uid }).sort()).toEqual([30, 31]);
    expect(found({ exclude: [31] })).toEqual([]);
  });

  test("a real git started through a symlink named otherwise, in a separate-git-dir work tree, is found", async () => {
    const { dir } = layouts();
    mkdirSync(`${dir}/bin`);
    symlinkSync(GIT, `${dir}/bin/vcs`);
    const g = Bun.spawn([`${dir}/bin/vcs`, "cat-file", "--batch"], { cwd: `${dir}/sep`, env: gitEnv, stdin: "pipe" });
    try {
      const t0 = Date.now();
      while (new ProcSnapshot().exe(g.pid) !== GIT && Date.now() - t0 < 2000) Bun.sleepSync(2);
      const snap = new ProcSnapshot();
      expect(snap.comm(g.pid)).toBe("vcs");
      const sep = discoverRepo({ repo: `${dir}/gd`, env: {} });
      const found = gitProcessesWorkingOn(sep, { snapshot: snap, exclude: new Set([process.pid]), ancestors: new Set() });
      expect(found.find((f) => f.pid === g.pid)).toMatchObject({ comm: "vcs", via: "cwd" });
    } finally {
      g.kill();
      await g.exited;
    }
  });
});
