import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { closeSync, mkdtempSync, openSync, readFileSync, readSync, realpathSync, rmSync, writeFileSync, writeSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { kernel, spliceAll } from "../../../lib/atomic/kernel";
import { openPipe } from "../../../lib/atomic/pipe";

let dir: string;
beforeEach(() => {
  dir = realpathSync(mkdtempSync(join(tmpdir(), "hs-kernel-")));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

/** A pipe holding `data` with its write end closed, or undefined where there are no bindings. */
async function filledPipe(data: Buffer) {
  const k = await kernel();
  const p = await openPipe();
  if (!k || !p) return undefined;
  writeSync(p.write, data); // < 64 KiB: fits the pipe without a reader
  closeSync(p.write);
  return { k, read: p.read };
}

describe("spliceAll", () => {
  test("moves every byte of a pipe into a file after what it already holds, and ends at EOF", async () => {
    const data = Buffer.from("spliced\0bytes\n".repeat(3000));
    const p = await filledPipe(data);
    if (!p) return; // not Linux / no FFI: the JS loop is all there is
    writeFileSync(join(dir, "out"), "head:");
    const out = openSync(join(dir, "out"), "r+");
    readSync(out, Buffer.alloc(5)); // offset 5: splice appends at the file offset
    let n = 0;
    const how = await spliceAll(p.k, p.read, out, (c) => (n += c), () => false);
    closeSync(out);
    closeSync(p.read);
    expect(how).toBe("eof");
    expect(n).toBe(data.length);
    expect(readFileSync(join(dir, "out")).equals(Buffer.concat([Buffer.from("head:"), data]))).toBe(true);
  });

  test("a file splice(2) refuses (O_APPEND: EINVAL) ends as 'failed' with every unmoved byte still in the pipe", async () => {
    const data = Buffer.from("left for the read loop\n".repeat(2000));
    const p = await filledPipe(data);
    if (!p) return;
    const out = openSync(join(dir, "out"), "a");
    let n = 0;
    const how = await spliceAll(p.k, p.read, out, (c) => (n += c), () => false);
    closeSync(out);
    expect(how).toBe("failed");
    expect(n).toBe(0);
    const rest = Buffer.alloc(data.length + 1);
    let got = 0;
    for (let r; (r = readSync(p.read, rest, got, rest.length - got, null)) > 0; ) got += r;
    closeSync(p.read);
    expect(rest.subarray(0, got).equals(data)).toBe(true);
  });

  test("a stop request is honoured without touching the pipe again", async () => {
    const k = await kernel();
    const p = await openPipe();
    if (!k || !p) return;
    writeSync(p.write, "some");
    const out = openSync(join(dir, "out"), "w");
    let stop = false;
    setTimeout(() => (stop = true), 50); // the write end stays open: without the stop this never ends
    const how = await spliceAll(k, p.read, out, () => {}, () => stop);
    closeSync(out);
    closeSync(p.read);
    closeSync(p.write);
    expect(how).toBe("stopped");
    expect(readFileSync(join(dir, "out")).toString()).toBe("some");
  });
});
