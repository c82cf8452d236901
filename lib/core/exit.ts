/**
 * Exit codes shared by every hardshell command (design.md §2.1), from sysexits.h so
 * cron wrappers and `set -e` scripts can branch on them.
 *
 * This module is the single place these numbers live; `lib/` code never exits,
 * it throws an error value (lib/core/errors.ts) that carries one of these codes,
 * and cmd/_shared/main.ts turns it into the process exit status.
 */
// node:os is required only for a signal outside SIGNALS (a child killed by SIGSEGV, SIGKILL, ...):
// loading it costs every call ~0.5M instructions of start-up (callgrind, compiled binary).

export const EXIT = {
  OK: 0,
  /** The answer is "no": a check found something, a precondition failed. Never an error. */
  NO: 1,
  USAGE: 64, // EX_USAGE
  DATAERR: 65, // EX_DATAERR
  NOINPUT: 66, // EX_NOINPUT
  UNAVAILABLE: 69, // EX_UNAVAILABLE
  SOFTWARE: 70, // EX_SOFTWARE
  CANTCREAT: 73, // EX_CANTCREAT
  IOERR: 74, // EX_IOERR
  TEMPFAIL: 75, // EX_TEMPFAIL
  NOPERM: 77, // EX_NOPERM
} as const;

export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

/** Signal numbers on Linux for the signals hardshell cleans up after (design.md §2.4). */
export const SIGNALS = { SIGHUP: 1, SIGINT: 2, SIGTERM: 15 } as const;
export type HandledSignal = keyof typeof SIGNALS;

/** 128+N, the shell's convention for "killed by signal N". */
export function exitCodeForSignal(sig: HandledSignal): number {
  return 128 + SIGNALS[sig];
}

/** 128+N for any signal, by name or number (a child killed by SIGSEGV, SIGKILL, ...); undefined for none or an unknown name. */
export function signalExitCode(name: string | number | null | undefined): number | undefined {
  if (typeof name === "number") return 128 + name;
  if (!name) return undefined;
  if (name in SIGNALS) return exitCodeForSignal(name as HandledSignal);
  const n = ((require("node:os") as typeof import("node:os")).constants.signals as Record<string, number>)[name];
  return n === undefined ? undefined : 128 + n;
}
