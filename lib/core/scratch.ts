/**
 * A scratch file: room on disk for data too big to keep in memory that is
 * needed again by this process only (sqlite-exec holds a transaction's result
 * rows until COMMIT, and a batch's input rows for a retry).
 *
 * What a crash can leave: nothing. The file is created exclusively (O_EXCL,
 * mode 0600) in $TMPDIR and unlinked at once, so it lives exactly as long as
 * its descriptor, whatever ends the process, SIGKILL included; only a kill in
 * the instant between open(2) and unlink(2) can leave the empty file behind.
 * No other process can open it by name afterwards.
 *
 * Calling sequence: scratchPath(label) -> new ScratchFile(path) ->
 * append / read ... -> reset (reuse from offset 0) ... -> close.
 * Errors: system errors are thrown as they are; the caller wraps them
 * (fromErrno) with what it was doing. node:fs is loaded only when a scratch
 * file is made, never on the hot path (start-up time, design.md §2.5).
 */
type Fs = typeof import("node:fs");

/** A fresh name in $TMPDIR for a scratch file: `.<label>.<pid>.<random>`. */
export function scratchPath(label: string): string {
  const { tmpdir } = require("node:os") as typeof import("node:os");
  return `${tmpdir()}/.${label}.${process.pid}.${Math.random().toString(36).slice(2)}`;
}

export class ScratchFile {
  private readonly fs: Fs;
  private readonly fd: number;
  /** Bytes appended since creation or the last reset. */
  size = 0;

  constructor(path: string) {
    this.fs = require("node:fs") as Fs;
    this.fd = this.fs.openSync(path, "wx+", 0o600);
    try {
      this.fs.unlinkSync(path);
    } catch (err) {
      this.fs.closeSync(this.fd);
      throw err;
    }
  }

  /** Write all of `bytes` at the end; returns the offset they start at. */
  append(bytes: Uint8Array): number {
    const at = this.size;
    let off = 0;
    while (off < bytes.length) off += this.fs.writeSync(this.fd, bytes, off, bytes.length - off, at + off);
    this.size += bytes.length;
    return at;
  }

  /** Read up to `length` bytes at `position` into `buf`; returns how many were read (0 at the end). */
  read(buf: Uint8Array, offset: number, length: number, position: number): number {
    return this.fs.readSync(this.fd, buf, offset, length, position);
  }

  /** Forget the contents: the next append writes at offset 0 again. */
  reset(): void {
    this.size = 0;
  }

  close(): void {
    this.fs.closeSync(this.fd);
  }
}
