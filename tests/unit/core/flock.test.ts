import { describe, expect, test } from "bun:test";
import { closeSync, openSync } from "node:fs";
import { loadFlock, LOCK_EX, LOCK_NB, LOCK_UN } from "../../../lib/core/flock";
import { tempDir } from "../_helpers";

describe("flock(2) through bun:ffi", () => {
  test("loads here, and a second open file description cannot take the lock while it is held", async () => {
    const flock = (await loadFlock())!;
    expect(flock).not.toBeNull();
    expect(await loadFlock()).toBe(flock); // loaded once, shared by concurrent first callers
    const dir = tempDir("hs-flock-");
    const a = openSync(dir, "r");
    const b = openSync(dir, "r");
    try {
      expect(flock(a, LOCK_EX | LOCK_NB)).toBe(0);
      expect(flock(b, LOCK_EX | LOCK_NB)).not.toBe(0);
      expect(flock(a, LOCK_UN)).toBe(0);
      expect(flock(b, LOCK_EX | LOCK_NB)).toBe(0);
    } finally {
      closeSync(a);
      closeSync(b);
    }
  });
});
