/**
 * The one retry/backoff policy of hardshell: exponential backoff with full
 * jitter ("Exponential Backoff And Jitter", AWS Architecture Blog, 2015):
 *   sleep = random(0, min(max, base * 2^attempt))
 * bounded by a number of retries and a total wall-clock deadline.
 *
 * Full jitter spreads N processes that collided once so they do not collide
 * again in lock-step, which is what a bash `sleep 1` loop does.
 *
 * Randomness, the clock and sleeping are injectable (`BackoffEnv`) so tests
 * can replace them; nothing here prints or exits. The caller decides what is
 * retryable; when the budget is spent `retryWithBackoff` throws the error
 * built by `onExhausted` with the attempts made and the time spent waiting.
 */
export const DEFAULT_BACKOFF_BASE_MS = 10;
export const DEFAULT_BACKOFF_MAX_MS = 2_000;
export const DEFAULT_RETRIES = 8;
export const DEFAULT_DEADLINE_MS = 30_000;

export interface BackoffPolicy {
  baseMs: number;
  maxMs: number;
  /** Retries after the first attempt; total attempts = retries + 1. */
  retries: number;
  /** Total wall-clock budget from the first attempt, in ms. */
  deadlineMs: number;
}

export interface BackoffEnv {
  random: () => number;
  now: () => number;
  sleep: (ms: number) => Promise<void>;
}

export const realBackoffEnv: BackoffEnv = {
  random: Math.random,
  now: () => performance.now(),
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
};

export const DEFAULT_POLICY: BackoffPolicy = {
  baseMs: DEFAULT_BACKOFF_BASE_MS,
  maxMs: DEFAULT_BACKOFF_MAX_MS,
  retries: DEFAULT_RETRIES,
  deadlineMs: DEFAULT_DEADLINE_MS,
};

/** Full-jitter delay before retry number `retry` (0-based). */
export function backoffDelay(policy: BackoffPolicy, retry: number, random: () => number = Math.random): number {
  const cap = Math.min(policy.maxMs, policy.baseMs * 2 ** Math.min(retry, 30));
  return Math.floor(random() * cap);
}

export interface RetryState {
  /** Attempts made so far, including the one that just failed. */
  attempts: number;
  /** Time spent sleeping between attempts, ms. */
  waitedMs: number;
  /** Time since the first attempt started, ms. */
  elapsedMs: number;
}

export interface RetryOptions<E> {
  policy: BackoffPolicy;
  env?: BackoffEnv;
  /** True when the failure is worth another attempt (e.g. SQLITE_BUSY, lock held). */
  isRetryable: (err: unknown) => boolean;
  /** Build the error thrown when the budget is exhausted. */
  onExhausted: (last: unknown, state: RetryState) => E;
  /** Called before each sleep (for --stats, logging); must not throw. */
  onRetry?: (err: unknown, state: RetryState, delayMs: number) => void;
}

export interface RetryResult<T> extends RetryState {
  value: T;
}

/**
 * Run `attempt` until it succeeds, fails with a non-retryable error (thrown
 * as is), or the budget (retries, deadline) is exhausted.
 */
export async function retryWithBackoff<T, E>(
  attempt: (state: RetryState) => Promise<T> | T,
  opts: RetryOptions<E>,
): Promise<RetryResult<T>> {
  const env = opts.env ?? realBackoffEnv;
  const start = env.now();
  const state: RetryState = { attempts: 0, waitedMs: 0, elapsedMs: 0 };
  for (;;) {
    try {
      state.attempts++;
      const value = await attempt(state);
      state.elapsedMs = env.now() - start;
      return { value, ...state };
    } catch (err) {
      state.elapsedMs = env.now() - start;
      if (!opts.isRetryable(err)) throw err;
      const retryIndex = state.attempts - 1;
      const remaining = opts.policy.deadlineMs - state.elapsedMs;
      if (retryIndex >= opts.policy.retries || remaining <= 0) {
        throw opts.onExhausted(err, { ...state });
      }
      const delay = Math.min(backoffDelay(opts.policy, retryIndex, env.random), Math.max(0, remaining));
      opts.onRetry?.(err, { ...state }, delay);
      await env.sleep(delay);
      state.waitedMs += delay;
    }
  }
}
