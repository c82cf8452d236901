/**
 * Byte copying for atomic-write: the read/write loop every path ends in, the in-kernel copy of
 * an old file's content (--append), and the sha256 of what a temp file holds.
 *
 * Contract: `copyFileContent` leaves in `dst` exactly the bytes a read(2) loop on `src` would
 * return, from `src`'s offset 0 to EOF, into the empty `dst` (whose offset ends at the end); it tries FICLONE
 * and copy_file_range(2) first (kernel.ts) and always ends with the read loop, so a refusal of
 * either costs speed, never bytes. A write error (ENOSPC, EIO) is an IoError (exit 74) raised by
 * the write(2) that met it, with its real errno. Small files skip the kernel paths: loading the
 * bindings costs more than copying them.
 * `subject` arguments name the file in messages exactly as given (callers pass the path as the
 * user typed it, target.ts shownInDir/shownTarget).
 * Out of scope: holes (a sparse old file becomes dense unless cloned), xattrs.
 */
import { readSync, writeSync } from "node:fs";
import { errnoOf, fromErrno } from "../core/errors";

const CHUNK = 1 << 20;
/** Below this, the JS loop copies faster than the FFI bindings load. */
export const KERNEL_COPY_MIN_BYTES = 1 << 20;

export function writeAll(fd: number, buf: Uint8Array, subject: string): void {
  let off = 0;
  while (off < buf.length) {
    try {
      off += writeSync(fd, buf, off, buf.length - off);
    } catch (err) {
      throw fromErrno(err, { what: "cannot write temp file", subject, subjectAsTyped: true, hint: errnoOf(err) === "ENOSPC" ? "file system full; FILE left unchanged" : undefined });
    }
  }
}

/**
 * Read `fd` to EOF, one CHUNK at a time, handing each chunk to `each` (the buffer is reused: a chunk
 * is valid only during the call). From `position` with pread(2), leaving the offset where it was, or
 * from the current offset (`null`, plain read(2), which advances it). Returns the bytes read.
 * A read error is thrown as `what` on `subject`.
 */
function readChunks(fd: number, position: number | null, what: string, subject: string, each: (chunk: Buffer) => void): number {
  const buf = Buffer.allocUnsafe(CHUNK);
  let total = 0;
  for (;;) {
    let n: number;
    try {
      n = readSync(fd, buf, 0, CHUNK, position === null ? null : position + total);
    } catch (err) {
      throw fromErrno(err, { what, subject, subjectAsTyped: true });
    }
    if (n === 0) return total;
    each(buf.subarray(0, n));
    total += n;
  }
}

/** Copy a readable fd into another (or only hash it, `to` = -1), from the current offsets; returns bytes copied. */
export function copyFd(from: number, to: number, hasher: Bun.CryptoHasher | undefined, subject: string): number {
  return readChunks(from, null, "cannot read", subject, (chunk) => {
    hasher?.update(chunk);
    if (to >= 0) writeAll(to, chunk, subject);
  });
}

export interface CopyOptions {
  /** Size of `src` if known (decides whether the kernel paths are worth loading). */
  size?: number;
  /** Allow FICLONE (default true). */
  clone?: boolean;
  /** Allow copy_file_range(2) (default true). */
  copyFileRange?: boolean;
}

export type CopyMethod = "clone" | "copy_file_range" | "read-write";

/**
 * Append `src`'s whole content (from offset 0) to `dst`. `method` names what moved the bulk of
 * the bytes: "clone" (shared extents, nothing copied), "copy_file_range" (copied in the kernel),
 * or "read-write" (through this process: the fallback, and the path for small files).
 */
export async function copyFileContent(src: number, dst: number, subject: string, opts: CopyOptions = {}): Promise<{ bytes: number; method: CopyMethod }> {
  let bytes = 0;
  let method: CopyMethod = "read-write";
  if (opts.size === undefined || opts.size >= KERNEL_COPY_MIN_BYTES) {
    const { kernel, copyInKernel } = await import("./kernel");
    const k = await kernel();
    if (k) {
      const r = await copyInKernel(k, src, dst, opts);
      bytes = r.bytes;
      if (r.method !== "none") method = r.method;
    }
  }
  const rest = copyFd(src, dst, undefined, subject);
  if (rest > bytes) method = "read-write";
  return { bytes: bytes + rest, method };
}

/** sha256 (hex) of what `fd` (opened for reading) holds, read with pread(2): its offset is not moved. */
export function sha256OfFd(fd: number, subject: string): string {
  const h = new Bun.CryptoHasher("sha256");
  readChunks(fd, 0, "cannot read back", subject, (chunk) => h.update(chunk));
  return h.digest("hex");
}
