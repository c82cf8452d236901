/**
 * `git-lock run`: hold a repository-wide lock while a command runs (design.md §4).
 *
 * The lock is `<common git dir>/hardshell-<NAME>.lock`, taken with the shared
 * hardshell lock (lib/core/dirlock.ts: proper-lockfile-compatible directory,
 * owner record with pid, host and start time, mtime refreshed while held,
 * race-free stale takeover). Every worktree of a repository shares the
 * common dir, so they all serialize on the same lock.
 *
 * Calling sequence: discoverRepo -> holdLock (waits with backoff up to the
 * timeout; TempFailError 75) -> spawn CMD with inherited stdio -> wait ->
 * release. SIGINT/SIGTERM/SIGHUP reaching git-lock are forwarded to CMD and
 * git-lock waits for CMD to end before the signal cleanup registry
 * (lib/core/signals.ts) releases the lock and exits 128+N — the lock is never
 * released while CMD still runs. Normal exits release it in `finally`. CMD's
 * pid and start time (and its process group when the group is the job's own)
 * go into the lock's owner record right after the spawn (HeldLock.adoptChild),
 * so a SIGKILLed git-lock leaves a lock that stays live while CMD, orphaned,
 * runs on (design.md §3.1 amendment); once CMD and its group are gone too, the next
 * `run` takes it over as soon as its mtime is older than the stale threshold.
 * CMD killed by a signal N gives 128+N, like a shell.
 *
 * What a concurrent run can observe: at most one CMD per NAME and repository
 * runs at any instant. git's own locks are not taken: run serializes scripts,
 * not git itself.
 */
import { holdLock, type HeldLock } from "../core/dirlock";
import { UnavailableError, UsageError, errnoOf, fromErrno } from "../core/errors";
import { receivedSignal, registerCleanup } from "../core/signals";
import { hasExited } from "../core/liveness";
import { signalExitCode } from "../core/exit";
import { join } from "node:path";
import { discoverRepo, type DiscoverOptions } from "./repo";

export const DEFAULT_RUN_TIMEOUT_MS = 60_000;

export interface RunOptions extends DiscoverOptions {
  name?: string;
  timeoutMs?: number;
  /** Age after which a lock whose owner is dead may be taken over. */
  staleMs?: number;
  command: string[];
}

/** The run lock path for a repository and NAME. */
export function runLockPath(commonDir: string, name = "run"): string {
  if (!/^[A-Za-z0-9._-]+$/.test(name) || name.startsWith(".")) {
    throw new UsageError({ what: "bad value for --name", subject: JSON.stringify(name), hint: "letters, digits, '.', '_' and '-' only" });
  }
  return join(commonDir, `hardshell-${name}.lock`);
}

/** Take the lock, run the command, release; resolves to the command's exit code. */
export async function runLocked(opts: RunOptions): Promise<{ exitCode: number; lockPath: string }> {
  if (opts.command.length === 0) throw new UsageError({ what: "missing command", hint: "git-lock run [opts] -- CMD [ARG...]" });
  runLockPath("", opts.name); // validate NAME before looking for the repository
  const repo = discoverRepo(opts);
  const lockPath = runLockPath(repo.commonDir, opts.name);
  const held: HeldLock = await holdLock(lockPath, {
    timeoutMs: opts.timeoutMs ?? DEFAULT_RUN_TIMEOUT_MS,
    staleMs: opts.staleMs,
    command: opts.command.join(" ").slice(0, 200),
  });
  let unregister: (() => void) | undefined;
  try {
    let child: ReturnType<typeof Bun.spawn>;
    try {
      child = Bun.spawn(opts.command, { cwd: opts.cwd ?? process.cwd(), stdio: ["inherit", "inherit", "inherit"] });
    } catch (err) {
      // Same as atomic-write's `-- CMD`: a missing program is EX_UNAVAILABLE (69).
      if (errnoOf(err) === "ENOENT") throw new UnavailableError({ what: "command not found", subject: opts.command[0] });
      throw fromErrno(err, { what: "cannot run command", subject: opts.command[0] });
    }
    // At once, before anything can await: from now on CMD itself keeps the lock live,
    // so a SIGKILLed git-lock does not free it while CMD runs on, orphaned.
    const pid = child.pid;
    held.adoptChild(pid);
    // Registered after the lock's own cleanup, so it runs first: on SIGINT/SIGTERM/SIGHUP
    // forward the signal to CMD and wait for CMD to end; only then is the lock released.
    unregister = registerCleanup(() => {
      const sig = receivedSignal() ?? "SIGTERM";
      try {
        process.kill(pid, sig);
      } catch {
        return; // already gone
      }
      while (!hasExited(pid)) Bun.sleepSync(5);
    });
    const code = await child.exited;
    return { exitCode: signalExitCode(child.signalCode) ?? code ?? 0, lockPath };
  } finally {
    unregister?.();
    held.release();
  }
}
