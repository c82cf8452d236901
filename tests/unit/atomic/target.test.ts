import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, realpathSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CantCreateError } from "../../../lib/core/errors";
import { resolveTarget } from "../../../lib/atomic/target";

let dir: string;
beforeEach(() => {
  dir = realpathSync(mkdtempSync(join(tmpdir(), "hs-target-")));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe("resolveTarget", () => {
  test("an existing regular file is its own target", () => {
    writeFileSync(join(dir, "f"), "x");
    const t = resolveTarget(join(dir, "f"));
    expect(t.target).toBe(join(dir, "f"));
    expect(t.stat?.isFile()).toBe(true);
    expect(t.viaSymlink).toBe(false);
  });

  test("a chain of relative symlinks resolves to the final target, dangling ones too", () => {
    mkdirSync(join(dir, "real"));
    writeFileSync(join(dir, "real", "t"), "x");
    symlinkSync("real/t", join(dir, "mid"));
    symlinkSync("mid", join(dir, "link"));
    const t = resolveTarget(join(dir, "link"));
    expect(t.target).toBe(join(dir, "real", "t"));
    expect(t.dir).toBe(join(dir, "real"));
    expect(t.viaSymlink).toBe(true);
    symlinkSync("real/new", join(dir, "dangling"));
    const d = resolveTarget(join(dir, "dangling"));
    expect(d.target).toBe(join(dir, "real", "new"));
    expect(d.stat).toBeUndefined();
  });

  test("a symlink loop is refused", () => {
    symlinkSync("b", join(dir, "a"));
    symlinkSync("a", join(dir, "b"));
    expect(() => resolveTarget(join(dir, "a"))).toThrow(CantCreateError);
  });

  test("directories, FIFOs and devices are refused (73) without being opened", () => {
    mkdirSync(join(dir, "d"));
    expect(() => resolveTarget(join(dir, "d"))).toThrow(/directory/);
    Bun.spawnSync(["mkfifo", join(dir, "p")]);
    expect(() => resolveTarget(join(dir, "p"))).toThrow(/FIFO/); // would hang if opened
    symlinkSync("/dev/null", join(dir, "n"));
    const err = (() => {
      try {
        resolveTarget(join(dir, "n"));
      } catch (e) {
        return e;
      }
    })();
    expect(err).toBeInstanceOf(CantCreateError);
    expect((err as CantCreateError).exitCode).toBe(73);
  });

  test("a missing parent is 73 unless mkdir, which creates it", () => {
    expect(() => resolveTarget(join(dir, "a/b/f"))).toThrow(CantCreateError);
    const t = resolveTarget(join(dir, "a/b/f"), { mkdir: true });
    expect(t.created).toEqual([join(dir, "a"), join(dir, "a/b")]);
    expect(resolveTarget(join(dir, "a/b/f")).created).toEqual([]);
  });

  test("a parent that is a file is 73", () => {
    writeFileSync(join(dir, "file"), "");
    expect(() => resolveTarget(join(dir, "file/f"))).toThrow(CantCreateError);
    expect(() => resolveTarget(join(dir, "file/f"), { mkdir: true })).toThrow(CantCreateError);
  });
});
