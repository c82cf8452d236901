/**
 * In-kernel data movement for atomic-write: splice(2) from CMD's stdout pipe into the temp file,
 * and FICLONE / copy_file_range(2) for the old part of an --append. Every byte that goes through
 * JS is copied twice (kernel -> user -> kernel); these calls copy it at most once, in the kernel
 * (splice moves pipe pages, FICLONE shares extents and copies nothing at all).
 *
 * Contract:
 * - Every function here is an optimisation with the same observable result as a read/write loop
 *   starting at the descriptors' current offsets (NULL offsets: splice(2) and copy_file_range(2)
 *   advance the file offsets like read/write do; FICLONE does not, so we lseek(2) to the end).
 * - On ANY failure they stop and say how far they got; the caller finishes with the plain
 *   read/write loop from where they stopped. Their errno is never reported: a real error (ENOSPC,
 *   EIO, EDQUOT) happens again in that loop's write(2) and is reported from there with its real
 *   errno, while "not supported here" (EINVAL, EXDEV, EOPNOTSUPP, ENOSYS: old kernels, file
 *   systems without reflink, seccomp filters) just costs the faster path. So a wrong guess here
 *   can cost speed, never correctness, and no errno has to be read back through FFI.
 * - `spliceAll` never blocks the event loop for long: the pipe side is non-blocking
 *   (SPLICE_F_NONBLOCK, splice(2)), an empty pipe is waited for with poll(2) for at most
 *   POLL_MS, and it yields to the event loop between bursts, so signal handlers and the child's
 *   exit are seen within ~POLL_MS. `stopped()` is checked after every yield and before the read
 *   descriptor is touched again (the caller may have closed it meanwhile).
 * - Linux only (splice, copy_file_range, FICLONE); elsewhere, or without bun:ffi, `kernel()`
 *   resolves to null and the caller uses the JS loop. Loaded lazily: only the command and
 *   big-append paths pay for the dlopen (well under 1 ms).
 * Out of scope: sendfile(2) (no pipe input), FICLONERANGE (the whole old file is cloned).
 */

import { openLibc } from "../core/libc";

export interface Kernel {
  splice(fdIn: number, fdOut: number, len: number, flags: number): number;
  poll(fd: number, timeoutMs: number): number;
  copyFileRange(fdIn: number, fdOut: number, len: number): number;
  ioctlInt(fd: number, request: number, arg: number): number;
  lseek(fd: number, offset: number, whence: number): number;
  /** fcntl(fd, F_SETPIPE_SZ, size): the pipe's new capacity, or -1. */
  setPipeSize(fd: number, size: number): number;
  /** fcntl(fd, F_GETPIPE_SZ): the pipe's capacity, or -1. */
  pipeSize(fd: number): number;
}

const SPLICE_F_MOVE = 1;
const SPLICE_F_NONBLOCK = 2;
/** FICLONE = _IOW(0x94, 9, int), ioctl_ficlone(2). */
export const FICLONE = 0x40049409;
const SEEK_END = 2;
/** fcntl(2) F_SETPIPE_SZ (Linux 2.6.35). */
const F_SETPIPE_SZ = 1031;
const F_GETPIPE_SZ = 1032;
/** Capacity asked for CMD's stdout pipe: the default 64 KiB makes CMD and us take turns every 64 KiB. */
export const PIPE_SIZE = 1 << 20;
const POLLIN = 0x001;
const POLLHUP = 0x010;
const POLLERR = 0x008;
const POLLNVAL = 0x020;
/** Longest a poll(2) on an empty pipe keeps the event loop (signals, child exit) waiting. */
export const POLL_MS = 20;
/** Longest a burst of splices runs before yielding to the event loop. */
const BURST_MS = 10;
/** Bytes asked per call; the kernel moves at most what the pipe holds. */
const SPLICE_LEN = 1 << 24;

let loaded: Promise<Kernel | null> | undefined;

const SYMBOLS = {
  splice: { args: ["i32", "ptr", "i32", "ptr", "u64", "u32"], returns: "i64" },
  poll: { args: ["ptr", "u64", "i32"], returns: "i32" },
  copy_file_range: { args: ["i32", "ptr", "i32", "ptr", "u64", "u32"], returns: "i64" },
  // ioctl is variadic; an int third argument is passed like a fixed one on x86-64 and
  // aarch64 Linux (SysV / AAPCS64), which is all this module runs on.
  ioctl: { args: ["i32", "u64", "i32"], returns: "i32" },
  lseek: { args: ["i32", "i64", "i32"], returns: "i64" },
  fcntl: { args: ["i32", "i32", "i32"], returns: "i32" }, // variadic: as for ioctl
} as const;

async function load(): Promise<Kernel | null> {
  if (process.platform !== "linux") return null;
  const libc = openLibc(SYMBOLS); // null also for a libc without copy_file_range (glibc < 2.27)
  if (!libc) return null;
  const s = libc.lib.symbols;
  const pfd = new Int32Array(2); // struct pollfd { int fd; short events; short revents; }
  const pfd16 = new Int16Array(pfd.buffer);
  const pfdPtr = libc.ffi.ptr(pfd);
  return {
    splice: (i, o, len, flags) => Number(s.splice(i, null, o, null, len, flags)),
    poll: (fd, timeoutMs) => {
      pfd[0] = fd;
      pfd16[2] = POLLIN;
      pfd16[3] = 0;
      const n = s.poll(pfdPtr, 1, timeoutMs);
      return n > 0 ? pfd16[3]! : n;
    },
    copyFileRange: (i, o, len) => Number(s.copy_file_range(i, null, o, null, len, 0)),
    ioctlInt: (fd, req, arg) => s.ioctl(fd, req, arg),
    lseek: (fd, off, whence) => Number(s.lseek(fd, off, whence)),
    setPipeSize: (fd, size) => s.fcntl(fd, F_SETPIPE_SZ, size),
    pipeSize: (fd) => s.fcntl(fd, F_GETPIPE_SZ, 0),
  };
}

/** The bindings, or null where they cannot be had (not Linux, no bun:ffi, old libc). */
export function kernel(): Promise<Kernel | null> {
  return (loaded ??= load());
}

const yieldToLoop = () => new Promise<void>((r) => setImmediate(r));

/**
 * Move everything from the pipe `pipeFd` into `outFd` at its file offset, until EOF.
 * Returns "eof" (every writer closed the pipe and it is drained), "stopped" (`stopped()` said
 * so; `pipeFd` was not touched after that), or "failed" (splice refused twice in a row on a
 * readable pipe: unsupported here, or a write error; the unmoved bytes are still in the pipe
 * for the caller's read/write loop). `count(n)` sees every byte moved.
 */
export async function spliceAll(k: Kernel, pipeFd: number, outFd: number, count: (n: number) => void, stopped: () => boolean): Promise<"eof" | "failed" | "stopped"> {
  let refusedWhenReadable = false;
  for (;;) {
    const until = performance.now() + BURST_MS;
    for (;;) {
      const n = k.splice(pipeFd, outFd, SPLICE_LEN, SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
      if (n > 0) {
        count(n);
        refusedWhenReadable = false;
        if (performance.now() > until) break;
        continue;
      }
      if (n === 0) return "eof";
      // -1: the pipe is empty (EAGAIN), or a real refusal. poll tells the two apart.
      const ev = k.poll(pipeFd, 0);
      if (ev < 0 || (ev & POLLNVAL) !== 0) return "failed"; // the read loop reports what is wrong
      if (ev > 0 && (ev & (POLLIN | POLLHUP | POLLERR)) !== 0) {
        if (refusedWhenReadable) return "failed";
        refusedWhenReadable = true; // data may just have arrived: one more try
        continue;
      }
      k.poll(pipeFd, POLL_MS); // EINTR or timeout: either way, back to the event loop
      break;
    }
    await yieldToLoop();
    if (stopped()) return "stopped";
  }
}

/**
 * Put `src`'s content from its current offset into the (empty, just created) `dst`, in the
 * kernel where the file system allows: FICLONE (reflink: btrfs, xfs, bcachefs; nothing copied),
 * else copy_file_range(2) (in-kernel copy; server-side on NFS 4.2/CIFS), yielding to the event
 * loop between chunks so signals are handled. Returns the bytes placed and how; both offsets are
 * left where it stopped, and the caller always finishes with its read/write loop, which reads
 * EOF at once after a complete copy and otherwise copies the rest (after a refusal, or from a
 * pseudo file whose size the kernel reports as 0). With `clone`, `src` must be at offset 0
 * (FICLONE copies the whole file); copy_file_range starts at `src`'s offset. `stopped()` is
 * checked after every yield: once it says so, nothing more is copied.
 */
export async function copyInKernel(
  k: Kernel,
  src: number,
  dst: number,
  opts: { clone?: boolean; copyFileRange?: boolean; stopped?: () => boolean } = {},
): Promise<{ bytes: number; method: "clone" | "copy_file_range" | "none" }> {
  if (opts.clone !== false && k.ioctlInt(dst, FICLONE, src) === 0) {
    const end = k.lseek(dst, 0, SEEK_END); // FICLONE leaves dst's offset at 0
    if (end >= 0) {
      // src's own offset stays at 0: move it too, so a caller continuing from it sees EOF.
      k.lseek(src, 0, SEEK_END);
      return { bytes: end, method: "clone" };
    }
    // Cannot position dst after the clone: undo it and copy instead.
    const { ftruncateSync } = await import("node:fs");
    ftruncateSync(dst, 0);
  }
  if (opts.copyFileRange === false) return { bytes: 0, method: "none" };
  let bytes = 0;
  for (;;) {
    const n = k.copyFileRange(src, dst, 32 << 20);
    if (n > 0) {
      bytes += n;
      await yieldToLoop();
      if (opts.stopped?.()) return { bytes, method: "copy_file_range" };
      continue;
    }
    // 0: EOF, or a pseudo file the kernel thinks is empty (the read loop finds the rest).
    // -1: refused (EXDEV, EINVAL, ENOSPC...): the read loop takes over and meets a real error again.
    return { bytes, method: bytes > 0 ? "copy_file_range" : "none" };
  }
}
