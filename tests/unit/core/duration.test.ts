import { describe, expect, test } from "bun:test";
import { durationMs, formatDuration, parseDuration } from "../../../lib/core/duration";
import { UsageError } from "../../../lib/core/errors";

describe("parseDuration", () => {
  test("accepts the design.md §2.3 forms", () => {
    expect(parseDuration("250ms")).toBe(250);
    expect(parseDuration("1.5s")).toBe(1500);
    expect(parseDuration("10s")).toBe(10_000);
    expect(parseDuration("5m")).toBe(300_000);
    expect(parseDuration("2h")).toBe(7_200_000);
  });
  test("a bare number means seconds, like timeout(1)", () => {
    expect(parseDuration("3")).toBe(3000);
    expect(parseDuration("0.25")).toBe(250);
    expect(parseDuration("0")).toBe(0);
  });
  test("anything else is a usage error quoting the text", () => {
    for (const bad of ["", "abc", "1x", "-1s", "1 s s", "1.2.3", "ms", "1e3"]) {
      let err: unknown;
      try {
        parseDuration(bad, "deadline");
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(UsageError);
      expect((err as UsageError).exitCode).toBe(64);
      expect((err as Error).message).toContain(JSON.stringify(bad));
      expect((err as Error).message).toContain("--deadline");
    }
  });
  test("formatDuration is short and human", () => {
    expect(formatDuration(850)).toBe("850ms");
    expect(formatDuration(1200)).toBe("1.2s");
    expect(formatDuration(185_000)).toBe("3m05s");
  });
});

test("the hand-written parser accepts exactly the grammar NUMBER [ms|s|m|h] (checked against its RegExp)", () => {
  const grammar = /^(\d+(?:\.\d+)?|\.\d+)(ms|s|m|h)?$/;
  const unit: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, "": 1000 };
  const parts = ["", "0", "7", "12", ".5", "1.", "1.5", "1.5.2", "..", ".", "-1", "+1", "1e3", "٣", " ", "x"];
  const units = ["", "ms", "s", "m", "h", "S", "mss", "sm", "hh", " s", "min"];
  for (const p of parts) {
    for (const u of units) {
      for (const text of [`${p}${u}`, ` ${p}${u} `]) {
        const m = grammar.exec(text.trim());
        const want = m ? Math.round(Number(m[1]) * unit[m[2] ?? ""]!) : undefined;
        expect([text, durationMs(text)]).toEqual([text, want]);
      }
    }
  }
});

test("formatDuration drops trailing zeros and a bare point", () => {
  expect([2000, 2500, 1230, 10_000, 12_500, 59_990, 999].map(formatDuration)).toEqual(["2s", "2.5s", "1.23s", "10s", "12.5s", "60s", "999ms"]);
});
