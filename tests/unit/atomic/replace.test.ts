import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, realpathSync, rmSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { AnswerNo, CantCreateError, TempFailError } from "../../../lib/core/errors";
import { holdLock, lockPathFor } from "../../../lib/core/dirlock";
import { _resetForTests } from "../../../lib/core/signals";
import { replaceAtomically, sha256File, sha256Hex, type Content } from "../../../lib/atomic/replace";

let dir: string;
beforeEach(() => {
  dir = realpathSync(mkdtempSync(join(tmpdir(), "hs-replace-")));
});
afterEach(() => {
  _resetForTests();
  rmSync(dir, { recursive: true, force: true });
});

async function* chunks(...parts: (string | Uint8Array)[]): AsyncIterable<Uint8Array> {
  for (const p of parts) yield typeof p === "string" ? new TextEncoder().encode(p) : p;
}
async function* failing(): AsyncIterable<Uint8Array> {
  yield new TextEncoder().encode("partial");
  throw Object.assign(new Error("read error"), { code: "EIO" });
}
const stream = (...parts: (string | Uint8Array)[]): Content => ({ kind: "stream", stream: chunks(...parts) });
const files = () => readdirSync(dir).sort();

describe("replaceAtomically", () => {
  test("streams bytes as-is into a new file and reports size and hash", async () => {
    const f = join(dir, "f");
    const data = new Uint8Array([0, 1, 2, 0, 10]);
    const r = await replaceAtomically(f, stream(data, "tail"), { hash: true });
    expect(r.committed).toBe(true);
    expect(new Uint8Array(readFileSync(f))).toEqual(new Uint8Array([0, 1, 2, 0, 10, 116, 97, 105, 108]));
    expect(r.bytes).toBe(9);
    expect(r.sha256).toBe(sha256File(f));
    expect(files()).toEqual(["f"]);
  });

  test("an input error leaves the old file and no temp file (74)", async () => {
    const f = join(dir, "f");
    writeFileSync(f, "old");
    const err = await replaceAtomically(f, { kind: "stream", stream: failing() }).catch((e) => e);
    expect(err.exitCode).toBe(74);
    expect(readFileSync(f, "utf8")).toBe("old");
    expect(files()).toEqual(["f"]);
  });

  test("command mode commits only on exit 0 and reports the exit code", async () => {
    const f = join(dir, "f");
    writeFileSync(f, "old");
    const bad = await replaceAtomically(f, { kind: "command", argv: ["sh", "-c", "echo new; exit 3"] });
    expect(bad).toMatchObject({ committed: false, childExitCode: 3 });
    expect(readFileSync(f, "utf8")).toBe("old");
    expect(files()).toEqual(["f"]);
    const good = await replaceAtomically(f, { kind: "command", argv: ["sh", "-c", "printf new"] }, { hash: true });
    expect(good).toMatchObject({ committed: true, childExitCode: 0, bytes: 3, sha256: sha256Hex("new") });
    expect(readFileSync(f, "utf8")).toBe("new");
  });

  test("command mode: CMD's stdout is a pipe (never the temp file) and the commit waits for EOF", async () => {
    const f = join(dir, "f");
    const r = await replaceAtomically(f, { kind: "command", argv: ["sh", "-c", "stat -L -c %F /proc/self/fd/1; (sleep 0.3; printf late) 2>/dev/null &"] }, { hash: true });
    const want = "fifo\nlate";
    expect(r).toMatchObject({ committed: true, bytes: want.length, sha256: sha256Hex(want) });
    expect(readFileSync(f, "utf8")).toBe(want);
  });

  test("edit mode feeds the old content to the command, under the lock", async () => {
    const f = join(dir, "n");
    writeFileSync(f, "41\n");
    await replaceAtomically(f, { kind: "edit", argv: ["sh", "-c", `read x; test -d ${f}.lock && echo $((x + 1))`] });
    expect(readFileSync(f, "utf8")).toBe("42\n");
    expect(existsSync(`${f}.lock`)).toBe(false);
  });

  test("append mode keeps the old content first", async () => {
    const f = join(dir, "log");
    writeFileSync(f, "a\n");
    await replaceAtomically(f, { kind: "append", stream: chunks("b\n") });
    expect(readFileSync(f, "utf8")).toBe("a\nb\n");
  });

  test("keeps the old mode; a new file gets 0666 & ~umask; mode overrides both", async () => {
    const f = join(dir, "f");
    writeFileSync(f, "old");
    chmodSync(f, 0o640);
    await replaceAtomically(f, stream("x"));
    expect(statSync(f).mode & 0o7777).toBe(0o640);
    await replaceAtomically(join(dir, "g"), stream("x"));
    expect(statSync(join(dir, "g")).mode & 0o777).toBe(0o666 & ~process.umask());
    await replaceAtomically(f, stream("y"), { mode: 0o600 });
    expect(statSync(f).mode & 0o7777).toBe(0o600);
  });

  test("a symlink stays a link and its target gets the content", async () => {
    writeFileSync(join(dir, "t"), "old");
    symlinkSync("t", join(dir, "l"));
    const r = await replaceAtomically(join(dir, "l"), stream("new"));
    expect(r.target).toBe(join(dir, "t"));
    expect(readFileSync(join(dir, "t"), "utf8")).toBe("new");
    expect(statSync(join(dir, "l")).isFile()).toBe(true);
  });

  test("ifUnchanged compares the current hash; a mismatch is AnswerNo and nothing changes", async () => {
    const f = join(dir, "f");
    writeFileSync(f, "v1");
    await expect(replaceAtomically(f, stream("v2"), { ifUnchanged: sha256Hex("other") })).rejects.toBeInstanceOf(AnswerNo);
    expect(readFileSync(f, "utf8")).toBe("v1");
    await replaceAtomically(f, stream("v2"), { ifUnchanged: sha256Hex("v1") });
    expect(readFileSync(f, "utf8")).toBe("v2");
    expect(files()).toEqual(["f"]);
  });

  test("ifAbsent creates a missing file and answers no for an existing one", async () => {
    const f = join(dir, "f");
    await replaceAtomically(f, stream("1"), { ifAbsent: true });
    await expect(replaceAtomically(f, stream("2"), { ifAbsent: true })).rejects.toBeInstanceOf(AnswerNo);
    expect(readFileSync(f, "utf8")).toBe("1");
    expect(files()).toEqual(["f"]);
  });

  test("noEmpty refuses empty content", async () => {
    const f = join(dir, "f");
    writeFileSync(f, "old");
    await expect(replaceAtomically(f, stream(), { noEmpty: true })).rejects.toBeInstanceOf(AnswerNo);
    expect(readFileSync(f, "utf8")).toBe("old");
    expect(files()).toEqual(["f"]);
  });

  test("backup keeps the old version beside the file", async () => {
    const f = join(dir, "f");
    writeFileSync(f, "v1");
    const r = await replaceAtomically(f, stream("v2"), { backupSuffix: "" });
    expect(r.backup).toBe(`${f}~`);
    expect(readFileSync(`${f}~`, "utf8")).toBe("v1");
    await replaceAtomically(f, stream("v3"), { backupSuffix: ".orig" });
    expect(readFileSync(`${f}.orig`, "utf8")).toBe("v2");
    expect(files()).toEqual(["f", "f.orig", "f~"]);
  });

  test("a held lock makes a locked write time out with 75 and write nothing", async () => {
    const f = join(dir, "f");
    writeFileSync(f, "old");
    const held = await holdLock(lockPathFor(f), { timeoutMs: 0 });
    const err = await replaceAtomically(f, stream("new"), { lock: true, lockTimeoutMs: 100 }).catch((e) => e);
    held.release();
    expect(err).toBeInstanceOf(TempFailError);
    expect(readFileSync(f, "utf8")).toBe("old");
    expect(files()).toEqual(["f"]);
  });

  test("a directory target is refused with 73 and nothing is written", async () => {
    mkdirSync(join(dir, "d"));
    await expect(replaceAtomically(join(dir, "d"), stream("x"))).rejects.toBeInstanceOf(CantCreateError);
    expect(files()).toEqual(["d"]);
  });

  test("a dead writer's temp file is swept by the next write", async () => {
    const f = join(dir, "f");
    const dead = Bun.spawnSync(["true"]).pid;
    const debris = join(dir, `.f.hardshell-${dead}-0000abcd.tmp`);
    writeFileSync(debris, "partial");
    const r = await replaceAtomically(f, stream("x"), { fsync: false });
    expect(r.removedTemps).toEqual([debris]);
    expect(files()).toEqual(["f"]);
  });
});
