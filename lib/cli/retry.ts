/**
 * The retry-budget option group, defined once for every command that retries
 * (`--retries`, `--backoff-base`, `--backoff-max`, `--deadline`), and its
 * conversion to the shared BackoffPolicy (lib/core/backoff.ts). Durations go
 * through parseDuration, so a bad one is exit 64 naming the option.
 */
import {
  DEFAULT_BACKOFF_BASE_MS,
  DEFAULT_BACKOFF_MAX_MS,
  DEFAULT_DEADLINE_MS,
  DEFAULT_RETRIES,
  type BackoffPolicy,
} from "../core/backoff";
import { formatDuration, parseDuration } from "../core/duration";
import { UsageError } from "../core/errors";
import type { OptionTable } from "./options";

export const RETRY_GROUP = "Retry budget:";

export interface RetryDefaults {
  retries?: number;
  backoffBaseMs?: number;
  backoffMaxMs?: number;
  deadlineMs?: number;
}

/** The option group, with per-command defaults where they differ. */
export function retryBudgetOptions(d: RetryDefaults = {}): OptionTable {
  return {
    retries: { type: "number", group: RETRY_GROUP, default: d.retries ?? DEFAULT_RETRIES, describe: "Retries after the first attempt" },
    "backoff-base": {
      type: "string",
      group: RETRY_GROUP,
      default: formatDuration(d.backoffBaseMs ?? DEFAULT_BACKOFF_BASE_MS),
      describe: "First backoff cap; doubles per retry, full jitter",
    },
    "backoff-max": { type: "string", group: RETRY_GROUP, default: formatDuration(d.backoffMaxMs ?? DEFAULT_BACKOFF_MAX_MS), describe: "Largest backoff cap" },
    deadline: { type: "string", group: RETRY_GROUP, default: formatDuration(d.deadlineMs ?? DEFAULT_DEADLINE_MS), describe: "Total wall-clock budget" },
  };
}

/** BackoffPolicy from parsed options of the group above. */
export function policyFromArgs(opts: Record<string, unknown>): BackoffPolicy {
  const raw = opts.retries ?? DEFAULT_RETRIES;
  // Number("") is 0: an empty --retries= must not silently mean "never retry".
  const retries = String(raw).trim() === "" ? NaN : Number(raw);
  if (!Number.isInteger(retries) || retries < 0) {
    throw new UsageError({ what: "--retries needs a whole number >= 0", subject: JSON.stringify(String(opts.retries)) });
  }
  return {
    retries,
    baseMs: parseDuration(String(opts["backoff-base"] ?? `${DEFAULT_BACKOFF_BASE_MS}ms`), "backoff-base"),
    maxMs: parseDuration(String(opts["backoff-max"] ?? `${DEFAULT_BACKOFF_MAX_MS}ms`), "backoff-max"),
    deadlineMs: parseDuration(String(opts.deadline ?? `${DEFAULT_DEADLINE_MS}ms`), "deadline"),
  };
}
