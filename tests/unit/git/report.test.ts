import { describe, expect, test } from "bun:test";
import { cleanLocks, scanLocks } from "../../../lib/git/operations";
import { actionOf, keptLines, lockJson, removalLine, statusLines } from "../../../lib/git/report";
import { aged, makeRepo } from "./helpers";

describe("reports", () => {
  test("JSON has the design.md §4 fields; lines name path, age and reason", async () => {
    const { repo, gitDir } = makeRepo();
    aged(`${gitDir}/index.lock`, 7_200_000, "abc");
    aged(`${gitDir}/HEAD.lock`, 0);
    const s = scanLocks({ cwd: repo, env: {} });
    const j = lockJson(s.locks.find((x) => x.lock.kind === "index")!);
    expect(j).toMatchObject({ path: `${gitDir}/index.lock`, kind: "index", verdict: "stale", size: 3, holders: [] });
    expect(j.age_s).toBeGreaterThanOrEqual(7200);
    expect(statusLines(s).join("\n")).toMatch(/stale\s+2h\s+index\s+\S+index\.lock/);
    const c = await cleanLocks({ cwd: repo, env: {} });
    expect(removalLine("git-lock", c.removals[0]!, false)).toBe(`git-lock: removed ${gitDir}/index.lock (age 2h, no live holder; older than 30s)`);
    expect(actionOf(c, c.removals[0]!.lock)).toBe("removed");
    expect(keptLines("git-lock", c)[0]).toContain(`kept ${gitDir}/HEAD.lock (young`);
  });
});
