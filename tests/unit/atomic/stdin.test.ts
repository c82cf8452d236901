import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { closeSync, mkdtempSync, openSync, readFileSync, readSync, realpathSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { kernel } from "../../../lib/atomic/kernel";
import { openPipe } from "../../../lib/atomic/pipe";
import { copyStdin } from "../../../lib/atomic/stdin";

let dir: string;
beforeEach(() => {
  dir = realpathSync(mkdtempSync(join(tmpdir(), "hs-stdin-")));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

function randomBytes(size: number): Buffer {
  const data = Buffer.alloc(size);
  for (let i = 0; i < size; i += 65536) crypto.getRandomValues(data.subarray(i, Math.min(size, i + 65536)));
  return data;
}

/** Run copyStdin from `fd` into a fresh file holding `head`; the stream fallback must not be used unless `allowStream`. */
async function copyInto(fd: number, head = "", allowStream = false) {
  const out = join(dir, "out");
  writeFileSync(out, head);
  const o = openSync(out, "r+");
  if (head) readSync(o, Buffer.alloc(head.length)); // offset at the end of `head`, as after --append's old part
  let counted = 0;
  let streamed = false;
  const stream = () => {
    streamed = true;
    if (!allowStream) throw new Error("stream used");
    return (async function* () {})();
  };
  try {
    const method = await copyStdin(fd, stream, { fd: o, subject: "out", empty: head === "", count: (n) => (counted += n) });
    return { method, counted, streamed, content: readFileSync(out) };
  } finally {
    closeSync(o);
  }
}

describe("copyStdin from a regular file", () => {
  test("copies a multi-MiB file byte-exact from its current offset, and leaves the offset at EOF", async () => {
    const data = randomBytes((3 << 20) + 17);
    writeFileSync(join(dir, "src"), data);
    const fd = openSync(join(dir, "src"), "r");
    readSync(fd, Buffer.alloc(100)); // what a shell's `head -c 100` before us consumed
    const r = await copyInto(fd);
    const after = readSync(fd, Buffer.alloc(1), 0, 1, null);
    closeSync(fd);
    expect(r.content.equals(data.subarray(100))).toBe(true);
    expect(r.counted).toBe(data.length - 100);
    expect(after).toBe(0);
    expect(r.streamed).toBe(false);
    if (await kernel()) expect(["copy_file_range", "clone"]).toContain(r.method);
  });

  test("after content already in the temp file (--append) it appends, never clones over it", async () => {
    const data = randomBytes(2 << 20);
    writeFileSync(join(dir, "src"), data);
    const fd = openSync(join(dir, "src"), "r");
    const r = await copyInto(fd, "old part\n");
    closeSync(fd);
    expect(r.content.equals(Buffer.concat([Buffer.from("old part\n"), data]))).toBe(true);
    expect(r.method).not.toBe("clone");
  });

  test("a small file is copied by the read/write loop, from its offset", async () => {
    writeFileSync(join(dir, "src"), "ABCDEFGHIJ");
    const fd = openSync(join(dir, "src"), "r");
    readSync(fd, Buffer.alloc(3));
    const r = await copyInto(fd);
    closeSync(fd);
    expect(r.method).toBe("read-write");
    expect(r.content.toString()).toBe("DEFGHIJ");
  });

  test("a pseudo file whose size reads as 0 is copied whole by the loop", async () => {
    const fd = openSync("/proc/self/status", "r");
    const r = await copyInto(fd);
    closeSync(fd);
    expect(r.content.toString()).toContain("Pid:");
    expect(r.method).toBe("read-write");
  });
});

describe("copyStdin from a pipe", () => {
  test("moves a multi-MiB pipe written by another process byte-exact (splice), without the stream", async () => {
    const p = await openPipe();
    if (!p || !(await kernel())) return; // no FFI: the stream is all there is
    const data = randomBytes((5 << 20) + 3);
    writeFileSync(join(dir, "src"), data);
    const writer = Bun.spawn(["cat", join(dir, "src")], { stdout: p.write, stderr: "inherit" });
    closeSync(p.write);
    const r = await copyInto(p.read);
    closeSync(p.read);
    expect(await writer.exited).toBe(0);
    expect(r.method).toBe("splice");
    expect(r.content.equals(data)).toBe(true);
    expect(r.counted).toBe(data.length);
  });
  test("a pipe bigger than the one it would ask for is never shrunk (it is the producer's too)", async () => {
    const p = await openPipe();
    const k = await kernel();
    if (!p || !k) return;
    const big = 4 << 20;
    if (k.setPipeSize(p.write, big) !== big) {
      closeSync(p.read);
      closeSync(p.write);
      return; // over fs.pipe-max-size for this user: nothing to observe
    }
    // The producer starts late: the pipe is empty when copyStdin looks at it, so a shrink would succeed.
    const writer = Bun.spawn(["sh", "-c", "sleep 0.2; head -c 3000000 /dev/zero"], { stdout: p.write, stderr: "inherit" });
    closeSync(p.write);
    const r = await copyInto(p.read);
    const after = k.pipeSize(p.read);
    closeSync(p.read);
    expect(await writer.exited).toBe(0);
    expect(r.content.length).toBe(3000000);
    expect(after).toBe(big);
  });

  test("a small pipe is grown so the producer can write ahead", async () => {
    const p = await openPipe();
    const k = await kernel();
    if (!p || !k) return;
    writeFileSync(join(dir, "src"), "small\n");
    const writer = Bun.spawn(["cat", join(dir, "src")], { stdout: p.write, stderr: "inherit" });
    closeSync(p.write);
    const before = k.pipeSize(p.read);
    const r = await copyInto(p.read);
    const after = k.pipeSize(p.read);
    closeSync(p.read);
    expect(await writer.exited).toBe(0);
    expect(r.content.toString()).toBe("small\n");
    expect(after).toBeGreaterThan(before);
  });
});

describe("copyStdin from anything else", () => {
  test("a character device (/dev/null) goes through the stream", async () => {
    const fd = openSync("/dev/null", "r");
    const r = await copyInto(fd, "", true);
    closeSync(fd);
    expect(r.method).toBe("stream");
    expect(r.streamed).toBe(true);
    expect(r.content.length).toBe(0);
  });
});
