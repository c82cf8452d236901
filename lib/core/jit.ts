/**
 * The JIT policy of a call: start-up code stays in the interpreter; bulk work gets the normal JIT.
 *
 * The build bakes a JIT tier-up scale into the binary (scripts/build.ts JIT_POLICY,
 * `bun build --compile-jit-policy`): a one-shot call runs nearly all of its code once, and
 * compiling it cost more than it saved. Work that loops over many rows (`--each`, a large
 * SELECT) is the opposite case, so it calls `expectLongRun()` once it knows it has bulk work
 * ahead; that restores JavaScriptCore's normal thresholds (`Bun.unsafe.setJITPolicy(1)`, bun's
 * docs/bundler/executables.mdx "JIT policy"). Nothing observable changes but speed.
 *
 * Out of scope: under `bun test` or `bun run` (no baked-in scale) the call is a no-op in effect;
 * a bun without setJITPolicy is tolerated (the call does nothing).
 */

type SetPolicy = (scale: number) => void;

/** The function that sets the policy; replaceable by tests. */
let setPolicy: SetPolicy | undefined = (Bun as unknown as { unsafe?: { setJITPolicy?: SetPolicy } }).unsafe?.setJITPolicy;
let done = false;

/** Bulk work is ahead: use the normal JIT from now on (idempotent, cheap after the first call). */
export function expectLongRun(): void {
  if (done) return;
  done = true;
  setPolicy?.(1);
}

/** Tests: observe the policy calls and start over. */
export function _setPolicyForTests(fn: SetPolicy | undefined): void {
  setPolicy = fn;
  done = false;
}
