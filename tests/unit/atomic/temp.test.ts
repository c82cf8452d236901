import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { chmodSync, chownSync, closeSync, existsSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createTemp, sweepDeadTemps, tempName, tempOwnerPid } from "../../../lib/atomic/temp";
import { UncreatableDirError } from "../../../lib/atomic/errors";

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "hs-temp-"));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const deadPid = () => Bun.spawnSync(["true"]).pid;

describe("temp names", () => {
  test("the writer pid can be read back, and only for the same FILE", () => {
    const n = tempName("app.conf", 1234);
    expect(n).toMatch(/^\.app\.conf\.hardshell-1234-[0-9a-f]{8}\.tmp$/);
    expect(tempOwnerPid("app.conf", n)).toBe(1234);
    expect(tempOwnerPid("app", n)).toBeUndefined();
    expect(tempOwnerPid("app.conf", "app.conf")).toBeUndefined();
    expect(tempOwnerPid("app.conf", ".app.conf.hardshell-x-00000000.tmp")).toBeUndefined();
  });

  test("a 255-byte FILE name still gives a temp name within NAME_MAX", () => {
    const base = "é".repeat(127) + "x";
    const n = tempName(base, 99);
    expect(Buffer.byteLength(n)).toBeLessThanOrEqual(255);
    expect(tempOwnerPid(base, n)).toBe(99);
    const t = createTemp(dir, base);
    closeSync(t.fd);
    expect(existsSync(t.path)).toBe(true);
  });
});

describe("createTemp", () => {
  test("creates a fresh 0600 file in the directory", () => {
    const t = createTemp(dir, "f");
    closeSync(t.fd);
    expect(statSync(t.path).mode & 0o777).toBe(0o600);
    expect(tempOwnerPid("f", t.path.slice(dir.length + 1))).toBe(process.pid);
  });
});

describe("sweepDeadTemps", () => {
  test("removes only temp files of this FILE whose writer is dead", () => {
    const dead = join(dir, tempName("f", deadPid()));
    const live = join(dir, tempName("f", process.pid));
    const parent = join(dir, tempName("f", process.ppid));
    const other = join(dir, tempName("g", deadPid()));
    for (const p of [dead, live, parent, other, join(dir, "f")]) writeFileSync(p, "");
    expect(sweepDeadTemps(dir, "f")).toEqual([dead]);
    expect(readdirSync(dir).length).toBe(4);
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

  test.skipIf(process.geteuid?.() !== 0)("in a world-writable sticky directory only the caller's own debris is swept", () => {
    chmodSync(dir, 0o1777);
    const pid = deadPid();
    const theirs = join(dir, tempName("f", pid, "0000aaaa"));
    const mine = join(dir, tempName("f", pid, "0000bbbb"));
    writeFileSync(theirs, "");
    writeFileSync(mine, "");
    chownSync(theirs, 65534, 65534);
    expect(sweepDeadTemps(dir, "f")).toEqual([mine]);
    expect(existsSync(theirs)).toBe(true);
  });
});
