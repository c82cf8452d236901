/**
 * Which implementation of the platform-specific pieces this process uses:
 * `procfs` (Linux: /proc, proc(5)) or `portable` (ps(1) and lsof(8), as on
 * macOS and the BSDs). Chosen once per process, at first use:
 * - HARDSHELL_PLATFORM=portable forces the portable pieces (so the macOS path
 *   runs, and is tested, on Linux); HARDSHELL_PLATFORM=procfs forces /proc.
 * - Otherwise Linux uses /proc and every other system the portable pieces.
 *
 * The pieces that depend on it: process liveness and start times
 * (./liveness.ts), the process table scans (./procscan.ts with ./procfs.ts or
 * ./pstable.ts) and, by the operating system alone, the library flock(2) is
 * loaded from (./flock.ts). Nothing here prints or exits.
 */
export type ProcessBackend = "procfs" | "portable";

let chosen: ProcessBackend | undefined;

/** The process-table implementation for this process (see the module comment). */
export function processBackend(): ProcessBackend {
  if (chosen) return chosen;
  const forced = process.env.HARDSHELL_PLATFORM;
  if (forced === "portable" || forced === "procfs") return (chosen = forced);
  return (chosen = process.platform === "linux" ? "procfs" : "portable");
}

/** For tests: choose again from the environment at next use. */
export function _resetPlatformForTests(): void {
  chosen = undefined;
}
