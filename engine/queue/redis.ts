import { Redis, type RedisOptions } from 'ioredis';

/** A connection fit for BullMQ (blocking commands must not time out on their own). */
export function redisConnection(url: string, opts: RedisOptions = {}): Redis {
  return new Redis(url, { maxRetriesPerRequest: null, enableReadyCheck: true, lazyConnect: false, ...opts });
}

/** Resolves when Redis answers PING, rejects with a message saying how to get one otherwise. */
export async function checkRedis(url: string, timeoutMs = 3000): Promise<void> {
  const probe = new Redis(url, { maxRetriesPerRequest: 0, retryStrategy: () => null, connectTimeout: timeoutMs, lazyConnect: true });
  probe.on('error', () => {});
  try {
    await probe.connect();
    await probe.ping();
  } catch (err) {
    throw new Error(
      `Redis is not answering at ${withoutPassword(url)} (${(err as Error).message}).\n` +
        `Start one (e.g. \`redis-server --daemonize yes\` or \`docker run -p 6379:6379 redis:7\`), or set REDIS_URL.`,
    );
  } finally {
    probe.disconnect();
  }
}

/** The URL as it may be shown: no password. */
export function withoutPassword(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString().replace(/\/$/, '');
  } catch {
    return '(unparseable URL)';
  }
}
