/**
 * The retry-budget option group, defined once for every command that retries
 * (`--retries`, `--backoff-base`, `--backoff-max`, `--deadline`), and its
 * conversion to the shared BackoffPolicy (lib/core/backoff.ts). The option
 * kinds (count, duration) make the parser check and convert the values, so a
 * bad one is exit 64 with the one bad-value wording (lib/cli/options.ts).
 */
import { DEFAULT_BACKOFF_BASE_MS, DEFAULT_BACKOFF_MAX_MS, DEFAULT_DEADLINE_MS, DEFAULT_RETRIES, type BackoffPolicy } from "../core/backoff";
import { formatDuration } from "../core/duration";
import type { OptionTable } from "./options";

export const RETRY_GROUP = "Retry budget:";

/** The option group. */
export const RETRY_BUDGET_OPTIONS = {
  retries: { type: "number", kind: "count", group: RETRY_GROUP, default: DEFAULT_RETRIES, describe: "Retries after the first attempt" },
  "backoff-base": {
    type: "string",
    kind: "duration",
    group: RETRY_GROUP,
    default: formatDuration(DEFAULT_BACKOFF_BASE_MS),
    describe: "First backoff cap; doubles per retry, full jitter",
  },
  "backoff-max": { type: "string", kind: "duration", group: RETRY_GROUP, default: formatDuration(DEFAULT_BACKOFF_MAX_MS), describe: "Largest backoff cap" },
  deadline: { type: "string", kind: "duration", group: RETRY_GROUP, default: formatDuration(DEFAULT_DEADLINE_MS), describe: "Total wall-clock budget" },
} as const satisfies OptionTable;

/** The parsed values of the group above (all in ms but retries). */
export interface RetryBudgetArgs {
  retries: number;
  "backoff-base": number;
  "backoff-max": number;
  deadline: number;
}

/** BackoffPolicy from parsed options of the group above. */
export function policyFromArgs(opts: RetryBudgetArgs): BackoffPolicy {
  return { retries: opts.retries, baseMs: opts["backoff-base"], maxMs: opts["backoff-max"], deadlineMs: opts.deadline };
}
