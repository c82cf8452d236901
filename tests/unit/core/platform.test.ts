import { afterEach, describe, expect, test } from "bun:test";
import { _resetPlatformForTests, processBackend } from "../../../lib/core/platform";
import { clockTag, hasExited, jobLiveness, pidLiveness, procStat, processStartTime, startClock } from "../../../lib/core/liveness";
import { PsSnapshot } from "../../../lib/core/pstable";
import { processSnapshot } from "../../../lib/core/procscan";
import { deadPid } from "../_helpers";

const saved = process.env.HARDSHELL_PLATFORM;
afterEach(() => {
  if (saved === undefined) delete process.env.HARDSHELL_PLATFORM;
  else process.env.HARDSHELL_PLATFORM = saved;
  _resetPlatformForTests();
});

function portable(): void {
  process.env.HARDSHELL_PLATFORM = "portable";
  _resetPlatformForTests();
}

describe("platform selection", () => {
  test("Linux reads /proc; HARDSHELL_PLATFORM=portable forces ps and lsof", () => {
    delete process.env.HARDSHELL_PLATFORM;
    _resetPlatformForTests();
    expect(processBackend()).toBe(process.platform === "linux" ? "procfs" : "portable");
    portable();
    expect(processBackend()).toBe("portable");
    expect(startClock()).toBe("ps");
    expect(clockTag()).toEqual({ clock: "ps" });
    expect(processSnapshot()).toBeInstanceOf(PsSnapshot);
  });

  test("portable liveness: running, dead, recycled pid, exited zombie, job", async () => {
    portable();
    const me = processStartTime(process.pid)!;
    expect(pidLiveness(process.pid, { startTime: me, clock: "ps" })).toBe("running");
    expect(pidLiveness(process.pid, { startTime: me + 5, clock: "ps" })).toBe("dead");
    // A /proc tick count is another clock: not compared, the live pid decides.
    expect(pidLiveness(process.pid, { startTime: 12345 })).toBe("running");
    expect(pidLiveness(deadPid())).toBe("dead");
    const c = Bun.spawn(["sleep", "5"]);
    const st = procStat(c.pid)!;
    expect(jobLiveness({ pid: c.pid, startTime: st.startTime, clock: "ps" })).toBe("running");
    expect(jobLiveness({ pid: c.pid, startTime: st.startTime + 5, clock: "ps" })).toBe("dead");
    expect(hasExited(c.pid)).toBe(false);
    c.kill(9);
    const t0 = Date.now();
    while (!hasExited(c.pid) && Date.now() - t0 < 3000) Bun.sleepSync(5);
    expect(hasExited(c.pid)).toBe(true);
    await c.exited;
  });
});
