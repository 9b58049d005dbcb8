import type { Redis } from 'ioredis';
import type { BreakerPolicy } from '../define.ts';
import { LuaScript } from './lua.ts';

export type BreakerState = 'closed' | 'open' | 'half-open';

export const DEFAULT_BREAKER: Required<BreakerPolicy> = { failureThreshold: 5, openMs: 60_000, successThreshold: 3, whenOpen: 'fail' };

export interface BreakerSnapshot {
  state: BreakerState;
  /** Consecutive failures while closed. */
  failures: number;
  /** Successes while half-open. */
  successes: number;
  /** When it opened (ms since the epoch, by the breaker's clock), if it is open or half-open. */
  openedAt: number | null;
  /** When an open breaker lets trial calls through. */
  halfOpenAt: number | null;
}

// Every transition is one Lua script: workers on many hosts share the breaker without races.
const ACQUIRE = new LuaScript(`
local s = redis.call('HMGET', KEYS[1], 'state', 'openedAt')
local state = s[1] or 'closed'
if state == 'open' then
  local until_ = (tonumber(s[2]) or 0) + tonumber(ARGV[2])
  if tonumber(ARGV[1]) >= until_ then
    redis.call('HSET', KEYS[1], 'state', 'half-open', 'successes', 0)
    return {'half-open', 0}
  end
  return {'open', until_ - tonumber(ARGV[1])}
end
return {state, 0}`);

const RECORD = new LuaScript(`
local state = redis.call('HGET', KEYS[1], 'state') or 'closed'
if ARGV[2] == '1' then
  if state == 'half-open' then
    local n = redis.call('HINCRBY', KEYS[1], 'successes', 1)
    if n >= tonumber(ARGV[4]) then
      redis.call('HSET', KEYS[1], 'state', 'closed', 'failures', 0, 'successes', 0)
      redis.call('HDEL', KEYS[1], 'openedAt')
      return 'closed'
    end
    return 'half-open'
  end
  if state == 'closed' then redis.call('HSET', KEYS[1], 'state', 'closed', 'failures', 0) end
  return state
end
if state == 'half-open' then
  redis.call('HSET', KEYS[1], 'state', 'open', 'openedAt', ARGV[1], 'successes', 0)
  return 'open'
end
if state == 'open' then return 'open' end
local n = redis.call('HINCRBY', KEYS[1], 'failures', 1)
redis.call('HSET', KEYS[1], 'state', 'closed')
if n >= tonumber(ARGV[3]) then
  redis.call('HSET', KEYS[1], 'state', 'open', 'openedAt', ARGV[1])
  return 'open'
end
return 'closed'`);

/**
 * A circuit breaker per connector, its state in Redis so that every worker sees the same one:
 * closed -> open after `failureThreshold` consecutive failures; open -> half-open after `openMs`;
 * half-open -> closed after `successThreshold` successes, or open again at the first failure.
 * Time comes from `now()` (an injectable clock), never from Redis or the wall.
 */
export class CircuitBreaker {
  readonly policy: Required<BreakerPolicy>;
  readonly #key: string;
  constructor(
    readonly redis: Redis,
    prefix: string,
    readonly connector: string,
    policy: BreakerPolicy = {},
    readonly now: () => number = Date.now,
  ) {
    this.policy = { ...DEFAULT_BREAKER, ...policy };
    this.#key = breakerKey(prefix, connector);
  }

  /** May a call go out? While open: no, and how long until half-open. */
  async acquire(): Promise<{ allowed: true; state: BreakerState } | { allowed: false; retryInMs: number }> {
    const [state, wait] = (await ACQUIRE.run(this.redis, [this.#key], [this.now(), this.policy.openMs])) as [BreakerState, number];
    return state === 'open' ? { allowed: false, retryInMs: Number(wait) } : { allowed: true, state };
  }

  /** Records a call's outcome; returns the state after it. */
  async record(ok: boolean): Promise<BreakerState> {
    return (await RECORD.run(this.redis, [this.#key], [this.now(), ok ? '1' : '0', this.policy.failureThreshold, this.policy.successThreshold])) as BreakerState;
  }

  async snapshot(): Promise<BreakerSnapshot> {
    return readBreaker(this.redis, this.#key, this.policy.openMs);
  }
}

export const breakerKey = (prefix: string, connector: string) => `${prefix}:connector:${connector}:breaker`;

/** The breaker's state as stored (for the health endpoint, which runs no calls). */
export async function readBreaker(redis: Redis, key: string, openMs: number = DEFAULT_BREAKER.openMs): Promise<BreakerSnapshot> {
  const h = await redis.hgetall(key);
  const openedAt = h.openedAt ? Number(h.openedAt) : null;
  const state = (h.state as BreakerState | undefined) ?? 'closed';
  return {
    state,
    failures: Number(h.failures ?? 0),
    successes: Number(h.successes ?? 0),
    openedAt: state === 'closed' ? null : openedAt,
    halfOpenAt: state === 'open' && openedAt !== null ? openedAt + openMs : null,
  };
}
