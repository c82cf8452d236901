/**
 * Signal cleanup registry (design.md §2.4): on SIGINT, SIGTERM or SIGHUP every
 * temp file and lock this process made is removed, then the process exits
 * 128+N. This module owns the handlers; commands register cleanups, lib code
 * never exits itself — the exit callback is supplied by cmd/_shared/main.ts.
 *
 * What a signal can and cannot observe:
 * - Cleanups run synchronously inside the handler, last registered first,
 *   each at most once; a throwing cleanup does not stop the others.
 * - JS signal handlers run asynchronously (between event-loop turns), so code
 *   that must not act after a signal was delivered (atomic-write's commit
 *   decision, design.md §3) calls `checkpointSignals()` first: it gives pending
 *   handlers one event-loop turn and throws InterruptedError if one ran.
 * - SIGKILL cannot be caught; what it leaves behind (temp files, lock dirs)
 *   must be recognisable as dead by its owner pid and removed by a later run.
 */
import { InterruptedError } from "./errors";
import { exitCodeForSignal, SIGNALS, type HandledSignal } from "./exit";

type Cleanup = () => void;

const cleanups = new Map<number, Cleanup>();
let nextId = 1;
let received: HandledSignal | undefined;
let installed = false;
const handlers = new Map<HandledSignal, () => void>();

/** Register a synchronous, idempotent cleanup; returns the function that unregisters it. */
export function registerCleanup(fn: Cleanup): () => void {
  const id = nextId++;
  cleanups.set(id, fn);
  return () => {
    cleanups.delete(id);
  };
}

/** Run every registered cleanup once, newest first. Errors are swallowed: cleanup is best effort. */
export function runCleanups(): void {
  const ids = [...cleanups.keys()].reverse();
  for (const id of ids) {
    const fn = cleanups.get(id);
    cleanups.delete(id);
    try {
      fn?.();
    } catch {
      /* best effort: the next cleanup must still run */
    }
  }
}

/** The signal received so far, if any. */
export function receivedSignal(): HandledSignal | undefined {
  return received;
}

/**
 * Install the handlers once. `onSignal` is called after the cleanups with the
 * exit code 128+N; it is expected to end the process (cmd/ does that).
 */
export function installSignalHandlers(onSignal: (sig: HandledSignal, exitCode: number) => void): void {
  if (installed) return;
  installed = true;
  for (const sig of Object.keys(SIGNALS) as HandledSignal[]) {
    const handler = () => {
      if (received) return; // a second signal while cleaning up changes nothing
      received = sig;
      runCleanups();
      for (const l of listeners) {
        try {
          l(sig);
        } catch {
          /* listeners must not stop the exit */
        }
      }
      onSignal(sig, exitCodeForSignal(sig));
    };
    handlers.set(sig, handler);
    process.on(sig, handler);
  }
}

/**
 * Detach the handlers so SIGINT/SIGTERM/SIGHUP take the kernel's default
 * action (the process ends at once, killed by that signal: the shell sees
 * 128+N) until the returned function re-attaches them.
 *
 * For synchronous native work that JS cannot interrupt (a running SQLite
 * statement): a JS handler would only run after that work returned, so a
 * signal would wait for it. Use it only where ending the process without
 * running the cleanups is safe (SQLite rolls an uncommitted transaction back
 * on the next open). Verified with bun 1.4.5: removing the last listener
 * restores SIG_DFL (SIGTERM mid-statement: 143 after 0.5 s instead of after
 * the statement), and process.on installs the handler again.
 */
export function detachSignalHandlers(): () => void {
  if (!installed || received) return () => {};
  for (const [sig, h] of handlers) process.off(sig, h);
  let attached = false;
  return () => {
    if (attached) return;
    attached = true;
    for (const [sig, h] of handlers) process.on(sig, h);
  };
}

const listeners = new Set<(sig: HandledSignal) => void>();
/** Be told when a signal arrives (e.g. to forward it to a child process). */
export function onSignal(fn: (sig: HandledSignal) => void): () => void {
  listeners.add(fn);
  return () => listeners.delete(fn);
}

/**
 * Let pending signal handlers run, then throw InterruptedError if a signal
 * was received. Call this right before an irreversible step (a commit).
 *
 * One setImmediate turn is enough for Bun to dispatch a delivered signal:
 * 80 group-wide SIGTERMs of `producer | atomic-write f` gave 0 truncated
 * commits with it (design.md §3 measured 5 of 30 without any turn). A second,
 * setTimeout(0) turn would cost 1.6 ms per call (8.7 vs 7.1 ms, hyperfine).
 */
export async function checkpointSignals(): Promise<void> {
  await new Promise<void>((resolve) => setImmediate(resolve));
  if (received) throw new InterruptedError(received, exitCodeForSignal(received));
}

/** For tests only: forget a received signal and registered cleanups. */
export function _resetForTests(): void {
  received = undefined;
  cleanups.clear();
  listeners.clear();
}
