/**
 * Stopping a running statement (design.md §5 amendment: signals and `--deadline`
 * interrupt a running statement within 100 ms).
 *
 * Why it is done this way: a bun:sqlite statement runs synchronously on the JS
 * thread, so no JS (signal listener, timer) can run until it returns, and
 * SQLite's own brakes are out of reach — bun:sqlite's `handle` is an index,
 * not a `sqlite3*`, and the binary exports no SQLite symbols, so neither
 * sqlite3_interrupt() nor a progress handler can be called (measured with
 * bun 1.4.5). What is left is ending the process, which is safe while the
 * statement runs inside a transaction that has not reached COMMIT: SQLite's
 * atomic commit never shows an uncommitted transaction to anyone — a hot
 * rollback journal is rolled back by the next opener, uncommitted WAL frames
 * are ignored (https://sqlite.org/atomiccommit.html, https://sqlite.org/wal.html).
 *
 * While armed (`armStatement` ... the returned disarm):
 * - SIGINT/SIGTERM/SIGHUP: the JS listeners are detached
 *   (lib/core/signals.ts detachSignalHandlers), so the kernel's default action
 *   ends the process at once, killed by the signal (the shell sees 128+N).
 * - `stopAt` (an explicit --deadline): two POSIX timers (timer_create(2),
 *   SIGEV_THREAD, CLOCK_MONOTONIC) whose notify functions are libc's own:
 *   20 ms after the deadline `warnx(msg)` prints `sqlite-exec: <msg>` on
 *   stderr, 60 ms later `_exit(75)` ends the process (each timer fires on its own
 *   thread, so the gap is what keeps the message ahead of the exit on a loaded
 *   machine). No JS runs on the timer thread.
 *   Measured: a statement running forever under `--deadline 1s` ended with 75
 *   after ~1.05 s. Linux only (macOS has no timer_create): elsewhere a
 *   statement that outlives the deadline is rolled back when it returns.
 * - Disarm BEFORE COMMIT (and before any statement that commits by itself),
 *   so a hard exit can never hit a transaction that did commit. `disarm()`
 *   reports whether the deadline message had already been printed.
 *
 * What a hard exit skips: the registered cleanups (lib/core/signals.ts). The
 * connection needs none (see above). A `--backup` temp file is named for its
 * pid and swept by the next --backup into that directory (./maint.ts). A
 * `--dotlock` DB.lock must be removed only after the process stopped touching
 * the file, which a process that is gone cannot do, so ./run.ts does not arm
 * this under --dotlock (there signals and the deadline wait for the statement).
 *
 * Cost: bun:ffi, dlopen(libc) and the two timers are set up only when a
 * deadline is armed (~1.3 ms measured); plain calls without --deadline only
 * detach and re-attach three listeners.
 */
import { openLibc } from "../core/libc";
import { detachSignalHandlers } from "../core/signals";

const SIGEV_THREAD = 2;
const CLOCK_MONOTONIC = 1;
/** Grace between the deadline message and the exit, so the message is written first. */
const EXIT_AFTER_MESSAGE_MS = 60;
/**
 * The timers fire this long after the deadline: SQLite's busy wait is already
 * capped at the deadline (./run.ts), so a statement merely waiting for a lock
 * returns SQLITE_BUSY first and is reported as "database is busy" (the JS
 * path), not as a hard stop. Still well inside the 100 ms promise.
 */
const HARD_STOP_AFTER_MS = 20;
export const DEADLINE_EXIT = 75;
const MSG_BYTES = 1024;

const SYMBOLS = {
  timer_create: { args: ["i32", "ptr", "ptr"], returns: "i32" },
  // timer_t is a pointer-sized value in glibc (SIGEV_THREAD timers have the top bit set): pass it as u64.
  timer_settime: { args: ["u64", "i32", "ptr", "ptr"], returns: "i32" },
  _exit: { args: ["i32"], returns: "void" },
  warnx: { args: ["ptr"], returns: "void" },
} as const;

interface Libc {
  create(fn: number, value: bigint): bigint;
  settime(id: bigint, ms: number): number;
}

interface Timers {
  libc: Libc;
  message: bigint;
  exit: bigint;
  text: Buffer;
}

let timers: Timers | null | undefined;

/** Set up libc's timers once; null where this cannot work (not Linux, no timer_create). */
function loadTimers(exitCode: number): Timers | null {
  if (timers !== undefined) return timers;
  timers = null;
  if (process.platform !== "linux") return null;
  try {
    // Also tried: librt.so.1, where timer_* live on glibc < 2.34 (dlsym there finds libc's _exit and warnx too).
    const opened = openLibc(SYMBOLS, ["librt.so.1"]);
    if (!opened) return null;
    const { ffi, lib: l } = opened;
    const libc: Libc = {
      create(fn, value) {
        // struct sigevent (64 bytes, glibc and musl): sigev_value @0, sigev_signo @8,
        // sigev_notify @12, sigev_notify_function @16, sigev_notify_attributes @24.
        const ev = new BigUint64Array(8);
        ev[0] = value;
        new DataView(ev.buffer).setInt32(12, SIGEV_THREAD, true);
        ev[2] = BigInt(fn);
        const id = new BigUint64Array(1);
        if (l.symbols.timer_create(CLOCK_MONOTONIC, ffi.ptr(ev), ffi.ptr(id)) !== 0) throw new Error("timer_create failed");
        return id[0]!;
      },
      settime(id, ms) {
        // struct itimerspec { it_interval {sec, nsec}; it_value {sec, nsec} }; all zero disarms.
        const its = new BigInt64Array(4);
        if (ms > 0) {
          its[2] = BigInt(Math.floor(ms / 1000));
          its[3] = BigInt(Math.max(1, Math.round((ms % 1000) * 1e6)));
        }
        const old = new BigInt64Array(4);
        if (l.symbols.timer_settime(id, 0, ffi.ptr(its), ffi.ptr(old)) !== 0) return -1;
        return Number(old[2]!) * 1000 + Number(old[3]!) / 1e6;
      },
    };
    const text = Buffer.alloc(MSG_BYTES);
    const exitPtr = (l.symbols._exit as unknown as { ptr: number }).ptr;
    const warnPtr = (l.symbols.warnx as unknown as { ptr: number }).ptr;
    timers = {
      libc,
      text,
      message: libc.create(warnPtr, BigInt(ffi.ptr(text))),
      exit: libc.create(exitPtr, BigInt(exitCode)),
    };
  } catch {
    timers = null;
  }
  return timers;
}

export interface ArmOptions {
  /** performance.now() time at which a running statement ends the process with exit 75. */
  stopAt?: number;
  /** The deadline message (printed as `sqlite-exec: <message>` by libc's warnx). */
  message?: () => string;
  /** Exit status of the hard stop (75; 0 under --soft). Fixed by the first armed call. */
  exitCode?: number;
}

export interface Disarm {
  /** Re-attach signal handlers and stop the timers. True when the deadline message was already printed. */
  (): boolean;
}

/** True when a hard deadline can be enforced on this platform (sets up the timers). */
export function hardDeadlineAvailable(): boolean {
  return loadTimers(DEADLINE_EXIT) !== null;
}

/**
 * Arm before running statements that cannot commit by themselves; call the
 * returned function before COMMIT (idempotent).
 */
export function armStatement(o: ArmOptions = {}): Disarm {
  let t: Timers | null = null;
  if (o.stopAt !== undefined) {
    t = loadTimers(o.exitCode ?? DEADLINE_EXIT);
    if (t) {
      const left = Math.max(0, o.stopAt - performance.now()) + HARD_STOP_AFTER_MS;
      // warnx(3) takes the text as a format string: every '%' is doubled (then cut whole, never mid-pair).
      let text = (o.message?.() ?? "deadline reached while a statement was running").replace(/%/g, "%%");
      while (Buffer.byteLength(text) > MSG_BYTES - 1) text = text.slice(0, -1).replace(/%$/, "");
      const msg = Buffer.from(text);
      t.text.fill(0);
      msg.copy(t.text);
      t.libc.settime(t.message, left);
      t.libc.settime(t.exit, left + EXIT_AFTER_MESSAGE_MS);
    }
  }
  const reattach = detachSignalHandlers();
  let done = false;
  let printed = false;
  return () => {
    if (done) return printed;
    done = true;
    if (t) {
      t.libc.settime(t.exit, 0);
      // A one-shot timer that was armed and shows no time left has fired: warnx has (or is about to) print.
      printed = t.libc.settime(t.message, 0) === 0;
    }
    reattach();
    return printed;
  };
}
