import { describe, expect, test } from "bun:test";
import { chmodSync, existsSync, mkdirSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { hardshellName, hardshellNameOwner, shortBase, sweepDead } from "../../../lib/core/tempname";
import { tempName, tempOwnerPid } from "../../../lib/atomic/temp";
import { deadPid, tempDir } from "../_helpers";

describe("one naming scheme", () => {
  test("names carry FILE, the owner pid, a random tag and the kind", () => {
    const n = hardshellName("app.db", "tmp", 42, "0badc0de");
    expect(n).toBe(".app.db.hardshell-42-0badc0de.tmp");
    expect(hardshellNameOwner("app.db", "tmp", n)).toBe(42);
    expect(hardshellNameOwner("app.db", "stale", n)).toBeUndefined();
    expect(hardshellNameOwner("other.db", "tmp", n)).toBeUndefined();
    expect(hardshellName("x", "rm")).toMatch(/^\.x\.hardshell-\d+-[0-9a-f]{8}\.rm$/);
  });
  test("a temp name is atomic-write's temp name, so either sweep recognises the other's debris", () => {
    const n = hardshellName("f", "tmp");
    expect(tempOwnerPid("f", n)).toBe(process.pid);
    expect(hardshellNameOwner("f", "tmp", tempName("f"))).toBe(process.pid);
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
    const other = join(dir, hardshellName("g", "tmp", dead));
    writeFileSync(gone, "");
    mkdirSync(goneDir);
    writeFileSync(join(goneDir, "owner"), "{}");
    writeFileSync(live, "");
    writeFileSync(other, "");
    expect(sweepDead(dir, "f", "tmp")).toEqual([gone]);
    expect(sweepDead(dir, "f", "stale")).toEqual([goneDir]);
    expect(readdirSync(dir).sort()).toEqual([live, other].map((p) => p.slice(dir.length + 1)).sort());
  });
  test("in a world-writable sticky directory another user's file is left alone", () => {
    const dir = tempDir("hs-tempname-");
    chmodSync(dir, 0o1777);
    const theirs = join(dir, hardshellName("f", "tmp", deadPid()));
    writeFileSync(theirs, "");
    require("node:fs").chownSync(theirs, 65534, 65534);
    expect(sweepDead(dir, "f", "tmp")).toEqual([]);
    expect(existsSync(theirs)).toBe(true);
  });
});
