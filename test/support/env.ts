import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import pg from 'pg';
import { Redis } from 'ioredis';
import { loadConfig, type Config } from '../../engine/config.ts';
import { silentLogger, createLogger } from '../../engine/log.ts';
import { startSystem, type System, type SystemOptions } from '../../engine/system.ts';
import { createApp } from '../../server/app.ts';
import { TERMINAL, type ExecutionRecord, type Store } from '../../engine/ports.ts';

export type TestDatabase = 'sqlite' | 'postgresql';

/** The databases the suite runs against: both unless TEST_DATABASES narrows it. */
export const databases: TestDatabase[] = (process.env.TEST_DATABASES ?? 'sqlite,postgresql').split(',') as TestDatabase[];

export const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
export const PG_URL = process.env.TEST_PG_URL ?? 'postgresql://postgres@127.0.0.1:5432/test';

/** A database, Redis prefix and configuration of its own for one test, and how to remove them. */
export interface TestEnv {
  db: TestDatabase;
  env: Record<string, string>;
  schema?: string;
  prefix: string;
  config(overrides?: Record<string, string>): Config;
  cleanup(): Promise<void>;
}

export async function testEnv(db: TestDatabase): Promise<TestEnv> {
  const prefix = `test-${randomUUID().slice(0, 12)}`;
  let dir: string | null = null;
  let schema: string | undefined;
  let url: string;
  if (db === 'sqlite') {
    dir = await mkdtemp(join(tmpdir(), 'soar-test-'));
    url = `file:${join(dir, 'soar.db')}`;
  } else {
    schema = `t_${randomUUID().replace(/-/g, '').slice(0, 20)}`;
    url = `${PG_URL}${PG_URL.includes('?') ? '&' : '?'}schema=${schema}`;
  }
  const env: Record<string, string> = {
    DATABASE_URL: url,
    REDIS_URL,
    QUEUE_PREFIX: prefix,
    DEPLOY_PLAYBOOKS: 'false',
    LOG_LEVEL: 'warn',
    LOG_FORMAT: 'json',
    ENGINE_SWEEP_MS: '200',
    ENGINE_LEASE_MS: '3000',
    ENGINE_START_GRACE_MS: '2000',
  };
  return {
    db,
    env,
    ...(schema ? { schema } : {}),
    prefix,
    config: (overrides = {}) => loadConfig({ ...env, ...overrides }),
    async cleanup() {
      await clearRedis(prefix);
      if (dir) await rm(dir, { recursive: true, force: true });
      if (schema) {
        const client = new pg.Client({ connectionString: PG_URL });
        await client.connect();
        await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
        await client.end();
      }
    },
  };
}

export async function clearRedis(prefix: string): Promise<void> {
  const redis = new Redis(REDIS_URL);
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
    cursor = next;
    if (keys.length) await redis.del(...keys);
  } while (cursor !== '0');
  await redis.quit();
}

/** Starts the product in this process on the test's database and Redis prefix. */
export function startTestSystem(t: TestEnv, overrides: Record<string, string> = {}, opts: SystemOptions = {}): Promise<System> {
  const logger = process.env.TEST_LOGS ? createLogger({ level: 'debug', format: 'json' }) : silentLogger();
  return startSystem(t.config(overrides), { logger, ...opts });
}

/** Resolves once `check` returns a value other than undefined/false; fails after `timeoutMs` naming `what`. */
export async function eventually<T>(what: string, check: () => Promise<T | undefined | false>, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await check();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** A test fixture's text (test/fixtures/<name>). */
export const fixture = (name: string): Promise<string> => readFile(new URL(`../fixtures/${name}`, import.meta.url), 'utf8');

/** Resolves with the status `system`'s engine reports when `executionId` settles (ends or waits). */
export function settled(system: System, executionId: string): Promise<string> {
  return new Promise((resolve) => {
    const on = (id: string, status: string) => {
      if (id !== executionId) return;
      system.runtime!.off('settled', on);
      resolve(status);
    };
    system.runtime!.on('settled', on);
  });
}

/** Resolves with the execution once it has ended (completed, failed or cancelled), read from the store. */
export function ended(store: Store, executionId: string, timeoutMs?: number): Promise<ExecutionRecord> {
  return eventually(
    'the execution to end',
    async () => {
      const e = await store.getExecution(executionId);
      return e && TERMINAL.has(e.status) ? e : undefined;
    },
    timeoutMs,
  );
}

/** Serves the HTTP API of `system` on a free local port. */
export async function serve(system: System): Promise<{ base: string; close(): Promise<void> }> {
  const server = createApp(system).listen(0, '127.0.0.1');
  await new Promise((r) => server.once('listening', r));
  const { port } = server.address() as AddressInfo;
  return { base: `http://127.0.0.1:${port}`, close: () => new Promise<void>((r) => server.close(() => r())) };
}
