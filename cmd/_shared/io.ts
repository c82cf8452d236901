/**
 * Synchronous, buffered stdout/stderr for commands. Bun's process.stdout is
 * asynchronous for pipes, and `process.exit` would drop what is still queued;
 * writing with writeSync to fd 1/2 means everything printed is out before exit.
 * EAGAIN (a non-blocking stdout inherited from the caller) is retried; EPIPE
 * (the reader went away, e.g. `| head`) ends the process quietly like
 * coreutils do (141 = 128 + SIGPIPE).
 */
// node:fs is loaded on the first write, not at start-up: importing it costs
// ~0.7 ms per call (measured, compiled binary), and a silent call (an INSERT
// that prints nothing) never needs it.
type WriteSync = (fd: number, buf: Uint8Array, offset?: number, length?: number) => number;
let writeSyncFn: WriteSync | undefined;
function writeSync(fd: number, buf: Uint8Array, offset: number, length: number): number {
  writeSyncFn ??= (require("node:fs") as { writeSync: WriteSync }).writeSync;
  return writeSyncFn(fd, buf, offset, length);
}

const CHUNK = 64 * 1024;

function writeAll(fd: number, buf: Uint8Array): void {
  let off = 0;
  while (off < buf.length) {
    try {
      off += writeSync(fd, buf, off, buf.length - off);
    } catch (err) {
      const code = (err as { code?: string }).code;
      if (code === "EAGAIN") {
        Bun.sleepSync(1);
        continue;
      }
      if (code === "EPIPE") process.exit(141);
      throw err;
    }
  }
}

class SyncWriter {
  private parts: string[] = [];
  private size = 0;
  constructor(private readonly fd: number) {}
  write(s: string): void {
    this.parts.push(s);
    this.size += s.length;
    if (this.size >= CHUNK) this.flush();
  }
  /** Raw bytes (a blob for --raw), after what is buffered; same EPIPE/EAGAIN handling as text. */
  writeBytes(b: Uint8Array): void {
    this.flush();
    writeAll(this.fd, b);
  }
  flush(): void {
    if (this.parts.length === 0) return;
    const data = Buffer.from(this.parts.join(""));
    this.parts = [];
    this.size = 0;
    writeAll(this.fd, data);
  }
}

export const stdout = new SyncWriter(1);
export const stderr = new SyncWriter(2);

/** One diagnostic line on stderr, written at once. */
export function printError(line: string): void {
  stdout.flush();
  stderr.write(line.endsWith("\n") ? line : `${line}\n`);
  stderr.flush();
}
