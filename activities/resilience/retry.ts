import type { RetryPolicy } from '../define.ts';

/** The seed spec's exponential backoff: 1 s, doubling, at most 60 s, with jitter. */
export const DEFAULT_RETRY: Required<Omit<RetryPolicy, 'attempts'>> = { backoffMs: 1000, multiplier: 2, maxBackoffMs: 60_000, jitter: 0.2 };

/** A Retry-After longer than this is not waited for in one go: the job comes back and asks again. */
export const MAX_RETRY_AFTER_MS = 60 * 60_000;

/**
 * The delay before try `attemptsMade + 1`: backoffMs * multiplier^(attemptsMade-1), capped at
 * maxBackoffMs, less up to `jitter` of it at random (so workers that failed together do not retry together).
 */
export function backoffDelay(attemptsMade: number, policy: RetryPolicy = {}, random: () => number = Math.random): number {
  const p = { ...DEFAULT_RETRY, ...policy };
  const exp = p.backoffMs * p.multiplier ** Math.max(0, attemptsMade - 1);
  const capped = Math.min(p.maxBackoffMs, exp);
  return Math.max(0, Math.round(capped * (1 - Math.min(1, Math.max(0, p.jitter)) * random())));
}

/** The delay after a failed try: the API's Retry-After when it sent one, else the backoff. */
export function retryDelay(attemptsMade: number, err: unknown, policy: RetryPolicy = {}, random: () => number = Math.random): number {
  const after = (err as { retryAfterMs?: unknown } | undefined)?.retryAfterMs;
  if (typeof after === 'number' && Number.isFinite(after) && after >= 0) return Math.min(after, MAX_RETRY_AFTER_MS);
  return backoffDelay(attemptsMade, policy, random);
}
