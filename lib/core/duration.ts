/**
 * Durations (design.md §2.3): `250ms`, `1.5s`, `10s`, `5m`, `2h`; a bare number is
 * seconds, as in timeout(1). Anything else is a UsageError (exit 64) that
 * quotes the offending text. Results are whole milliseconds.
 */
import { badValue, UsageError } from "./errors";

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, "": 1000 };
const DURATION_RE = /^(\d+(?:\.\d+)?|\.\d+)(ms|s|m|h)?$/;

/** What a duration looks like, for the hint of a bad one. */
export const DURATION_EXAMPLES = "250ms, 10s, 5m";

/** Whole milliseconds of a duration text, or undefined when it is not one. */
export function durationMs(text: string): number | undefined {
  const m = DURATION_RE.exec(String(text).trim());
  return m ? Math.round(Number(m[1]) * UNIT_MS[m[2] ?? ""]!) : undefined;
}

/** Whole milliseconds of a duration text; a bad one is a UsageError naming the option (bad value for --NAME). */
export function parseDuration(text: string, optionName?: string): number {
  const ms = durationMs(text);
  if (ms !== undefined) return ms;
  if (optionName) throw badValue(optionName, text, `a duration such as ${DURATION_EXAMPLES}`);
  throw new UsageError({ what: "bad duration", subject: JSON.stringify(String(text)), hint: `a duration such as ${DURATION_EXAMPLES}` });
}

/** Human form of a duration in ms, for diagnostics: 850ms, 1.2s, 3m05s. */
export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)}ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(ms < 10_000 ? 2 : 1).replace(/\.?0+$/, "")}s`;
  const m = Math.floor(ms / 60_000);
  const s = Math.round((ms % 60_000) / 1000);
  if (m < 60) return `${m}m${String(s).padStart(2, "0")}s`;
  return `${Math.floor(m / 60)}h${String(m % 60).padStart(2, "0")}m`;
}
