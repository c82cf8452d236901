import { afterEach, describe, expect, test } from "bun:test";
import { _resetForTests, registerCleanup, runCleanups } from "../../../lib/core/signals";

afterEach(() => _resetForTests());

describe("cleanup registry", () => {
  test("cleanups run newest first, once each, even when one throws", () => {
    const order: string[] = [];
    registerCleanup(() => order.push("a"));
    registerCleanup(() => {
      order.push("b");
      throw new Error("boom");
    });
    registerCleanup(() => order.push("c"));
    runCleanups();
    runCleanups();
    expect(order).toEqual(["c", "b", "a"]);
  });
  test("an unregistered cleanup does not run", () => {
    let ran = false;
    const off = registerCleanup(() => (ran = true));
    off();
    runCleanups();
    expect(ran).toBe(false);
  });
});
