/**
 * flock(2) from the C library through bun:ffi, for the stale-lock takeover
 * (./takeover.ts): a kernel lock dies with its process, so it never goes
 * stale itself. Loaded on first use only (start-up cost on the takeover path,
 * not on every command).
 *
 * Platform: the C library found by ./libc.ts (glibc or musl on Linux,
 * libSystem on macOS: flock(2) is a BSD call; LOCK_EX/LOCK_NB/LOCK_UN have
 * the same values, 2/4/8, on both). None loadable (or no bun:ffi): `loadFlock`
 * resolves to null and the caller reports that it cannot take a lock over.
 */
import { openLibc } from "./libc";

export type FlockFn = (fd: number, op: number) => number;
export const LOCK_EX = 2;
export const LOCK_NB = 4;
export const LOCK_UN = 8;

const SYMBOLS = { flock: { args: ["i32", "i32"], returns: "i32" } } as const;

let flockLoad: Promise<FlockFn | null> | undefined;

/**
 * flock(2), or null when no C library offers it. The promise is cached, so
 * callers racing on the first load all get the function.
 */
export function loadFlock(): Promise<FlockFn | null> {
  return (flockLoad ??= importFlock());
}

async function importFlock(): Promise<FlockFn | null> {
  const libc = openLibc(SYMBOLS);
  if (!libc) return null;
  const fn = libc.lib.symbols.flock;
  return (fd, op) => Number(fn(fd, op));
}
