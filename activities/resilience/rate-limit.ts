import type { Redis } from 'ioredis';
import type { RateLimit } from '../define.ts';
import { LuaScript } from './lua.ts';

// A token bucket: `max` tokens, refilled continuously at max/perMs. One script, so workers share it.
// Integer arithmetic: a token is `per` units, the bucket holds max*per, and each ms adds `max` units.
const TAKE = new LuaScript(`
local now = tonumber(ARGV[1])
local max = tonumber(ARGV[2])
local per = tonumber(ARGV[3])
local b = redis.call('HMGET', KEYS[1], 'units', 'ts')
local units = tonumber(b[1])
local ts = tonumber(b[2])
if units == nil or ts == nil then units = max * per ts = now end
if now > ts then
  units = math.min(max * per, units + (now - ts) * max)
  ts = now
end
local wait = 0
if units >= per then units = units - per else wait = math.ceil((per - units) / max) end
redis.call('HSET', KEYS[1], 'units', string.format('%d', units), 'ts', string.format('%d', ts))
redis.call('PEXPIRE', KEYS[1], math.ceil(per * 2))
return wait`);

/**
 * A connector's rate limit across every worker: a token bucket in Redis, taken before each API
 * call (so answers from the lookup cache cost nothing). `take()` answers 0 when a call may go now,
 * or how many ms until one may. Time comes from `now()`, an injectable clock.
 */
export class RateLimiter {
  readonly #key: string;
  constructor(
    readonly redis: Redis,
    prefix: string,
    readonly connector: string,
    readonly limit: RateLimit,
    readonly now: () => number = Date.now,
  ) {
    this.#key = `${prefix}:connector:${connector}:rate`;
  }

  async take(): Promise<number> {
    return Number(await TAKE.run(this.redis, [this.#key], [this.now(), this.limit.max, this.limit.perMs]));
  }
}

/** Thrown by ctx.http when the connector's rate limit has no call left: the worker delays the job, no try spent. */
export class RateLimitedError extends Error {
  override name = 'RateLimitedError';
  constructor(
    readonly connector: string,
    readonly retryAfterMs: number,
  ) {
    super(`${connector}: rate limit reached, next call in ${retryAfterMs} ms`);
  }
}
