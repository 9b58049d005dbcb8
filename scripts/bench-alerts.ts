/**
 * `npm run bench` (after scripts/bench.ts) or `tsx scripts/bench-alerts.ts [--smoke] [--n 1000]`:
 * how fast alerts are accepted and how soon they start their playbook. One process (api, engine,
 * worker) on SQLite, one trigger rule that every alert matches, the 3-noop-task playbook.
 *   - burst: n alerts POSTed over HTTP, 32 at a time: alerts/s accepted (201 answered), and the
 *     time from an alert's acceptance (its created_at, stamped at the insert) to its playbook's
 *     first service task starting (p50/p99);
 *   - one at a time: the same latency with nothing else running;
 *   - ingest alone: alerts/s accepted when no rule matches (storage and matching, no executions).
 * A benchmark, not a test: it prints figures and fails only if the product fails.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { loadConfig } from '../engine/config.ts';
import { silentLogger } from '../engine/log.ts';
import { startSystem, type System } from '../engine/system.ts';
import { createApp } from '../server/app.ts';
import { clearRedis } from '../test/support/env.ts';

const args = process.argv.slice(2);
const smoke = args.includes('--smoke');
const nArg = args.indexOf('--n');
const N = nArg >= 0 ? Number(args[nArg + 1]) : smoke ? 100 : 1000;
const SEQUENTIAL = smoke ? 20 : 100;
const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? NaN;
};
const fmt = (x: number, d = 1) => x.toFixed(d);

/** ms from `acceptedAt` to the first service task of the execution the alert started. */
async function firstStepLatency(system: System, alertId: string, acceptedAt: number): Promise<number> {
  for (;;) {
    const { executions } = await system.alerts.getAlert(alertId);
    const id = executions[0]?.executionId;
    if (id) {
      const first = (await system.store.getSteps(id)).filter((s) => s.type === 'bpmn:ServiceTask').sort((a, b) => a.startedAt.getTime() - b.startedAt.getTime())[0];
      if (first) return first.startedAt.getTime() - acceptedAt;
    }
    await new Promise((r) => setTimeout(r, 5));
  }
}

const dir = await mkdtemp(join(tmpdir(), 'soar-bench-alerts-'));
const prefix = `bench-${randomUUID().slice(0, 8)}`;
const system = await startSystem(
  loadConfig({ DATABASE_URL: `file:${join(dir, 'soar.db')}`, REDIS_URL, QUEUE_PREFIX: prefix, DEPLOY_PLAYBOOKS: 'false', LOG_LEVEL: 'error', WORKER_CONCURRENCY: '64' }),
  { logger: silentLogger(), env: {} },
);
const server = createApp(system).listen(0, '127.0.0.1');
await new Promise((r) => server.once('listening', r));
const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
try {
  await system.catalog.deploy(await readFile(new URL('../test/fixtures/three-noop.bpmn', import.meta.url), 'utf8'));
  const trigger = await system.alerts.createTrigger({ name: 'all', workflow_key: 'three-noop', condition: 'severity in ["low","medium","high","critical"]', enabled: true, dedup_window_s: 0 });
  const post = async (i: number): Promise<{ id: string; at: number }> => {
    const res = await fetch(`${base}/api/v2/alerts`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ title: `bench ${i}`, severity: 'high', source: 'bench', tags: ['bench'] }),
    });
    if (res.status !== 201) throw new Error(`POST /api/v2/alerts answered ${res.status}: ${await res.text()}`);
    // accepted = committed: created_at is stamped just before the insert (matching may begin before the 201 arrives)
    const body = (await res.json()) as { data: { id: string; created_at: string } };
    return { id: body.data.id, at: new Date(body.data.created_at).getTime() };
  };

  console.log(`# alerts benchmark: SQLite, one process, trigger -> 3 service tasks (core.noop), n=${N}${smoke ? ' (smoke)' : ''}`);
  for (let i = 0; i < 10; i++) await firstStepLatency(system, (await post(-i)).id, Date.now()); // warm-up

  const accepted: Array<{ id: string; at: number }> = [];
  const started = performance.now();
  let next = 0;
  await Promise.all(
    Array.from({ length: 32 }, async () => {
      while (next < N) accepted.push(await post(next++));
    }),
  );
  const rate = N / ((performance.now() - started) / 1000);
  const burst = await Promise.all(accepted.map((a) => firstStepLatency(system, a.id, a.at)));
  console.log(`burst: ${fmt(rate, 0)} alerts/s accepted; alert accepted -> first step started: p50 ${fmt(pct(burst, 50))} ms, p99 ${fmt(pct(burst, 99))} ms`);

  const alone: number[] = [];
  for (let i = 0; i < SEQUENTIAL; i++) {
    const a = await post(N + i);
    alone.push(await firstStepLatency(system, a.id, a.at));
  }
  console.log(`one at a time (${SEQUENTIAL}): alert accepted -> first step started: p50 ${fmt(pct(alone, 50))} ms, p99 ${fmt(pct(alone, 99))} ms`);

  // ingest alone: the same alerts with the rule disabled (stored and matched, nothing started)
  await system.alerts.updateTrigger(trigger.id, { enabled: false });
  const from = performance.now();
  let k = 0;
  await Promise.all(
    Array.from({ length: 32 }, async () => {
      while (k < N) await post(2 * N + k++);
    }),
  );
  const ingest = N / ((performance.now() - from) / 1000);
  await system.alerts.idle();
  console.log(`ingest alone (no rule matches): ${fmt(ingest, 0)} alerts/s accepted`);
} finally {
  await new Promise<void>((r) => server.close(() => r()));
  await system.close();
  await clearRedis(prefix);
  await rm(dir, { recursive: true, force: true });
}
