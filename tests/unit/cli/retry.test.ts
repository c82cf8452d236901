import { describe, expect, test } from "bun:test";
import { policyFromArgs, retryBudgetOptions, RETRY_GROUP } from "../../../lib/cli/retry";
import { DEFAULT_BACKOFF_BASE_MS, DEFAULT_BACKOFF_MAX_MS, DEFAULT_DEADLINE_MS, DEFAULT_RETRIES } from "../../../lib/core/backoff";
import { UsageError } from "../../../lib/core/errors";
import { EXIT } from "../../../lib/core/exit";

describe("retryBudgetOptions", () => {
  test("declares the four options of the group with the shared defaults", () => {
    const t = retryBudgetOptions();
    expect(Object.keys(t).sort()).toEqual(["backoff-base", "backoff-max", "deadline", "retries"]);
    for (const spec of Object.values(t)) expect(spec.group).toBe(RETRY_GROUP);
    expect(t.retries!.default).toBe(DEFAULT_RETRIES);
    // The defaults shown in --help parse back to the numbers the policy uses.
    expect(policyFromArgs({ retries: t.retries!.default, "backoff-base": t["backoff-base"]!.default, "backoff-max": t["backoff-max"]!.default, deadline: t.deadline!.default })).toEqual({
      retries: DEFAULT_RETRIES,
      baseMs: DEFAULT_BACKOFF_BASE_MS,
      maxMs: DEFAULT_BACKOFF_MAX_MS,
      deadlineMs: DEFAULT_DEADLINE_MS,
    });
  });

  test("a command's own defaults replace the shared ones", () => {
    const t = retryBudgetOptions({ retries: 3, deadlineMs: 5_000 });
    expect(t.retries!.default).toBe(3);
    expect(policyFromArgs({ retries: 3, deadline: t.deadline!.default }).deadlineMs).toBe(5_000);
  });
});

describe("policyFromArgs", () => {
  test("absent options fall back to the shared defaults", () => {
    expect(policyFromArgs({})).toEqual({ retries: DEFAULT_RETRIES, baseMs: DEFAULT_BACKOFF_BASE_MS, maxMs: DEFAULT_BACKOFF_MAX_MS, deadlineMs: DEFAULT_DEADLINE_MS });
  });

  test("durations are parsed with their units", () => {
    expect(policyFromArgs({ retries: "0", "backoff-base": "250ms", "backoff-max": "2s", deadline: "1m" })).toEqual({ retries: 0, baseMs: 250, maxMs: 2_000, deadlineMs: 60_000 });
  });

  for (const bad of ["-1", "1.5", "many", ""]) {
    test(`--retries ${JSON.stringify(bad)} is a usage error`, () => {
      let err: unknown;
      try {
        policyFromArgs({ retries: bad });
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(UsageError);
      expect((err as UsageError).exitCode).toBe(EXIT.USAGE);
    });
  }

  test("a bad duration is a usage error naming its option", () => {
    expect(() => policyFromArgs({ deadline: "soon" })).toThrow(/deadline/);
    expect(() => policyFromArgs({ "backoff-max": "-5s" })).toThrow(UsageError);
  });
});
