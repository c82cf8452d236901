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

type ErrorClass<E> = abstract new (...args: never[]) => E;

/**
 * What `fn` throws, which must be a `cls`: the test fails when `fn` returns or
 * throws anything else (that error is rethrown as it is, so its message shows).
 */
export function thrownBy<E>(cls: ErrorClass<E>, fn: () => unknown): E {
  try {
    fn();
  } catch (e) {
    if (e instanceof cls) return e;
    throw e;
  }
  throw new Error(`expected a ${cls.name}`);
}

/** `thrownBy` for a promise: what it rejects with, which must be a `cls`. */
export async function rejectedWith<E>(cls: ErrorClass<E>, p: Promise<unknown>): Promise<E> {
  try {
    await p;
  } catch (e) {
    if (e instanceof cls) return e;
    throw e;
  }
  throw new Error(`expected a ${cls.name}`);
}

/**
 * Poll `ready` (every `stepMs`) until it is true or `guardMs` passed: a hang
 * guard, not a timing assertion; the test then asserts what it waited for.
 */
export function waitUntil(ready: () => boolean, guardMs = 2000, stepMs = 2): void {
  const t0 = Date.now();
  while (!ready() && Date.now() - t0 < guardMs) Bun.sleepSync(stepMs);
}

/**
 * An output destination (what lib/sqlite/output.ts writes to) that keeps what it got:
 * `bytes()` exactly, `text` decoded for text assertions, `flushes` counted.
 */
export function outputSink() {
  const chunks: Uint8Array[] = [];
  const d = {
    text: "",
    flushes: 0,
    write: (s: string) => {
      d.text += s;
      chunks.push(Buffer.from(s));
    },
    writeBytes: (b: Uint8Array) => {
      d.text += new TextDecoder().decode(b);
      chunks.push(Buffer.from(b));
    },
    flush: () => void d.flushes++,
    bytes: () => Buffer.concat(chunks),
  };
  return d;
}
