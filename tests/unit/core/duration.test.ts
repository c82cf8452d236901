import { describe, expect, test } from "bun:test";
import { formatDuration, parseDuration } from "../../../lib/core/duration";
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
