import { afterEach, expect, test } from "bun:test";
import { _setPolicyForTests, expectLongRun } from "../../../lib/core/jit";

afterEach(() => _setPolicyForTests((Bun as unknown as { unsafe: { setJITPolicy: (n: number) => void } }).unsafe.setJITPolicy));

test("bulk work restores the normal JIT policy once", () => {
  const calls: number[] = [];
  _setPolicyForTests((n) => calls.push(n));
  expectLongRun();
  expectLongRun();
  expect(calls).toEqual([1]);
});

test("a bun without setJITPolicy is tolerated", () => {
  _setPolicyForTests(undefined);
  expect(() => expectLongRun()).not.toThrow();
});

test("this bun has setJITPolicy, so the build's JIT policy can be lifted", () => {
  expect(typeof (Bun as unknown as { unsafe: { setJITPolicy?: unknown } }).unsafe.setJITPolicy).toBe("function");
});
