/**
 * flock(2) from the C library through bun:ffi, for the stale-lock takeover
 * (./takeover.ts): a kernel lock dies with its process, so it never goes
 * stale itself. Loaded on first use only (start-up cost on the takeover path,
 * not on every command).
 *
 * Platform: the library is chosen by the operating system — glibc's
 * `libc.so.6` or musl's `libc.musl-<arch>.so.1` on Linux, `libSystem.B.dylib`
 * on macOS (flock(2) is a BSD call; LOCK_EX/LOCK_NB/LOCK_UN have the same
 * values, 2/4/8, on both). The others are tried after the native ones, so an
 * unusual layout still finds it. None loadable (or no bun:ffi): `loadFlock`
 * resolves to null and the caller reports that it cannot take a lock over.
 */
export type FlockFn = (fd: number, op: number) => number;
export const LOCK_EX = 2;
export const LOCK_NB = 4;
export const LOCK_UN = 8;

const LINUX_LIBS = ["libc.so.6", "libc.musl-x86_64.so.1", "libc.musl-aarch64.so.1"];
const DARWIN_LIBS = ["/usr/lib/libSystem.B.dylib", "libSystem.B.dylib"];

/** Candidate libraries, this operating system's first. */
export function flockLibraries(platform: string = process.platform, suffix = "so"): string[] {
  const native = platform === "darwin" ? DARWIN_LIBS : LINUX_LIBS;
  const other = platform === "darwin" ? LINUX_LIBS : DARWIN_LIBS;
  return [...native, `libc.${suffix}`, ...other];
}

let flockLoad: Promise<FlockFn | null> | undefined;

/**
 * flock(2), or null when no C library offers it. The promise is cached, so
 * callers racing on the first load all get the function.
 */
export function loadFlock(): Promise<FlockFn | null> {
  return (flockLoad ??= importFlock());
}

async function importFlock(): Promise<FlockFn | null> {
  try {
    const ffi = await import("bun:ffi");
    for (const name of flockLibraries(process.platform, ffi.suffix)) {
      try {
        const lib = ffi.dlopen(name, { flock: { args: ["i32", "i32"], returns: "i32" } });
        const fn = lib.symbols.flock as unknown as FlockFn;
        return (fd, op) => Number(fn(fd, op));
      } catch {
        /* try the next name */
      }
    }
  } catch {
    /* no bun:ffi */
  }
  return null;
}
