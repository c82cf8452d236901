/**
 * The C library through bun:ffi: the one place that knows which file holds
 * it on each operating system, for the few calls Node has no binding for
 * (flock(2), pipe(2), splice(2), timer_create(2)...).
 *
 * Contract:
 * - `openLibc(symbols)` dlopens the first candidate library that exports every
 *   symbol of the set, once per set (the result, also a failure, is cached by
 *   the `symbols` object, so callers pass a module-level constant), and
 *   returns it with the bun:ffi module (for `ptr`). null when bun:ffi is
 *   missing or no candidate offers the whole set; the caller then takes its
 *   slower path or reports what it cannot do. It never throws.
 * - Candidates, this operating system's first: glibc's `libc.so.6` and musl's
 *   `libc.musl-<arch>.so.1` on Linux, `libSystem.B.dylib` on macOS, then
 *   `libc.<suffix>`, then the other system's names (so an unusual layout
 *   still finds it), then the caller's `extra` names (librt.so.1 holds
 *   timer_create on glibc before 2.34).
 * - Lazy: nothing is loaded until the first call; bun:ffi is required inside
 *   the function, so importing this module costs nothing at start-up.
 * Out of scope: which calls are safe to make; each caller's contract says.
 */
import type { FFIFunction, Library } from "bun:ffi";

const LINUX_LIBS = ["libc.so.6", "libc.musl-x86_64.so.1", "libc.musl-aarch64.so.1"];
const DARWIN_LIBS = ["/usr/lib/libSystem.B.dylib", "libSystem.B.dylib"];

/** Candidate C libraries for `platform`, its own first. */
export function libcNames(platform: string = process.platform, suffix = "so"): string[] {
  const native = platform === "darwin" ? DARWIN_LIBS : LINUX_LIBS;
  const other = platform === "darwin" ? LINUX_LIBS : DARWIN_LIBS;
  return [...native, `libc.${suffix}`, ...other];
}

export interface OpenLibc<Fns extends Record<string, FFIFunction>> {
  lib: Library<Fns>;
  ffi: typeof import("bun:ffi");
}

const opened = new WeakMap<object, OpenLibc<Record<string, FFIFunction>> | null>();

/** The C library with `symbols` bound, or null (see the module comment). */
export function openLibc<Fns extends Record<string, FFIFunction>>(symbols: Fns, extra: readonly string[] = []): OpenLibc<Fns> | null {
  if (opened.has(symbols)) return opened.get(symbols) as OpenLibc<Fns> | null;
  let result: OpenLibc<Fns> | null = null;
  try {
    const ffi = require("bun:ffi") as typeof import("bun:ffi");
    for (const name of [...libcNames(process.platform, ffi.suffix), ...extra]) {
      try {
        result = { lib: ffi.dlopen(name, symbols), ffi };
        break;
      } catch {
        /* not this name, or a library without one of the symbols: try the next */
      }
    }
  } catch {
    /* no bun:ffi */
  }
  opened.set(symbols, result as OpenLibc<Record<string, FFIFunction>> | null);
  return result;
}
