import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { chmodSync, chownSync, existsSync, lchownSync, mkdirSync, mkdtempSync, realpathSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CantCreateError } from "../../../lib/core/errors";
import { resolveTarget, shownDir, shownInDir, shownTarget } from "../../../lib/atomic/target";
import { ProtectedPathError } from "../../../lib/atomic/errors";

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

  test("relative links with .. resolve against the directory actually reached", () => {
    mkdirSync(join(dir, "a/b"), { recursive: true });
    symlinkSync("a/b", join(dir, "ab"));
    symlinkSync("../x", join(dir, "a/b/up")); // from a/b: ../x is a/x
    const t = resolveTarget(join(dir, "ab/up"));
    expect(t.target).toBe(join(dir, "a/x"));
    expect(t.viaSymlink).toBe(true);
  });
});

describe("paths as typed", () => {
  test("the typed path is kept; messages name FILE, its directory and files beside it in the typed spelling", () => {
    mkdirSync(join(dir, "a/b"), { recursive: true });
    const typed = `${dir}/a/b/../b//f`; // absolute, unnormalised: kept as is
    const t = resolveTarget(typed);
    expect(t.typed).toBe(typed);
    expect(t.target).toBe(join(dir, "a/b/f"));
    expect(shownTarget(t)).toBe(typed);
    expect(shownInDir(t, ".f.tmp")).toBe(`${dir}/a/b/../b//.f.tmp`);
    expect(shownDir(t)).toBe(`${dir}/a/b/../b/`);
  });

  test("a FILE without a directory part has temp names without one and '.' as its directory", () => {
    const t = resolveTarget("hs-no-such-file-here");
    expect(shownInDir(t, ".x.tmp")).toBe(".x.tmp");
    expect(shownDir(t)).toBe(".");
  });

  test("errors on the walk name the directory by its typed prefix", () => {
    mkdirSync(join(dir, "a"));
    const typed = `${dir}/a/../nope/f`;
    const err = (() => {
      try {
        resolveTarget(typed);
      } catch (e) {
        return e as CantCreateError;
      }
    })();
    expect(err?.subject).toBe(`${dir}/a/../nope`);
    expect(err?.hint).toContain(typed);
  });

  test("after a symlink, paths are the real ones (relative to the cwd when under it)", () => {
    mkdirSync(join(dir, "real"));
    symlinkSync("real/t", join(dir, "link"));
    const t = resolveTarget(join(dir, "link"));
    expect(t.typed).toBe(join(dir, "link"));
    expect(shownTarget(t)).toBe(join(dir, "real/t"));
    expect(shownInDir(t, ".t.tmp")).toBe(join(dir, "real/.t.tmp"));
  });
});

const asRoot = process.geteuid?.() === 0;
const NOBODY = 65534;

function thrown(fn: () => unknown): unknown {
  try {
    fn();
  } catch (e) {
    return e;
  }
  return undefined;
}

describe.skipIf(!asRoot)("resolveTarget in a world-writable sticky directory (as root)", () => {
  let shared: string;
  beforeEach(() => {
    shared = join(dir, "shared");
    mkdirSync(shared);
    chmodSync(shared, 0o1777);
  });

  test("another user's symlink is not followed: ProtectedPathError (77) with its reason fields", () => {
    writeFileSync(join(dir, "victim"), "secret");
    symlinkSync(join(dir, "victim"), join(shared, "link"));
    lchownSync(join(shared, "link"), NOBODY, NOBODY);
    const err = thrown(() => resolveTarget(join(shared, "link")));
    expect(err).toBeInstanceOf(ProtectedPathError);
    expect(err).toMatchObject({ exitCode: 77, action: "follow", path: join(shared, "link"), ownerUid: NOBODY, dir: shared, dirOwnerUid: 0, callerUid: 0 });
  });

  test("another user's file is not to be replaced", () => {
    writeFileSync(join(shared, "f"), "theirs");
    chownSync(join(shared, "f"), NOBODY, NOBODY);
    expect(thrown(() => resolveTarget(join(shared, "f")))).toMatchObject({ action: "replace", ownerUid: NOBODY });
  });

  test("mkdir never creates through another user's symlinked directory", () => {
    mkdirSync(join(dir, "elsewhere"));
    symlinkSync(join(dir, "elsewhere"), join(shared, "sub"));
    lchownSync(join(shared, "sub"), NOBODY, NOBODY);
    expect(thrown(() => resolveTarget(join(shared, "sub/a/f"), { mkdir: true }))).toBeInstanceOf(ProtectedPathError);
    expect(existsSync(join(dir, "elsewhere/a"))).toBe(false);
  });

  test("links and files of the caller or of the directory's owner are used", () => {
    chownSync(shared, NOBODY, NOBODY);
    writeFileSync(join(shared, "owners"), "x");
    chownSync(join(shared, "owners"), NOBODY, NOBODY);
    expect(resolveTarget(join(shared, "owners")).target).toBe(join(shared, "owners"));
    writeFileSync(join(dir, "t"), "x");
    symlinkSync(join(dir, "t"), join(shared, "l1"));
    lchownSync(join(shared, "l1"), NOBODY, NOBODY);
    expect(resolveTarget(join(shared, "l1")).target).toBe(join(dir, "t"));
    symlinkSync(join(dir, "t"), join(shared, "l2"));
    expect(resolveTarget(join(shared, "l2")).target).toBe(join(dir, "t"));
  });

  test("without the sticky bit (or without o+w) the rule does not apply, as in the kernel", () => {
    chmodSync(shared, 0o777);
    writeFileSync(join(shared, "f"), "theirs");
    chownSync(join(shared, "f"), NOBODY, NOBODY);
    expect(resolveTarget(join(shared, "f")).stat?.uid).toBe(NOBODY);
    chmodSync(shared, 0o1775);
    expect(resolveTarget(join(shared, "f")).stat?.uid).toBe(NOBODY);
  });
});
