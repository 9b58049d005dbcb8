/**
 * `npm run bench [-- --smoke] [-- --n 2000]`: prints throughput and latency figures for the same
 * 3-service-task playbook (core.noop) measured three ways:
 *   (a) raw bpmn-engine in memory, no persistence, no queue;
 *   (b) raw BullMQ no-op jobs on the same Redis;
 *   (c) the durable product end to end (SQLite; PostgreSQL too when BENCH_PG_URL or a postgresql
 *       DATABASE_URL is set): executions/s at saturation, per-task latency at concurrency 1, and
 *       executions/s with two engine processes.
 * A benchmark, not a test: it prints figures and fails only if the product fails.
 */
import { readFile, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { Engine } from 'bpmn-engine';
import { Queue, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { moddleOptions } from '../engine/bpmn/moddle.ts';
import { loadConfig } from '../engine/config.ts';
import { silentLogger } from '../engine/log.ts';
import { startSystem, type System } from '../engine/system.ts';
import { clearRedis, PG_URL } from '../test/support/env.ts';
import { startRole, type RoleProcess } from '../test/support/processes.ts';

const args = process.argv.slice(2);
const smoke = args.includes('--smoke');
const nArg = args.indexOf('--n');
const N = nArg >= 0 ? Number(args[nArg + 1]) : smoke ? 100 : 2000;
const LATENCY_RUNS = smoke ? 30 : 300;
const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const pgUrl = process.env.BENCH_PG_URL ?? (process.env.DATABASE_URL?.startsWith('postgres') ? process.env.DATABASE_URL : smoke ? undefined : PG_URL);
const xml = await readFile(new URL('../test/fixtures/three-noop.bpmn', import.meta.url), 'utf8');

const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? NaN;
};
const fmt = (x: number, d = 1) => x.toFixed(d);
const lines: string[] = [];
const report = (line: string) => {
  lines.push(line);
  console.log(line);
};

/** (a) bpmn-engine alone: the same playbook, services answering at once; executions/s, and per-task latency at concurrency 1. */
async function rawEngine(n: number): Promise<{ rate: number; perTask: number }> {
  const [definition] = await new Engine({ source: xml, moddleOptions } as never).getDefinitions();
  const sourceContext = (definition!.environment as unknown as { options: { source: unknown } }).options.source;
  function Service(this: { activity: { id: string } }, activity: { id: string }) {
    this.activity = activity;
  }
  Service.prototype.execute = function (_m: unknown, cb: (e: null, o: unknown) => void) {
    setImmediate(() => cb(null, { ok: true }));
  };
  const extensions = {
    svc(activity: { type: string; behaviour: Record<string, unknown> }) {
      if (activity.type === 'bpmn:ServiceTask') activity.behaviour.Service = Service;
    },
  };
  const runOne = () =>
    new Promise<void>((resolve, reject) => {
      const e = new Engine({ sourceContext, extensions, variables: { n: 1 } } as never);
      e.once('end', () => resolve());
      e.once('error', reject);
      void e.execute();
    });
  for (let i = 0; i < 50; i++) await runOne(); // warm-up
  const single: number[] = [];
  for (let i = 0; i < LATENCY_RUNS; i++) {
    const t0 = performance.now();
    await runOne();
    single.push((performance.now() - t0) / 3);
  }
  const started = performance.now();
  const concurrency = 50;
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next++ < n) await runOne();
    }),
  );
  return { rate: n / ((performance.now() - started) / 1000), perTask: pct(single, 50) };
}

/** (b) BullMQ alone: no-op jobs added in bulk and processed by a worker in this process. */
async function rawBullMq(n: number): Promise<number> {
  const prefix = `bench-${randomUUID().slice(0, 8)}`;
  const connection = new Redis(REDIS_URL, { maxRetriesPerRequest: null });
  const workerConnection = connection.duplicate();
  const queue = new Queue('noop', { connection, prefix });
  let done = 0;
  let finish!: () => void;
  const finished = new Promise<void>((r) => (finish = r));
  const worker = new Worker('noop', async (job) => job.data, { connection: workerConnection, prefix, concurrency: 50 });
  worker.on('completed', () => {
    if (++done === n) finish();
  });
  await worker.waitUntilReady();
  const started = performance.now();
  for (let i = 0; i < n; i += 500) {
    await queue.addBulk(Array.from({ length: Math.min(500, n - i) }, (_, j) => ({ name: 'noop', data: { i: i + j }, opts: { removeOnComplete: true } })));
  }
  await finished;
  const rate = n / ((performance.now() - started) / 1000);
  await worker.close();
  await queue.close();
  workerConnection.disconnect();
  connection.disconnect();
  await clearRedis(prefix);
  return rate;
}

interface ProductEnv {
  env: Record<string, string>;
  cleanup(): Promise<void>;
}

async function productEnv(db: 'sqlite' | 'postgresql'): Promise<ProductEnv> {
  const prefix = `bench-${randomUUID().slice(0, 8)}`;
  // The expression limit is wall-clock time: with 1000 executions started in a burst, a mapping
  // that waits its turn in the event loop passes 1 s and fails its execution (a known defect of the
  // limit, not a cost). The bench measures cost, so it raises the limit.
  const env: Record<string, string> = { REDIS_URL, QUEUE_PREFIX: prefix, DEPLOY_PLAYBOOKS: 'false', LOG_LEVEL: 'error', ENGINE_SWEEP_MS: '1000' };
  if (db === 'sqlite') {
    const dir = await mkdtemp(join(tmpdir(), 'soar-bench-'));
    env.DATABASE_URL = `file:${join(dir, 'bench.db')}`;
    return { env, cleanup: async () => (await clearRedis(prefix), await rm(dir, { recursive: true, force: true })) };
  }
  const schema = `bench_${randomUUID().replace(/-/g, '').slice(0, 16)}`;
  env.DATABASE_URL = `${pgUrl}${pgUrl!.includes('?') ? '&' : '?'}schema=${schema}`;
  return {
    env,
    async cleanup() {
      await clearRedis(prefix);
      const pg = await import('pg');
      const c = new pg.default.Client({ connectionString: pgUrl });
      await c.connect();
      await c.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
      await c.end();
    },
  };
}

/** The error of an execution that did not complete, with its reason. */
async function endedBadly(system: System, id: string, status: string): Promise<Error> {
  const e = await system.store.getExecution(id).catch(() => null);
  return new Error(`execution ${id} ended ${status}: ${JSON.stringify(e?.error ?? null)}`);
}

function whenSettled(system: System, ids: Set<string>): Promise<void> {
  return new Promise((resolve, reject) => {
    let left = ids.size;
    const on = (id: string, status: string) => {
      if (!ids.has(id)) return;
      if (status !== 'completed') void endedBadly(system, id, status).then(reject);
      if (--left === 0) {
        system.runtime!.off('settled', on);
        resolve();
      }
    };
    system.runtime!.on('settled', on);
  });
}

/** (c) the product in one process: saturation throughput and latency at concurrency 1. */
async function product(db: 'sqlite' | 'postgresql'): Promise<{ rate: number; p50: number; p99: number }> {
  const pe = await productEnv(db);
  const system = await startSystem(loadConfig({ ...pe.env, WORKER_CONCURRENCY: '64' }), { logger: silentLogger() });
  try {
    const { workflow } = await system.catalog.deploy(xml);
    // latency at concurrency 1: whole execution time / 3 tasks
    const perTask: number[] = [];
    for (let i = 0; i < LATENCY_RUNS + 10; i++) {
      const t0 = performance.now();
      const { execution } = await system.executions.start(workflow.id, { n: i });
      await whenSettled(system, new Set([execution.id]));
      if (i >= 10) perTask.push((performance.now() - t0) / 3);
    }
    // saturation
    const started = performance.now();
    const ids = new Set<string>();
    const all = new Promise<void>((resolve, reject) => {
      let left = N;
      system.runtime!.on('settled', (id, status) => {
        if (status !== 'completed') return void endedBadly(system, id, status).then(reject);
        if (--left === 0) resolve();
      });
    });
    for (let i = 0; i < N; i += 100) {
      const batch = await Promise.all(Array.from({ length: Math.min(100, N - i) }, (_, j) => system.executions.start(workflow.id, { n: i + j })));
      for (const b of batch) ids.add(b.execution.id);
    }
    await all;
    const rate = N / ((performance.now() - started) / 1000);
    return { rate, p50: pct(perTask, 50), p99: pct(perTask, 99) };
  } finally {
    await system.close();
    await pe.cleanup();
  }
}

/** (c) with two engine processes (and one worker process) sharing the load. */
async function productTwoEngines(db: 'sqlite' | 'postgresql'): Promise<number> {
  const pe = await productEnv(db);
  const children: RoleProcess[] = [];
  const system = await startSystem(loadConfig({ ...pe.env, ROLES: 'api' }), { logger: silentLogger() });
  try {
    const { workflow } = await system.catalog.deploy(xml);
    for (const roles of ['engine', 'engine', 'worker']) children.push(startRole({ ...pe.env, ROLES: roles, WORKER_CONCURRENCY: '64' }));
    await Promise.all(children.map((c) => c.ready));
    const started = performance.now();
    for (let i = 0; i < N; i += 100) {
      await Promise.all(Array.from({ length: Math.min(100, N - i) }, (_, j) => system.executions.start(workflow.id, { n: i + j })));
    }
    for (;;) {
      const done = await system.store.listExecutions({ status: 'completed', limit: 1, offset: 0 });
      if (done.total >= N) break;
      await new Promise((r) => setTimeout(r, 20));
    }
    return N / ((performance.now() - started) / 1000);
  } finally {
    await Promise.all(children.map((c) => c.kill('SIGTERM')));
    await system.close();
    await pe.cleanup();
  }
}

report(`# benchmark: 3 service tasks (core.noop), n=${N}${smoke ? ' (smoke)' : ''}, node ${process.version}, ${(await import('node:os')).cpus().length} cores`);
const raw = await rawEngine(N);
const a = raw.rate;
report(`(a) raw bpmn-engine in memory: ${fmt(a, 0)} executions/s; per-task latency at concurrency 1: p50 ${fmt(raw.perTask, 2)} ms`);
const b = await rawBullMq(N * 3);
report(`(b) raw BullMQ no-op jobs: ${fmt(b, 0)} jobs/s`);
for (const db of (pgUrl ? ['sqlite', 'postgresql'] : ['sqlite']) as Array<'sqlite' | 'postgresql'>) {
  const c = await product(db);
  report(`(c) product on ${db}, one process: ${fmt(c.rate, 0)} executions/s at saturation; per-task latency at concurrency 1: p50 ${fmt(c.p50, 2)} ms, p99 ${fmt(c.p99, 2)} ms (of which the engine's own in memory: ${fmt(raw.perTask, 2)} ms); c/a = ${fmt(c.rate / a, 2)}`);
  if (!smoke) {
    const c2 = await productTwoEngines(db);
    report(`(c) product on ${db}, two engine processes + one worker process: ${fmt(c2, 0)} executions/s (${fmt(c2 / c.rate, 2)}x one process)`);
  }
}
process.exit(0);
