/**
 * Shared helpers for the unit tests: temp directories that are removed again,
 * and a pid that is certainly dead. Real files, real processes: no mocks.
 */
import { afterAll, afterEach } from "bun:test";
import { mkdtempSync, realpathSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const made = new Set<string>();

function removeAll(): void {
  for (const d of made) rmSync(d, { recursive: true, force: true });
  made.clear();
}

// Registered when a test file imports this module, so at that file's top level.
afterEach(removeAll);
afterAll(removeAll);

/**
 * A fresh directory under $TMPDIR (real path: symlinks resolved), removed
 * after the test that made it (or, if made at file level, after the file).
 */
export function tempDir(prefix = "hs-unit-"): string {
  const d = realpathSync(mkdtempSync(join(tmpdir(), prefix)));
  made.add(d);
  return d;
}

/** A pid that is certainly dead: a child already reaped. */
export function deadPid(): number {
  return Bun.spawnSync(["true"]).pid;
}
