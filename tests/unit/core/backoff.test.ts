import { describe, expect, test } from "bun:test";
import { backoffDelay, retryWithBackoff, type BackoffEnv } from "../../../lib/core/backoff";
import { TempFailError } from "../../../lib/core/errors";

function fakeEnv(random = () => 0.5): BackoffEnv & { slept: number[] } {
  let now = 0;
  const slept: number[] = [];
  return {
    slept,
    random,
    now: () => now,
    sleep: async (ms) => {
      slept.push(ms);
      now += ms;
    },
  };
}

class Busy extends Error {}

describe("backoffDelay", () => {
  const policy = { baseMs: 10, maxMs: 2000, retries: 8, deadlineMs: 30_000 };
  test("full jitter: uniform in [0, min(max, base*2^n))", () => {
    expect(backoffDelay(policy, 0, () => 0.999)).toBe(9);
    expect(backoffDelay(policy, 3, () => 0.5)).toBe(40);
    expect(backoffDelay(policy, 20, () => 0.999)).toBe(1998);
    expect(backoffDelay(policy, 5, () => 0)).toBe(0);
  });
});

describe("retryWithBackoff", () => {
  const policy = { baseMs: 10, maxMs: 100, retries: 3, deadlineMs: 10_000 };
  test("returns the value and counts attempts", async () => {
    const env = fakeEnv();
    let n = 0;
    const r = await retryWithBackoff(
      () => {
        if (++n < 3) throw new Busy();
        return "ok";
      },
      { policy, env, isRetryable: (e) => e instanceof Busy, onExhausted: () => new Error("x") },
    );
    expect(r.value).toBe("ok");
    expect(r.attempts).toBe(3);
    expect(env.slept).toEqual([5, 10]);
    expect(r.waitedMs).toBe(15);
  });
  test("non-retryable errors pass through at once", async () => {
    const env = fakeEnv();
    const boom = new Error("syntax");
    await expect(
      retryWithBackoff(() => Promise.reject(boom), { policy, env, isRetryable: (e) => e instanceof Busy, onExhausted: () => new Error("x") }),
    ).rejects.toBe(boom);
    expect(env.slept).toEqual([]);
  });
  test("exhausting the retries throws the exhausted error with attempts and wait", async () => {
    const env = fakeEnv();
    let caught: unknown;
    try {
      await retryWithBackoff(() => Promise.reject(new Busy()), {
        policy,
        env,
        isRetryable: (e) => e instanceof Busy,
        onExhausted: (_e, s) => new TempFailError({ subject: "db", attempts: s.attempts, waitedMs: s.waitedMs }),
      });
    } catch (e) {
      caught = e;
    }
    expect(caught).toBeInstanceOf(TempFailError);
    expect((caught as TempFailError).attempts).toBe(4);
    expect((caught as TempFailError).waitedMs).toBe(5 + 10 + 20);
  });
  test("the deadline caps the total wait", async () => {
    const env = fakeEnv(() => 0.99);
    let caught: TempFailError | undefined;
    try {
      await retryWithBackoff(() => Promise.reject(new Busy()), {
        policy: { baseMs: 100, maxMs: 1000, retries: 100, deadlineMs: 1500 },
        env,
        isRetryable: () => true,
        onExhausted: (_e, s) => new TempFailError({ attempts: s.attempts, waitedMs: s.waitedMs }),
      });
    } catch (e) {
      caught = e as TempFailError;
    }
    expect(caught).toBeInstanceOf(TempFailError);
    expect(caught!.waitedMs).toBeLessThanOrEqual(1500);
    expect(env.slept.reduce((a, b) => a + b, 0)).toBeLessThanOrEqual(1500);
  });
});
