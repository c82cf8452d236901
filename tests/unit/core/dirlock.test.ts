import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import lockfile from "proper-lockfile";
import { TempFailError } from "../../../lib/core/errors";
import { holdLock, judgeLock, lockDirMode, lockPathFor, readLockOwner } from "../../../lib/core/dirlock";
import { jobLiveness, procStat, processStartTime, thisHost } from "../../../lib/core/liveness";
import { _resetForTests, runCleanups } from "../../../lib/core/signals";

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "hs-lock-"));
});
afterEach(() => {
  _resetForTests();
  rmSync(dir, { recursive: true, force: true });
});

/** A pid that is certainly dead: a child we already reaped. */
function deadPid(): number {
  return Bun.spawnSync(["true"]).pid;
}

/** Leave a lock directory as a SIGKILLed holder would: owner record with a dead pid, mtime `ageMs` ago. */
function plantLock(lockPath: string, opts: { pid?: number; host?: string; ageMs: number; owner?: boolean }): void {
  mkdirSync(lockPath);
  if (opts.owner !== false) {
    const owner = { pid: opts.pid ?? deadPid(), host: opts.host ?? thisHost(), createdAt: Date.now() - opts.ageMs };
    writeFileSync(join(lockPath, "owner"), JSON.stringify(owner));
  }
  const t = new Date(Date.now() - opts.ageMs);
  utimesSync(lockPath, t, t);
}

describe("holdLock", () => {
  test("creates a lock directory with our owner record and removes it on release", async () => {
    const lp = join(dir, "f.lock");
    const held = await holdLock(lp, { timeoutMs: 0, command: "test" });
    const owner = readLockOwner(lp)!;
    expect(owner.pid).toBe(process.pid);
    expect(owner.host).toBe(thisHost());
    expect(owner.command).toBe("test");
    expect(typeof owner.startTime).toBe("number");
    expect(judgeLock(lp, 10_000).verdict).toBe("running");
    held.release();
    held.release(); // idempotent
    expect(existsSync(lp)).toBe(false);
  });

  test("a second holder times out with TempFailError (exit 75) naming attempts and time waited", async () => {
    const lp = join(dir, "f.lock");
    const held = await holdLock(lp, { timeoutMs: 0 });
    const err = await holdLock(lp, { timeoutMs: 150 }).catch((e) => e);
    expect(err).toBeInstanceOf(TempFailError);
    expect(err.exitCode).toBe(75);
    expect(err.attempts).toBeGreaterThan(1);
    expect(err.message).toContain(`pid ${process.pid}`);
    held.release();
  });

  test("waiters get the lock once the holder releases it", async () => {
    const lp = join(dir, "f.lock");
    const held = await holdLock(lp, { timeoutMs: 0 });
    setTimeout(() => held.release(), 50);
    const second = await holdLock(lp, { timeoutMs: 2000 });
    expect(readLockOwner(lp)!.pid).toBe(process.pid);
    second.release();
  });

  test("a stale lock (dead pid, old mtime) is taken over", async () => {
    const lp = join(dir, "f.lock");
    plantLock(lp, { ageMs: 60_000 });
    expect(judgeLock(lp, 10_000).verdict).toBe("stale");
    const held = await holdLock(lp, { timeoutMs: 1000 });
    expect(readLockOwner(lp)!.pid).toBe(process.pid);
    held.release();
    expect(existsSync(lp)).toBe(false);
  });

  test("a takeover also removes locks a SIGKILLed taker-over left moved aside", async () => {
    const lp = join(dir, "f.lock");
    const debris = join(dir, `.f.lock.hardshell-${deadPid()}-0badc0de.stale`);
    mkdirSync(debris);
    writeFileSync(join(debris, "owner"), "{}");
    const live = join(dir, `.f.lock.hardshell-${process.pid}-0badc0de.stale`);
    mkdirSync(live);
    plantLock(lp, { ageMs: 60_000 });
    const held = await holdLock(lp, { timeoutMs: 1000 });
    held.release();
    expect(existsSync(debris)).toBe(false);
    expect(existsSync(live)).toBe(true);
  });

  test("a dead owner with a fresh mtime is young, and kept until staleMs passes", async () => {
    const lp = join(dir, "f.lock");
    plantLock(lp, { ageMs: 0 });
    expect(judgeLock(lp, 10_000).verdict).toBe("young");
    await expect(holdLock(lp, { timeoutMs: 100 })).rejects.toBeInstanceOf(TempFailError);
    const held = await holdLock(lp, { timeoutMs: 3000, staleMs: 300 });
    held.release();
  });

  test("a running owner is never stale, however old the mtime", () => {
    const lp = join(dir, "f.lock");
    plantLock(lp, { pid: process.pid, ageMs: 3_600_000 });
    expect(judgeLock(lp, 10_000).verdict).toBe("running");
  });

  test("an owner on another host is unknown until the conservative wait has passed", () => {
    const lp = join(dir, "f.lock");
    plantLock(lp, { pid: 1, host: "elsewhere.invalid", ageMs: 20_000 });
    expect(judgeLock(lp, 10_000).verdict).toBe("unknown");
    expect(judgeLock(lp, 10_000, { unknownStaleMs: 15_000 }).verdict).toBe("stale");
  });

  test("a lock of ours whose creator died before recording itself is stale after staleMs alone", async () => {
    const lp = join(dir, "f.lock");
    mkdirSync(lp, 0o1755); // what tryCreate makes, killed before the owner write
    writeFileSync(join(lp, "owner"), ""); // or killed between open and write
    utimesSync(lp, new Date(Date.now() - 20_000), new Date(Date.now() - 20_000));
    expect(judgeLock(lp, 10_000).verdict).toBe("stale");
    const held = await holdLock(lp, { timeoutMs: 2000 });
    expect(readLockOwner(lp)?.pid).toBe(process.pid);
    held.release();
  });

  test("another tool's lock with no owner (no sticky mark) waits out the conservative grace", () => {
    const lp = join(dir, "f.lock");
    mkdirSync(lp, 0o755);
    utimesSync(lp, new Date(Date.now() - 20_000), new Date(Date.now() - 20_000));
    expect(judgeLock(lp, 10_000).verdict).toBe("unknown");
    expect(judgeLock(lp, 10_000, { unknownStaleMs: 15_000 }).verdict).toBe("stale");
  });

  test("a missing lock is not stale; a plain file named .lock is never taken over", () => {
    expect(judgeLock(join(dir, "none.lock"), 10_000)).toMatchObject({ verdict: "young", missing: true });
    const lp = join(dir, "f.lock");
    writeFileSync(lp, "x");
    utimesSync(lp, new Date(0), new Date(0));
    expect(judgeLock(lp, 10_000).verdict).toBe("unknown");
  });

  test("the mtime is refreshed while held", async () => {
    const lp = join(dir, "f.lock");
    const old = new Date(Date.now() - 60_000);
    const held = await holdLock(lp, { timeoutMs: 0, updateMs: 20 });
    utimesSync(lp, old, old);
    await Bun.sleep(80);
    expect(judgeLock(lp, 10_000).ageMs).toBeLessThan(1000);
    held.release();
  });

  test("release never removes a lock that was replaced meanwhile, and the holder is told", async () => {
    const lp = join(dir, "f.lock");
    const held = await holdLock(lp, { timeoutMs: 0, updateMs: 10 });
    rmSync(lp, { recursive: true });
    plantLock(lp, { pid: process.pid, ageMs: 5_000 }); // same pid, another createdAt: not our lock
    await Bun.sleep(50);
    expect(held.compromised).toBeDefined();
    held.release();
    expect(existsSync(join(lp, "owner"))).toBe(true);
  });

  test("signal cleanups release the lock", async () => {
    const lp = join(dir, "f.lock");
    await holdLock(lp, { timeoutMs: 0 });
    runCleanups();
    expect(existsSync(lp)).toBe(false);
  });
});

describe("proper-lockfile as a real peer", () => {
  test("a lock held by hardshell is locked for proper-lockfile", async () => {
    const f = join(dir, "data");
    writeFileSync(f, "");
    const held = await holdLock(lockPathFor(f), { timeoutMs: 0 });
    expect(await lockfile.check(f)).toBe(true);
    await expect(lockfile.lock(f, { retries: 0 })).rejects.toMatchObject({ code: "ELOCKED" });
    held.release();
    expect(await lockfile.check(f)).toBe(false);
  });

  test("a lock held by proper-lockfile is locked for hardshell, and free after its release", async () => {
    const f = join(dir, "data");
    writeFileSync(f, "");
    const release = await lockfile.lock(f);
    expect(judgeLock(lockPathFor(f), 10_000).verdict).toBe("young");
    await expect(holdLock(lockPathFor(f), { timeoutMs: 100 })).rejects.toBeInstanceOf(TempFailError);
    await release();
    const held = await holdLock(lockPathFor(f), { timeoutMs: 1000 });
    held.release();
  });
});

describe("stale takeover under contention", () => {
  test("12 processes racing on one stale lock hold it one at a time, and all get it", async () => {
    const lp = join(dir, "shared.lock");
    const log = join(dir, "log");
    writeFileSync(log, "");
    const script = join(dir, "waiter.ts");
    const lockModule = join(import.meta.dir, "../../../lib/core/dirlock.ts");
    writeFileSync(
      script,
      `import { appendFileSync } from "node:fs";
import { holdLock } from ${JSON.stringify(lockModule)};
const [lp, log, go] = process.argv.slice(2);
while (Date.now() < Number(go)) await Bun.sleep(1);
const held = await holdLock(lp, { timeoutMs: 20000 });
appendFileSync(log, "in " + process.pid + "\\n");
await Bun.sleep(15);
appendFileSync(log, "out " + process.pid + "\\n");
held.release();
`,
    );
    for (let round = 0; round < 2; round++) {
      writeFileSync(log, "");
      rmSync(lp, { recursive: true, force: true });
      plantLock(lp, { ageMs: 60_000 });
      const go = Date.now() + 600; // start together, after every bun has loaded
      const procs = Array.from({ length: 12 }, () =>
        Bun.spawn([process.execPath, script, lp, log, String(go)], { stdout: "inherit", stderr: "inherit" }),
      );
      const codes = await Promise.all(procs.map((p) => p.exited));
      expect(codes.every((c) => c === 0)).toBe(true);
      const lines = readFileSync(log, "utf8").trim().split("\n");
      expect(lines.length).toBe(24);
      for (let i = 0; i < lines.length; i += 2) {
        const pid = lines[i]!.split(" ")[1];
        expect(lines[i]).toBe(`in ${pid}`);
        expect(lines[i + 1]).toBe(`out ${pid}`); // nobody else got in between
      }
      expect(new Set(lines.map((l) => l.split(" ")[1])).size).toBe(12);
      expect(existsSync(lp)).toBe(false);
    }
  }, 60_000);
});

describe("the command a lock is held around", () => {
  /** Plant a lock whose owner is dead and whose recorded command is `child`. */
  function plantWithChild(lp: string, child: Record<string, number>, ageMs = 60_000): void {
    mkdirSync(lp);
    const owner = { pid: deadPid(), host: thisHost(), createdAt: Date.now() - ageMs, child };
    writeFileSync(join(lp, "owner"), JSON.stringify(owner));
    const t = new Date(Date.now() - ageMs);
    utimesSync(lp, t, t);
  }

  test("a dead owner's lock is running while its command runs, and stale once it is gone", async () => {
    const lp = join(dir, "f.lock");
    const cmd = Bun.spawn(["sleep", "30"]);
    try {
      plantWithChild(lp, { pid: cmd.pid, startTime: processStartTime(cmd.pid)! });
      const j = judgeLock(lp, 10_000);
      expect(j.verdict).toBe("running");
      expect(j.holder).toBe(cmd.pid);
      const err = await holdLock(lp, { timeoutMs: 100 }).catch((e) => e);
      expect(err).toBeInstanceOf(TempFailError);
      expect(err.message).toContain(`held by pid ${cmd.pid}`);
    } finally {
      cmd.kill(9);
      await cmd.exited;
    }
    expect(judgeLock(lp, 10_000).verdict).toBe("stale");
  });

  test("a recycled command pid (another start time) does not keep the lock", () => {
    const lp = join(dir, "f.lock");
    plantWithChild(lp, { pid: process.pid, startTime: processStartTime(process.pid)! - 1 });
    expect(judgeLock(lp, 10_000).verdict).toBe("stale");
  });

  test("the command's own process group keeps the lock after the command itself ended", async () => {
    const lp = join(dir, "f.lock");
    // detached: setsid, so the shell leads its own group; its background sleep stays in it.
    const sh = Bun.spawn(["sh", "-c", "sleep 30 >/dev/null 2>&1 & echo $!"], { detached: true, stdout: "pipe" });
    const shStart = processStartTime(sh.pid)!; // before any await: not reaped yet
    const grandchild = Number((await new Response(sh.stdout).text()).trim());
    await sh.exited;
    try {
      plantWithChild(lp, { pid: sh.pid, startTime: shStart, pgid: sh.pid, pgidStart: shStart });
      const j = judgeLock(lp, 10_000);
      expect(j.verdict).toBe("running");
      expect(j.holder).toBe(grandchild); // the live member, not the gone leader
      expect(jobLiveness({ pid: sh.pid, startTime: shStart })).toBe("dead"); // the command alone is gone
      // A group id whose leader pid now belongs to another process is a recycled group.
      expect(jobLiveness({ pid: sh.pid, startTime: shStart, pgid: process.pid, pgidStart: processStartTime(process.pid)! - 1 })).toBe("dead");
    } finally {
      process.kill(grandchild, "SIGKILL");
    }
    for (let i = 0; i < 200 && procStat(grandchild) && procStat(grandchild)!.state !== "Z"; i++) await Bun.sleep(10);
    expect(judgeLock(lp, 10_000).verdict).toBe("stale");
  });

  test("adoptChild records the command; the lock stays ours and is released as before", async () => {
    const lp = join(dir, "f.lock");
    const held = await holdLock(lp, { timeoutMs: 0 });
    const cmd = Bun.spawn(["sleep", "30"]);
    try {
      held.adoptChild(cmd.pid);
      const owner = readLockOwner(lp)!;
      expect(owner.pid).toBe(process.pid);
      expect(owner.child?.pid).toBe(cmd.pid);
      expect(owner.child?.startTime).toBe(processStartTime(cmd.pid)!);
      // Bun.spawn keeps our process group, which this test runner does not lead: not the job's own.
      expect(owner.child?.pgid).toBeUndefined();
    } finally {
      cmd.kill(9);
      await cmd.exited;
    }
    held.release();
    expect(existsSync(lp)).toBe(false);
  });

  test("another host's command is unknown, never stale on doubt", () => {
    const lp = join(dir, "f.lock");
    mkdirSync(lp);
    writeFileSync(join(lp, "owner"), JSON.stringify({ pid: 1234, host: "elsewhere.invalid", createdAt: 1, child: { pid: 99, startTime: 1 } }));
    const t = new Date(Date.now() - 20_000);
    utimesSync(lp, t, t);
    expect(judgeLock(lp, 10_000).verdict).toBe("unknown");
  });
});

describe("takeover flock", () => {
  test("a flock held on the parent directory by another process does not block taking over a stale lock", async () => {
    const lp = join(dir, "f.lock");
    plantLock(lp, { ageMs: 60_000 });
    const ready = join(dir, "flocked");
    const holder = Bun.spawn(["flock", dir, "sh", "-c", `: > '${ready}'; exec sleep 30`], { stdout: "ignore", stderr: "ignore" });
    try {
      for (let i = 0; i < 500 && !existsSync(ready); i++) await Bun.sleep(10);
      expect(existsSync(ready)).toBe(true);
      const held = await holdLock(lp, { timeoutMs: 3_000 });
      expect(readLockOwner(lp)!.pid).toBe(process.pid);
      held.release();
    } finally {
      holder.kill(9);
      await holder.exited;
    }
  });

  test("a lock directory is readable only by those who may rename it", () => {
    const mk = (name: string, mode: number) => {
      const p = join(dir, name);
      mkdirSync(p);
      chmodSync(p, mode);
      return p;
    };
    expect(lockDirMode(mk("private", 0o755))).toBe(0o1711);
    expect(lockDirMode(mk("tmp", 0o1777))).toBe(0o1711);
    expect(lockDirMode(mk("group", 0o2775))).toBe(0o1751);
    expect(lockDirMode(mk("open", 0o777))).toBe(0o1755);
  });
});
