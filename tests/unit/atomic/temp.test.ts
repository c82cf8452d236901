import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { closeSync, existsSync, mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createTemp } from "../../../lib/atomic/temp";
import { hardshellNameOwner } from "../../../lib/core/tempname";
import { UncreatableDirError } from "../../../lib/atomic/errors";

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "hs-temp-"));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe("createTemp", () => {
  test("a 255-byte FILE name still gets a temp file, its pid readable from the name", () => {
    const base = "é".repeat(127) + "x";
    const t = createTemp(dir, base);
    closeSync(t.fd);
    expect(existsSync(t.path)).toBe(true);
    expect(Buffer.byteLength(t.path.slice(dir.length + 1))).toBeLessThanOrEqual(255);
    expect(hardshellNameOwner(base, "tmp", t.path.slice(dir.length + 1))).toBe(process.pid);
  });

  test("creates a fresh 0600 file in the directory", () => {
    const t = createTemp(dir, "f");
    closeSync(t.fd);
    expect(statSync(t.path).mode & 0o777).toBe(0o600);
    expect(t.path.slice(dir.length + 1)).toMatch(/^\.f\.hardshell-\d+-[0-9a-f]{8}\.tmp$/);
    expect(hardshellNameOwner("f", "tmp", t.path.slice(dir.length + 1))).toBe(process.pid);
  });
});

describe("file systems and shared directories", () => {
  test.skipIf(!existsSync("/proc/version"))("a directory that refuses new files (/proc) is UncreatableDirError (77), not 'does not exist'", () => {
    let err: unknown;
    try {
      createTemp("/proc", "version");
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(UncreatableDirError);
    expect(err).toMatchObject({ exitCode: 77, dir: "/proc", target: "/proc/version", errno: "ENOENT" });
  });
});
