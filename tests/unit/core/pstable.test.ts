import { describe, expect, test } from "bun:test";
import { closeSync, openSync, writeFileSync } from "node:fs";
import { ProcfsSnapshot, procfsStat } from "../../../lib/core/procfs";
import { parseLstart, psStat, PsSnapshot } from "../../../lib/core/pstable";
import { tempDir } from "../_helpers";

/** Spawn `sleep 5` in `cwd` and wait until it has exec'ed. */
function sleeper(cwd: string) {
  const c = Bun.spawn(["sleep", "5"], { cwd });
  const t0 = Date.now();
  while (new ProcfsSnapshot().comm(c.pid) !== "sleep" && Date.now() - t0 < 2000) Bun.sleepSync(2);
  return c;
}

describe("the portable process table (ps and lsof) agrees with /proc", () => {
  test("lstart is read as local epoch seconds", () => {
    const d = new Date(2026, 10, 23, 13, 22, 4);
    expect(parseLstart(["Mon", "Nov", "23", "13:22:04", "2026"])).toBe(d.getTime() / 1000);
    expect(parseLstart(["Mon", "Nix", "23", "13:22:04", "2026"])).toBeUndefined();
  });

  test("a live child: comm, parent, group, state, start, cwd, executable and argv", async () => {
    const dir = tempDir("hs-pstable-");
    const c = sleeper(dir);
    try {
      const ps = new PsSnapshot();
      const fs = new ProcfsSnapshot();
      expect(ps.pids()).toContain(c.pid);
      expect(ps.comm(c.pid)).toBe("sleep");
      expect(ps.ppid(c.pid)).toBe(process.pid);
      expect(ps.children(process.pid)).toContain(c.pid);
      expect(ps.ancestors(c.pid)[0]).toBe(process.pid);
      expect(ps.cwd(c.pid)).toBe(dir);
      expect(ps.exe(c.pid)).toBe(fs.exe(c.pid));
      expect(ps.exeId(c.pid)).toBe(fs.exeId(c.pid));
      expect(ps.cmdline(c.pid)).toEqual(["sleep", "5"]);
      expect(ps.uid(c.pid)).toBe(fs.uid(c.pid));
      // ps prints whole seconds: the same start as /proc's, truncated.
      expect(Math.abs(ps.startEpochMs(c.pid)! - fs.startEpochMs(c.pid)!)).toBeLessThan(2000);
      const st = psStat(c.pid)!;
      expect(st.state).toBe("S");
      expect(st.pgrp).toBe(procfsStat(c.pid)!.pgrp);
      expect(st.ppid).toBe(process.pid);
      expect(psStat(c.pid)!.startTime).toBe(ps.startTime(c.pid)!);
    } finally {
      c.kill(9);
      await c.exited;
    }
    expect(psStat(c.pid)).toBeUndefined();
    expect(new PsSnapshot().cwdError(c.pid)).toBe("ESRCH");
  });

  test("open files are found by lsof, and the environment is not readable", () => {
    const dir = tempDir("hs-pstable-");
    writeFileSync(`${dir}/held`, "");
    const fd = openSync(`${dir}/held`, "r");
    try {
      expect(new PsSnapshot().fdTargets(process.pid)).toContain(`${dir}/held`);
      expect(new PsSnapshot().envVar(process.pid, "PATH")).toBeUndefined();
    } finally {
      closeSync(fd);
    }
    expect(new PsSnapshot().fdTargets(process.pid)).not.toContain(`${dir}/held`);
  });
});
