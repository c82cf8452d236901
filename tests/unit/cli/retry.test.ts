import { describe, expect, test } from "bun:test";
import { policyFromArgs, RETRY_BUDGET_OPTIONS, RETRY_GROUP } from "../../../lib/cli/retry";
import { defineCommand, parseArgs } from "../../../lib/cli/options";
import { DEFAULT_BACKOFF_BASE_MS, DEFAULT_BACKOFF_MAX_MS, DEFAULT_DEADLINE_MS, DEFAULT_RETRIES } from "../../../lib/core/backoff";
import { UsageError } from "../../../lib/core/errors";
import { EXIT } from "../../../lib/core/exit";
import { thrownBy } from "../_helpers";

const table = defineCommand({ command: "demo", usage: [], description: "", examples: [], options: { ...RETRY_BUDGET_OPTIONS } });
const policy = (argv: string[]) => policyFromArgs(parseArgs(table, argv).opts);

const usageError = (argv: string[]): UsageError => thrownBy(UsageError, () => policy(argv));

describe("RETRY_BUDGET_OPTIONS", () => {
  test("declares the four options of the group", () => {
    expect(Object.keys(RETRY_BUDGET_OPTIONS).sort()).toEqual(["backoff-base", "backoff-max", "deadline", "retries"]);
    for (const spec of Object.values(RETRY_BUDGET_OPTIONS)) expect(spec.group).toBe(RETRY_GROUP);
  });
  test("the defaults shown in --help parse back to the numbers the policy uses", () => {
    expect(policy([])).toEqual({ retries: DEFAULT_RETRIES, baseMs: DEFAULT_BACKOFF_BASE_MS, maxMs: DEFAULT_BACKOFF_MAX_MS, deadlineMs: DEFAULT_DEADLINE_MS });
  });
});

describe("policyFromArgs", () => {
  test("durations are parsed with their units", () => {
    expect(policy(["--retries", "0", "--backoff-base", "250ms", "--backoff-max", "2s", "--deadline", "1m"])).toEqual({ retries: 0, baseMs: 250, maxMs: 2_000, deadlineMs: 60_000 });
  });
  for (const bad of ["-1", "1.5", "many", ""]) {
    test(`--retries ${JSON.stringify(bad)} is a usage error`, () => {
      const e = usageError([`--retries=${bad}`]);
      expect(e.exitCode).toBe(EXIT.USAGE);
    });
  }
  test("a bad duration is a usage error naming its option, in the one bad-value wording", () => {
    expect(usageError(["--deadline", "soon"]).message).toBe('bad value for --deadline: "soon" (a duration such as 250ms, 10s, 5m)');
    expect(usageError(["--backoff-max", "-5s"]).message).toBe('bad value for --backoff-max: "-5s" (a duration such as 250ms, 10s, 5m)');
    expect(usageError(["--retries", "many"]).message).toBe('bad value for --retries: "many" (a whole number >= 0)');
  });
});
