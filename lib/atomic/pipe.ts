/**
 * A real pipe(2) for a child's stdout.
 *
 * Why not Bun.spawn's `stdout: "pipe"`: Bun (1.4) gives the child one end of a
 * socketpair, and a program that opens /dev/stdout (`> /dev/stdout`, `tee
 * /dev/stdout`, `-o /dev/stdout`) then fails with ENXIO, because a socket
 * cannot be reopened through /proc/self/fd. A pipe can, as with a shell
 * pipeline. Node has no pipe(2) binding, so it comes from libc through
 * bun:ffi, loaded only when a command is run (never on the stdin path).
 *
 * Contract: `openPipe()` returns both ends, or undefined when libc cannot be
 * loaded (the caller then falls back to Bun's socketpair). The ends are not
 * close-on-exec; that is safe because Bun.spawn closes every descriptor but
 * 0, 1, 2 in the child (verified: the child's /proc/self/fd lists only those),
 * and the caller closes its copy of the write end right after spawning, so
 * EOF arrives exactly when CMD and everything that inherited its stdout have
 * closed it. The caller owns both descriptors (Bun.file(fd).stream() never
 * closes them).
 */

import { openLibc } from "../core/libc";

type PipeFn = () => { read: number; write: number } | undefined;
let loaded: PipeFn | null | undefined;

const SYMBOLS = { pipe: { args: ["ptr"], returns: "i32" } } as const;

function load(): PipeFn | null {
  const libc = openLibc(SYMBOLS);
  if (!libc) return null;
  const fds = new Int32Array(2);
  const p = libc.ffi.ptr(fds);
  const pipe = libc.lib.symbols.pipe;
  return () => (Number(pipe(p)) === 0 ? { read: fds[0]!, write: fds[1]! } : undefined);
}

/** A fresh pipe, or undefined when pipe(2) is not reachable (or failed, e.g. EMFILE). */
export async function openPipe(): Promise<{ read: number; write: number } | undefined> {
  const fn = loaded === undefined ? (loaded = load()) : loaded;
  return fn ? fn() : undefined;
}
