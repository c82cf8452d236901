import { describe, expect, test } from "bun:test";
import { join } from "node:path";
import { hardDeadlineAvailable } from "../../../lib/sqlite/interrupt";

// The hard stop ends the process, so it is exercised in a child bun process, never in the test runner.
const MODULE = join(import.meta.dir, "../../../lib/sqlite/interrupt.ts");
const SIGNALS = join(import.meta.dir, "../../../lib/core/signals.ts");
const FOREVER = "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x+1 FROM c) SELECT count(*) FROM c";

function child(code: string) {
  return Bun.spawnSync([process.execPath, "-e", code], { stdout: "pipe", stderr: "pipe", timeout: 20_000 });
}

describe.if(process.platform === "linux")("armStatement", () => {
  test("the libc timers can be set up here", () => {
    expect(hardDeadlineAvailable()).toBe(true);
  });
  test("a statement that runs forever is ended at the deadline with the exit code and the message (a '%' printed as is)", () => {
    const r = child(`
      const { armStatement } = await import(${JSON.stringify(MODULE)});
      const { Database } = await import("bun:sqlite");
      armStatement({ stopAt: performance.now() + 200, exitCode: 75, message: () => "deadline 100%s% gone" });
      new Database(":memory:").query(${JSON.stringify(FOREVER)}).all();
    `);
    expect(r.exitCode).toBe(75);
    expect(r.stderr.toString()).toEndWith(": deadline 100%s% gone\n");
  });
  test("disarmed in time: the process goes on and nothing is printed", () => {
    const r = child(`
      const { armStatement } = await import(${JSON.stringify(MODULE)});
      const disarm = armStatement({ stopAt: performance.now() + 300, exitCode: 75, message: () => "too late" });
      const printed = disarm();
      await Bun.sleep(500);
      console.log("alive", printed);
    `);
    expect(r.exitCode).toBe(0);
    expect(r.stdout.toString()).toBe("alive false\n");
    expect(r.stderr.toString()).toBe("");
  });

  test("while armed a signal takes its default action (killed by it); disarmed, the JS handler runs", () => {
    const script = (armed: boolean) => `
      const { installSignalHandlers } = await import(${JSON.stringify(SIGNALS)});
      const { armStatement } = await import(${JSON.stringify(MODULE)});
      installSignalHandlers((_sig, code) => process.exit(code));
      const disarm = armStatement({});
      if (${!armed}) disarm();
      process.kill(process.pid, "SIGTERM");
      const t = performance.now();
      while (performance.now() - t < 1000) {} // blocked like a running statement
      await new Promise((r) => setImmediate(r));
      await Bun.sleep(100);
      console.log("not stopped");
    `;
    const armed = child(script(true));
    expect(armed.signalCode).toBe("SIGTERM");
    const disarmed = child(script(false));
    expect(disarmed.exitCode).toBe(143);
    expect(disarmed.stdout.toString()).toBe("");
  });
});
