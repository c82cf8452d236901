import { describe, expect, test } from "bun:test";
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { ScratchFile, scratchPath } from "../../../lib/core/scratch";
import { tempDir, thrownBy } from "../_helpers";

const withTmpdir = <T>(dir: string, fn: () => T): T => {
  const old = process.env.TMPDIR;
  process.env.TMPDIR = dir;
  try {
    return fn();
  } finally {
    if (old === undefined) delete process.env.TMPDIR;
    else process.env.TMPDIR = old;
  }
};

describe("ScratchFile", () => {
  test("is unlinked at once: nothing of it is left in $TMPDIR while it is open", () => {
    const dir = tempDir();
    const f = withTmpdir(dir, () => new ScratchFile(scratchPath("hs-test")));
    f.append(new TextEncoder().encode("held"));
    expect(readdirSync(dir)).toEqual([]);
    f.close();
  });

  test("reads back what was appended, at the offsets append returned", () => {
    const f = new ScratchFile(scratchPath("hs-test"));
    const a = f.append(Buffer.from("abc"));
    const b = f.append(Buffer.from("defgh"));
    expect([a, b, f.size]).toEqual([0, 3, 8]);
    const buf = Buffer.alloc(5);
    expect(f.read(buf, 0, 5, b)).toBe(5);
    expect(buf.toString()).toBe("defgh");
    f.close();
  });

  test("reset reuses the file from offset 0", () => {
    const f = new ScratchFile(scratchPath("hs-test"));
    f.append(Buffer.from("old content"));
    f.reset();
    expect(f.size).toBe(0);
    expect(f.append(Buffer.from("new"))).toBe(0);
    const buf = Buffer.alloc(3);
    f.read(buf, 0, 3, 0);
    expect(buf.toString()).toBe("new");
    f.close();
  });

  test("a $TMPDIR that does not exist: the system error is thrown as it is", () => {
    const missing = join(tempDir(), "gone");
    const err = thrownBy(Error, () => withTmpdir(missing, () => new ScratchFile(scratchPath("hs-test"))));
    expect((err as { code?: string }).code).toBe("ENOENT");
  });
});
