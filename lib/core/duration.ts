/**
 * Durations (design.md §2.3): `250ms`, `1.5s`, `10s`, `5m`, `2h`; a bare number is
 * seconds, as in timeout(1). Anything else is a UsageError (exit 64) that
 * quotes the offending text. Results are whole milliseconds.
 */
import { badValue, UsageError } from "./errors";

// Parsed by hand, not with a RegExp: every call converts its default durations, and compiling a
// RegExp on first use is start-up cost (callgrind). The grammar is NUMBER [ms|s|m|h], where NUMBER
// is `\d+`, `\d+.\d+` or `.\d+` (ASCII digits).
const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

function isDigits(s: string, from: number, to: number): boolean {
  if (from >= to) return false;
  for (let i = from; i < to; i++) {
    const c = s.charCodeAt(i);
    if (c < 48 || c > 57) return false;
  }
  return true;
}

/** `\d+`, `\d+.\d+` or `.\d+`. */
function isDecimal(s: string): boolean {
  const dot = s.indexOf(".");
  if (dot < 0) return isDigits(s, 0, s.length);
  return (dot === 0 || isDigits(s, 0, dot)) && isDigits(s, dot + 1, s.length);
}

/** What a duration looks like, for the hint of a bad one. */
export const DURATION_EXAMPLES = "250ms, 10s, 5m";

/** Whole milliseconds of a duration text, or undefined when it is not one. */
export function durationMs(text: string): number | undefined {
  const s = String(text).trim();
  const unit = s.endsWith("ms") ? "ms" : "smh".includes(s.slice(-1)) && s.length > 0 ? s.slice(-1) : "";
  const num = s.slice(0, s.length - unit.length);
  return isDecimal(num) ? Math.round(Number(num) * (UNIT_MS[unit] ?? 1000)) : undefined;
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
  if (ms < 60_000) {
    // "2.50" -> "2.5", "2.00" -> "2": trailing zeros, then a bare point.
    let t = (ms / 1000).toFixed(ms < 10_000 ? 2 : 1);
    while (t.endsWith("0")) t = t.slice(0, -1);
    if (t.endsWith(".")) t = t.slice(0, -1);
    return `${t}s`;
  }
  const m = Math.floor(ms / 60_000);
  const s = Math.round((ms % 60_000) / 1000);
  if (m < 60) return `${m}m${String(s).padStart(2, "0")}s`;
  return `${Math.floor(m / 60)}h${String(m % 60).padStart(2, "0")}m`;
}
