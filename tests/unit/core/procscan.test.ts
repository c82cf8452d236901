import { describe, expect, test } from "bun:test";
import { fileHolders, isInside, livenessVisibility, mountFsType, ProcSnapshot, processesWorkingIn } from "../../../lib/core/procscan";
import { hasExited, processStartTime } from "../../../lib/core/liveness";

describe("ProcSnapshot and the /proc scans", () => {
  const { mkdtempSync, openSync, closeSync, realpathSync, writeFileSync } = require("node:fs") as typeof import("node:fs");
  const { tmpdir } = require("node:os") as typeof import("node:os");
  const dir = realpathSync(mkdtempSync(`${tmpdir()}/proc-test-`));
  /** Spawn `sleep 5` and wait until it has exec'ed (its comm is `sleep`). */
  const sleeper = (opts: { cwd: string; env?: Record<string, string | undefined> }) => {
    const c = Bun.spawn(["sleep", "5"], opts);
    const t0 = Date.now();
    while (new ProcSnapshot().comm(c.pid) !== "sleep" && Date.now() - t0 < 2000) Bun.sleepSync(2);
    return c;
  };

  test("reads comm, ppid, argv, cwd and environment of a live child, each once", async () => {
    const child = sleeper({ cwd: dir, env: { ...process.env, HS_PROBE: "yes" } });
    try {
      const snap = new ProcSnapshot();
      expect(snap.pids()).toContain(child.pid);
      expect(snap.comm(child.pid)).toBe("sleep");
      expect(snap.ppid(child.pid)).toBe(process.pid);
      expect(snap.cmdline(child.pid)).toEqual(["sleep", "5"]);
      expect(snap.cwd(child.pid)).toBe(dir);
      expect(snap.envVar(child.pid, "HS_PROBE")).toBe("yes");
      expect(snap.ancestors(child.pid)[0]).toBe(process.pid);
      expect(snap.startTime(child.pid)).toBe(processStartTime(child.pid));
      expect(Math.abs(snap.startEpochMs(child.pid)! - Date.now())).toBeLessThan(1500);
    } finally {
      child.kill(9);
      await child.exited;
    }
  });

  test("fileHolders finds the process holding a file open, and not once it is closed", () => {
    const f = `${dir}/held.lock`;
    writeFileSync(f, "");
    const fd = openSync(f, "r");
    try {
      const h = fileHolders([f]);
      expect(h.map((x) => x.pid)).toContain(process.pid);
      expect(h.find((x) => x.pid === process.pid)?.path).toBe(f);
      expect(fileHolders([f], { exclude: new Set([process.pid]) }).some((x) => x.pid === process.pid)).toBe(false);
      expect(fileHolders([dir], { under: true }).some((x) => x.pid === process.pid && x.path === dir)).toBe(true);
    } finally {
      closeSync(fd);
    }
    expect(fileHolders([f]).some((x) => x.pid === process.pid)).toBe(false);
  });

  test("processesWorkingIn matches by cwd or by an environment variable, for candidates only", async () => {
    const a = sleeper({ cwd: dir });
    const b = sleeper({ cwd: "/", env: { ...process.env, GIT_DIR: `${dir}/x/../.git` } });
    try {
      const found = processesWorkingIn([dir], { isCandidate: (c) => c === "sleep", envName: "GIT_DIR" });
      expect(found.find((p) => p.pid === a.pid)?.via).toBe("cwd");
      expect(found.find((p) => p.pid === b.pid)?.via).toBe("env");
      const byArgv = processesWorkingIn([dir], { isCandidate: (c) => c === "sleep", argvPaths: () => [`${dir}/sub`] });
      expect(byArgv.find((p) => p.pid === b.pid)?.via).toBe("argv");
      expect(processesWorkingIn([dir], { isCandidate: (c) => c === "git" }).some((p) => p.pid === a.pid)).toBe(false);
    } finally {
      a.kill(9);
      b.kill(9);
      await Promise.all([a.exited, b.exited]);
    }
  });

  test("hasExited sees a zombie child before it is reaped, and a live one as running", async () => {
    const c = Bun.spawn(["sleep", "5"]);
    expect(hasExited(c.pid)).toBe(false);
    c.kill(9);
    const t0 = Date.now();
    while (!hasExited(c.pid) && Date.now() - t0 < 2000) Bun.sleepSync(5);
    expect(hasExited(c.pid)).toBe(true);
    await c.exited;
  });

  test("liveness is visible on a local file system, not without /proc or in another pid namespace", () => {
    expect(livenessVisibility(dir)).toEqual({ visible: true });
    expect(livenessVisibility(dir, `${dir}/no-proc`)).toEqual({ visible: false, reason: "no /proc" });
    // A /proc whose `self` is not this process: another pid namespace.
    const { mkdirSync, symlinkSync } = require("node:fs") as typeof import("node:fs");
    mkdirSync(`${dir}/fakeproc`);
    symlinkSync("1", `${dir}/fakeproc/self`);
    expect(livenessVisibility(dir, `${dir}/fakeproc`)).toEqual({ visible: false, reason: "another pid namespace" });
    expect(mountFsType("/proc/self")).toBe("proc");
    expect(isInside("/a/b", "/a")).toBe(true);
    expect(isInside("/ab", "/a")).toBe(false);
  });
});

describe("ProcSnapshot: executable and children", () => {
  test("exe is the file behind any symlink; exeId its dev:ino; children lists direct children only", async () => {
    const { mkdtempSync, realpathSync, statSync, symlinkSync } = await import("node:fs");
    const dir = realpathSync(mkdtempSync(`${require("node:os").tmpdir()}/proc-exe-`));
    const sleep = realpathSync(Bun.which("sleep")!);
    symlinkSync(sleep, `${dir}/nap`);
    const c = Bun.spawn(["sh", "-c", `"${dir}/nap" 30 & wait`], { stdin: "ignore" });
    let kid: number | undefined;
    try {
      const t0 = Date.now();
      while (Date.now() - t0 < 2000) {
        kid = new ProcSnapshot().children(c.pid)[0];
        if (kid !== undefined && new ProcSnapshot().exe(kid) === sleep) break;
        Bun.sleepSync(2);
      }
      const snap = new ProcSnapshot();
      expect(snap.children(c.pid)).toEqual([kid!]);
      expect(snap.children(process.pid)).toContain(c.pid);
      expect(snap.comm(kid!)).toBe("nap");
      expect(snap.exe(kid!)).toBe(sleep);
      const st = statSync(sleep);
      expect(snap.exeId(kid!)).toBe(`${st.dev}:${st.ino}`);
      expect(snap.exe(999_999_999)).toBeUndefined();
    } finally {
      if (kid !== undefined) process.kill(kid, "SIGKILL");
      c.kill("SIGKILL");
      await c.exited;
    }
  });
});
