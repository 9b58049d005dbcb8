import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import type { System } from '../engine/system.ts';
import { eventually, startTestSystem, testEnv, type TestEnv } from './support/env.ts';
import { json, startHttpServer } from './support/http-server.ts';
import { startRole, type RoleProcess } from './support/processes.ts';

const EXECUTIONS = Number(process.env.SCALE_EXECUTIONS ?? 500);

describe('scale: two engine processes and two worker processes on one Redis and one PostgreSQL', () => {
  let t: TestEnv;
  let system: System;
  const children: RoleProcess[] = [];
  before(async () => {
    t = await testEnv('postgresql');
  });
  after(async () => {
    await Promise.all(children.map((c) => c.kill()));
    await system?.close();
    await t.cleanup();
  });

  it(`completes ${EXECUTIONS} executions, each step exactly once, each execution advanced by one process`, { timeout: 180_000 }, async () => {
    const byKey = new Map<string, number>();
    const api = await startHttpServer((req, res) => {
      const key = String(req.headers['idempotency-key']);
      byKey.set(key, (byKey.get(key) ?? 0) + 1);
      json(res, 200, { ok: true });
    });
    try {
      // This process only creates executions; the work is done by the four children.
      system = await startTestSystem(t, { ROLES: 'api' });
      const { workflow } = await system.catalog.deploy(await readFile(new URL('./fixtures/three-http.bpmn', import.meta.url), 'utf8'));
      for (const roles of ['engine', 'engine', 'worker', 'worker']) children.push(startRole({ ...t.env, ROLES: roles, WORKER_CONCURRENCY: '32', ENGINE_LEASE_MS: '10000' }));
      await Promise.all(children.map((c) => c.ready));

      const urls = { step1: `${api.url}/one`, step2: `${api.url}/two`, step3: `${api.url}/three` };
      const started = Date.now();
      const ids: string[] = [];
      for (let i = 0; i < EXECUTIONS; i += 50) {
        const batch = await Promise.all(
          Array.from({ length: Math.min(50, EXECUTIONS - i) }, (_, j) => system.executions.start(workflow.id, { urls, ticket: `T-${i + j}` })),
        );
        ids.push(...batch.map((b) => b.execution.id));
      }
      await eventually(
        `${EXECUTIONS} executions to complete`,
        async () => {
          const done = await system.store.listExecutions({ status: 'completed', limit: 1, offset: 0 });
          return done.total === EXECUTIONS || undefined;
        },
        150_000,
      );
      const seconds = (Date.now() - started) / 1000;
      console.log(`# scale: ${EXECUTIONS} executions x 3 HTTP steps in ${seconds.toFixed(1)} s (${(EXECUTIONS / seconds).toFixed(0)} executions/s)`);

      assert.equal((await system.store.listExecutions({ status: 'failed', limit: 1, offset: 0 })).total, 0);
      assert.equal(byKey.size, EXECUTIONS * 3, 'one request per step');
      assert.ok([...byKey.values()].every((n) => n === 1), 'no step ran twice');

      const engines = new Map<string, number>();
      for (const id of ids) {
        const steps = await system.store.getSteps(id);
        assert.deepEqual(steps.map((s) => `${s.activityId}:${s.status}`), ['start:completed', 'step1:completed', 'step2:completed', 'step3:completed', 'end:completed'], id);
        const owners = new Set(steps.map((s) => s.engineId));
        if (owners.size !== 1) {
          const warnings = children.flatMap((c) => c.output).join('').split('\n').filter((l) => l.includes(id));
          assert.fail(`execution ${id} was advanced by ${[...owners].join(' and ')}:\n${JSON.stringify(steps.map((s) => [s.activityId, s.engineId, s.startedAt, s.endedAt]))}\n${warnings.join('\n')}`);
        }
        const owner = [...owners][0]!;
        engines.set(owner, (engines.get(owner) ?? 0) + 1);
        for (const s of steps.filter((x) => x.jobId)) assert.equal(byKey.get(s.jobId!), 1);
      }
      console.log(`# scale: executions per engine process: ${JSON.stringify(Object.fromEntries(engines))}`);
      assert.equal(engines.size, 2, 'both engine processes took executions');
    } finally {
      await api.close();
    }
  });
});
