import { createHash } from 'node:crypto';
import type { Redis } from 'ioredis';

/**
 * Lookup answers kept in Redis (VirusTotal: 24 h, "not found" 1 h, per the integration spec), so a
 * repeated lookup costs neither an API call nor a rate-limit token. Keys are hashed: an indicator
 * may be long, and is data, not a key name.
 */
export class LookupCache {
  constructor(
    readonly redis: Redis,
    readonly prefix: string,
  ) {}

  key(activityId: string, key: string): string {
    return `${this.prefix}:connector:cache:${activityId}:${createHash('sha256').update(key).digest('hex')}`;
  }

  async get(activityId: string, key: string): Promise<{ hit: true; value: unknown } | { hit: false }> {
    const raw = await this.redis.get(this.key(activityId, key));
    return raw === null ? { hit: false } : { hit: true, value: JSON.parse(raw) as unknown };
  }

  async set(activityId: string, key: string, value: unknown, ttlS: number): Promise<void> {
    if (ttlS > 0) await this.redis.set(this.key(activityId, key), JSON.stringify(value), 'EX', Math.ceil(ttlS));
  }
}
