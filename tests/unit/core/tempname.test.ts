import { describe, expect, test } from "bun:test";
import { chmodSync, chownSync, existsSync, lstatSync, mkdirSync, readdirSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { hardshellName, hardshellNameOwner, shortBase, sweepDead } from "../../../lib/core/tempname";
import { deadPid, tempDir } from "../_helpers";

describe("one naming scheme", () => {
  test("names carry FILE, the owner pid, a random tag and the kind", () => {
    const n = hardshellName("app.db", "tmp", 42, "0badc0de");
    expect(n).toBe(".app.db.hardshell-42-0badc0de.tmp");
    expect(hardshellNameOwner("app.db", "tmp", n)).toBe(42);
    expect(hardshellNameOwner("app.db", "stale", n)).toBeUndefined();
    expect(hardshellNameOwner("other.db", "tmp", n)).toBeUndefined();
    expect(hardshellNameOwner("app.db", "tmp", "app.db")).toBeUndefined();
    expect(hardshellNameOwner("app.db", "tmp", ".app.db.hardshell-x-00000000.tmp")).toBeUndefined();
    expect(hardshellName("x", "rm")).toMatch(/^\.x\.hardshell-\d+-[0-9a-f]{8}\.rm$/);
  });
  test("earlier names are still recognised as debris: 6-char base-36 backup tags, hardshell-stale- asides", () => {
    expect(hardshellNameOwner("a.db", "tmp", ".a.db.hardshell-77-k3x9qz.tmp")).toBe(77);
    expect(hardshellNameOwner("f.lock", "stale", ".f.lock.hardshell-stale-77-0badc0de")).toBe(77);
  });
  test("a 255-byte FILE name still gives a name within NAME_MAX", () => {
    const long = "é".repeat(127) + "x";
    expect(Buffer.byteLength(shortBase(long))).toBeLessThanOrEqual(180);
    expect(Buffer.byteLength(hardshellName(long, "stale"))).toBeLessThanOrEqual(255);
  });
});

describe("sweepDead", () => {
  test("removes files and directories of dead owners of that FILE and kind only", () => {
    const dir = tempDir("hs-tempname-");
    const dead = deadPid();
    const gone = join(dir, hardshellName("f", "tmp", dead));
    const goneDir = join(dir, hardshellName("f", "stale", dead));
    const live = join(dir, hardshellName("f", "tmp", process.ppid));
    const mine = join(dir, hardshellName("f", "tmp", process.pid));
    const other = join(dir, hardshellName("g", "tmp", dead));
    writeFileSync(gone, "");
    mkdirSync(goneDir);
    writeFileSync(join(goneDir, "owner"), "{}");
    for (const p of [live, mine, other, join(dir, "f")]) writeFileSync(p, "");
    expect(sweepDead(dir, "f", "tmp")).toEqual([gone]);
    expect(sweepDead(dir, "f", "stale")).toEqual([goneDir]);
    expect(readdirSync(dir).sort()).toEqual([live, mine, other, join(dir, "f")].map((p) => p.slice(dir.length + 1)).sort());
  });
  test("a directory named like a temp file is not a temp file: it is left alone", () => {
    const dir = tempDir("hs-tempname-");
    const notTemp = join(dir, hardshellName("f", "tmp", deadPid()));
    mkdirSync(notTemp);
    expect(sweepDead(dir, "f", "tmp")).toEqual([]);
    expect(existsSync(notTemp)).toBe(true);
  });
  test("in a world-writable sticky directory only the caller's own files go: another user's file and a symlink stay", () => {
    const dir = tempDir("hs-tempname-");
    chmodSync(dir, 0o1777);
    const pid = deadPid();
    const theirs = join(dir, hardshellName("f", "tmp", pid, "0000aaaa"));
    const mine = join(dir, hardshellName("f", "tmp", pid, "0000bbbb"));
    const link = join(dir, hardshellName("f", "tmp", pid, "0000cccc"));
    writeFileSync(theirs, "");
    writeFileSync(mine, "");
    symlinkSync(mine, link);
    chownSync(theirs, 65534, 65534);
    expect(sweepDead(dir, "f", "tmp")).toEqual([mine]);
    expect(existsSync(theirs)).toBe(true);
    expect(lstatSync(link).isSymbolicLink()).toBe(true);
  });
});
