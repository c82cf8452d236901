import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { closeSync, mkdtempSync, openSync, readFileSync, realpathSync, rmSync, writeFileSync, writeSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { copyFileContent, KERNEL_COPY_MIN_BYTES, sha256OfFd } from "../../../lib/atomic/copy";
import { kernel } from "../../../lib/atomic/kernel";
import { openPipe } from "../../../lib/atomic/pipe";
import { sha256Hex } from "../../../lib/atomic/replace";

let dir: string;
beforeEach(() => {
  dir = realpathSync(mkdtempSync(join(tmpdir(), "hs-copy-")));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

function randomFile(name: string, size: number, tail: string): Buffer {
  const data = Buffer.alloc(size);
  for (let i = 0; i < size; i += 65536) crypto.getRandomValues(data.subarray(i, Math.min(size, i + 65536)));
  const all = Buffer.concat([data, Buffer.from(tail)]);
  writeFileSync(join(dir, name), all);
  return all;
}

/** Copy `src` into a fresh file with copyFileContent, then append `after` the way --append does. */
async function copyThenAppend(srcFd: number, opts: Parameters<typeof copyFileContent>[3], after = "") {
  const dst = openSync(join(dir, "dst"), "w+");
  try {
    const r = await copyFileContent(srcFd, dst, "src", opts);
    if (after) writeSync(dst, after); // at the offset the copy left: the end
    return { ...r, hash: sha256OfFd(dst, "dst"), content: readFileSync(join(dir, "dst")) };
  } finally {
    closeSync(dst);
  }
}

describe("copyFileContent", () => {
  test("with the kernel paths refused it copies by read/write, byte-exact, and the offset ends at the end", async () => {
    const want = randomFile("src", 3 << 20, "no newline");
    const src = openSync(join(dir, "src"), "r");
    const r = await copyThenAppend(src, { clone: false, copyFileRange: false }, "+x");
    closeSync(src);
    expect(r.method).toBe("read-write");
    expect(r.bytes).toBe(want.length);
    expect(r.content.equals(Buffer.concat([want, Buffer.from("+x")]))).toBe(true);
  });

  test("a source the kernel cannot copy from (a pipe) falls back to read/write with every byte", async () => {
    const p = await openPipe();
    if (!p || !(await kernel())) return; // no FFI here: nothing but read/write exists to test
    const data = Buffer.from("through a pipe\0with a NUL\n".repeat(1000)); // < 64 KiB: fits the pipe
    writeSync(p.write, data);
    closeSync(p.write);
    // size undefined: the kernel paths are tried, and both refuse a pipe (EINVAL/EBADF).
    const r = await copyThenAppend(p.read, {}, "end");
    closeSync(p.read);
    expect(r.method).toBe("read-write");
    expect(r.bytes).toBe(data.length);
    expect(r.content.equals(Buffer.concat([data, Buffer.from("end")]))).toBe(true);
  });

  test("a pseudo file whose size the kernel reports as 0 (/proc) is still copied whole", async () => {
    let src: number;
    try {
      src = openSync("/proc/self/status", "r");
    } catch {
      return; // no /proc here
    }
    const r = await copyThenAppend(src, {});
    closeSync(src);
    expect(r.content.toString()).toStartWith("Name:");
    expect(r.bytes).toBe(r.content.length);
  });

  test("a big regular file is copied in the kernel where it can be, byte-exact, and appending continues at its end", async () => {
    const want = randomFile("src", KERNEL_COPY_MIN_BYTES * 2, "last line\n");
    const src = openSync(join(dir, "src"), "r");
    const r = await copyThenAppend(src, { size: want.length }, "appended\n");
    closeSync(src);
    const expected = Buffer.concat([want, Buffer.from("appended\n")]);
    if (process.platform === "linux" && (await kernel())) expect(["clone", "copy_file_range"]).toContain(r.method);
    expect(r.bytes).toBe(want.length);
    expect(r.content.equals(expected)).toBe(true);
    expect(r.hash).toBe(sha256Hex(expected));
  });

  test("a small file skips the kernel paths", async () => {
    const want = randomFile("src", 1000, "x");
    const src = openSync(join(dir, "src"), "r");
    const r = await copyThenAppend(src, { size: want.length });
    closeSync(src);
    expect(r.method).toBe("read-write");
    expect(r.content.equals(want)).toBe(true);
  });
});
