/**
 * stdin mode's copy: the bytes of descriptor `fd` (stdin), from its current offset to EOF,
 * appended to the temp file at its offset, by the cheapest path that gives the same bytes.
 *
 * Contract:
 * - Observable result = a read(2)/write(2) loop on `fd` from its CURRENT offset: for a regular
 *   file that is what the shell handed us, so `{ head -c 100 >/dev/null; atomic-write F; } < SRC`
 *   writes SRC from byte 100 on (Bun.stdin.stream() would re-read a regular file from byte 0,
 *   so it is never used for one), and `fd`'s offset ends at EOF, as after `cat`.
 * - Regular file, at least KERNEL_COPY_MIN_BYTES big: copy_file_range(2) in the kernel (FICLONE
 *   when the offset is 0 and the temp file is still empty: nothing copied at all), then the
 *   read/write loop from wherever that stopped (a 0-byte pseudo file, EINVAL/EXDEV/ENOSYS, or a
 *   real write error that the loop meets again and reports with its errno: ENOSPC is IoError, 74).
 *   Smaller files, and where the bindings cannot be loaded: the loop alone (no FFI on the hot path).
 * - Pipe: splice(2) into the temp file (kernel.ts spliceAll: non-blocking on the pipe, yields to
 *   the event loop at least every POLL_MS), then, if splice gave up, Bun's stream on what is left
 *   in the pipe (a pipe has no offset, so nothing is read twice).
 * - Anything else (socket, terminal, /dev/null): Bun's stream, as before.
 * - Signals: every path yields to the event loop at least every few MiB / tens of ms, so the
 *   cleanup handler (temp file removal, exit 128+N) runs during a long copy; after a signal no
 *   further byte is copied. EOF is still all we know of the producer (design.md §3): the caller
 *   makes the commit decision after checkpointSignals().
 * - Memory: one 1 MiB buffer on the loop paths, none on the kernel paths.
 * Out of scope: holes in a sparse stdin file are filled (except when cloned).
 */
import { fstatSync, readSync } from "node:fs";
import { receivedSignal } from "../core/signals";
import { KERNEL_COPY_MIN_BYTES, writeAll } from "./copy";

const CHUNK = 1 << 20;
/** Longest the read/write loop runs before yielding to the event loop (signals). */
const LOOP_BURST_MS = 20;
const SEEK_CUR = 1;

export type StdinMethod = "clone" | "copy_file_range" | "splice" | "read-write" | "stream";

/** Where the input goes: appended to `fd` (the temp file) at its offset; `count` sees every byte. */
export interface StdinSink {
  fd: number;
  /** Temp file as messages show it. */
  subject: string;
  /** The temp file is still empty (stream mode, not --append): a clone may replace its content. */
  empty: boolean;
  count: (n: number) => void;
}

const yieldToLoop = () => new Promise<void>((r) => setImmediate(r));
const interrupted = () => receivedSignal() !== undefined;

/** Thrown read errors keep their errno; the caller words them ("cannot read input: stdin"). */
async function readWriteLoop(fd: number, sink: StdinSink): Promise<number> {
  const buf = Buffer.allocUnsafe(CHUNK);
  let total = 0;
  let until = performance.now() + LOOP_BURST_MS;
  for (;;) {
    const n = readSync(fd, buf, 0, CHUNK, null); // null: from the current offset, advancing it
    if (n === 0) return total;
    writeAll(sink.fd, buf.subarray(0, n), sink.subject);
    sink.count(n);
    total += n;
    if (performance.now() > until) {
      await yieldToLoop();
      if (interrupted()) return total;
      until = performance.now() + LOOP_BURST_MS;
    }
  }
}

/**
 * Copy stdin (`fd`) into the sink. `stream` is Bun's stream of the same stdin, called only for
 * pipes splice could not finish and for non-file, non-pipe stdin. Returns what moved the bulk.
 */
export async function copyStdin(fd: number, stream: () => AsyncIterable<Uint8Array>, sink: StdinSink): Promise<StdinMethod> {
  let st;
  try {
    st = fstatSync(fd);
  } catch {
    st = undefined; // closed stdin: the stream reports it as before
  }
  if (st?.isFile()) {
    let method: StdinMethod = "read-write";
    let inKernel = 0;
    if (st.size >= KERNEL_COPY_MIN_BYTES) {
      const { kernel, copyInKernel } = await import("./kernel");
      const k = await kernel();
      if (k) {
        // FICLONE copies the whole source: only from offset 0, and only into an empty temp file.
        const clone = sink.empty && k.lseek(fd, 0, SEEK_CUR) === 0;
        const r = await copyInKernel(k, fd, sink.fd, { clone, stopped: interrupted });
        inKernel = r.bytes;
        if (r.bytes > 0) sink.count(r.bytes);
        if (r.method !== "none") method = r.method;
        if (interrupted()) return method;
      }
    }
    const rest = await readWriteLoop(fd, sink);
    return rest > inKernel ? "read-write" : method; // what moved the bulk
  }
  if (st?.isFIFO()) {
    const kmod = await import("./kernel");
    const k = await kmod.kernel();
    if (k) {
      // A bigger pipe lets the producer write ahead while we move the last batch (best effort, as
      // for CMD's pipe). The pipe is the producer's too: it is only ever grown, never shrunk.
      const size = k.pipeSize(fd);
      if (size >= 0 && size < kmod.PIPE_SIZE) k.setPipeSize(fd, kmod.PIPE_SIZE);
      const how = await kmod.spliceAll(k, fd, sink.fd, sink.count, interrupted);
      if (how !== "failed") return "splice";
      // "failed": what splice did not move is still in the pipe; the stream below reads it.
    }
  }
  for await (const chunk of stream()) {
    writeAll(sink.fd, chunk, sink.subject);
    sink.count(chunk.length);
    if (interrupted()) break;
  }
  return "stream";
}
