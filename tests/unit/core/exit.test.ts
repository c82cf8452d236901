import { describe, expect, test } from "bun:test";
import { spawnSync } from "bun";
import { EXIT, SIGNALS, exitCodeForSignal } from "../../../lib/core/exit";

describe("EXIT", () => {
  test("codes are the sysexits.h values scripts branch on", () => {
    // /usr/include/sysexits.h: EX_USAGE 64 ... EX_NOPERM 77; 1 is "the answer is no", never an error.
    expect(EXIT).toEqual({
      OK: 0,
      NO: 1,
      USAGE: 64,
      DATAERR: 65,
      NOINPUT: 66,
      UNAVAILABLE: 69,
      SOFTWARE: 70,
      CANTCREAT: 73,
      IOERR: 74,
      TEMPFAIL: 75,
      NOPERM: 77,
    });
  });

  test("no two meanings share a code", () => {
    const codes = Object.values(EXIT);
    expect(new Set(codes).size).toBe(codes.length);
  });
});

describe("exitCodeForSignal", () => {
  test("is 128+N for each handled signal", () => {
    expect(exitCodeForSignal("SIGHUP")).toBe(129);
    expect(exitCodeForSignal("SIGINT")).toBe(130);
    expect(exitCodeForSignal("SIGTERM")).toBe(143);
  });

  test("matches what a shell reports for a process killed by that signal", () => {
    for (const sig of Object.keys(SIGNALS) as (keyof typeof SIGNALS)[]) {
      const r = spawnSync(["bash", "-c", `sh -c 'kill -${sig.slice(3)} $$'; echo $?`]);
      expect(Number(r.stdout.toString().trim())).toBe(exitCodeForSignal(sig));
    }
  });
});
