import { describe, expect, test } from "bun:test";
import { pidLiveness, processStartTime, thisHost } from "../../../lib/core/liveness";

describe("pidLiveness", () => {
  test("this process is running, and so is it pinned to its own start time", () => {
    expect(pidLiveness(process.pid)).toBe("running");
    expect(pidLiveness(process.pid, { startTime: processStartTime(process.pid) })).toBe("running");
  });
  test("a reaped child is dead", () => {
    const p = Bun.spawnSync(["true"]);
    expect(pidLiveness(p.pid)).toBe("dead");
  });
  test("a pid whose start time differs is a recycled pid: dead", () => {
    const st = processStartTime(process.pid)!;
    expect(pidLiveness(process.pid, { startTime: st + 1 })).toBe("dead");
  });
  test("another host or no pid is unknown, never dead", () => {
    expect(pidLiveness(process.pid, { host: `${thisHost()}-elsewhere` })).toBe("unknown");
    expect(pidLiveness(undefined)).toBe("unknown");
    expect(pidLiveness(0)).toBe("unknown");
  });
});
