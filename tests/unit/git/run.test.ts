import { describe, expect, test } from "bun:test";
import { existsSync, readFileSync } from "node:fs";
import { TempFailError, UnavailableError, UsageError } from "../../../lib/core/errors";
import { holdLock } from "../../../lib/core/dirlock";
import { runLocked, runLockPath } from "../../../lib/git/run";
import { makeRepo } from "./helpers";

describe("runLocked", () => {
  test("runs the command under <common dir>/hardshell-NAME.lock and passes its exit code", async () => {
    const { dir, repo, gitDir } = makeRepo();
    const r = await runLocked({ cwd: repo, env: {}, command: ["sh", "-c", `test -d ${gitDir}/hardshell-run.lock && echo held > ${dir}/out; exit 5`] });
    expect(r).toEqual({ exitCode: 5, lockPath: `${gitDir}/hardshell-run.lock` });
    expect(readFileSync(`${dir}/out`, "utf8")).toBe("held\n");
    expect(existsSync(r.lockPath)).toBe(false);
  });

  test("a held lock makes it give up with 75 after the timeout, without running the command", async () => {
    const { dir, repo, gitDir } = makeRepo();
    const held = await holdLock(`${gitDir}/hardshell-deploy.lock`, { timeoutMs: 0 });
    try {
      const err = await runLocked({ cwd: repo, env: {}, name: "deploy", timeoutMs: 200, command: ["touch", `${dir}/ran`] }).catch((e) => e);
      expect(err).toBeInstanceOf(TempFailError);
      expect(existsSync(`${dir}/ran`)).toBe(false);
    } finally {
      held.release();
    }
  });

  test("a command killed by a signal gives 128+N; NAME and an empty command are checked", async () => {
    const { repo } = makeRepo();
    expect((await runLocked({ cwd: repo, env: {}, command: ["sh", "-c", "kill -TERM $$"] })).exitCode).toBe(143);
    expect(() => runLockPath("/g", "../x")).toThrow(UsageError);
    expect(runLockPath("/g", "fetch")).toBe("/g/hardshell-fetch.lock");
    await expect(runLocked({ cwd: repo, env: {}, command: [] })).rejects.toBeInstanceOf(UsageError);
    await expect(runLocked({ cwd: repo, env: {}, command: ["no-such-command-hardshell"] })).rejects.toBeInstanceOf(UnavailableError);
  });
});
