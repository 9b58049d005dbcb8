import { afterEach, beforeEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { ServerResponse } from 'node:http';
import type { System } from '../engine/system.ts';
import { databases, ended, eventually, fixture, startTestSystem, testEnv, type TestEnv } from './support/env.ts';
import { json, startHttpServer, type Recorded } from './support/http-server.ts';
import { startRole, type RoleProcess } from './support/processes.ts';

/** A deferred: a promise with its resolve function outside. */
function deferred<T = void>() {
  let resolve!: (v: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}

for (const db of databases) {
  describe(`crashes on ${db}`, () => {
    // Each test has its own prefix: BullMQ's stalled-job check is rate-limited per queue by a
    // Redis key, so a worker of one test would delay the redelivery another test waits for.
    let t: TestEnv;
    const children: RoleProcess[] = [];
    let system: System | undefined;
    beforeEach(async () => {
      t = await testEnv(db);
    });
    afterEach(async () => {
      await Promise.all(children.splice(0).map((c) => c.kill()));
      await system?.close();
      system = undefined;
      await t.cleanup();
    });

    it('an engine killed mid-playbook: a fresh process completes it, each step called exactly once', async () => {
      const step2Arrived = deferred();
      const releaseStep2 = deferred();
      const api = await startHttpServer(async (req: Recorded, res: ServerResponse) => {
        if (req.path === '/two') {
          step2Arrived.resolve();
          await releaseStep2.promise;
        }
        json(res, 200, { done: req.path });
      });
      try {
        // Workers live in this process; the engine runs in children that the test kills.
        system = await startTestSystem(t, { ROLES: 'worker' });
        const { workflow } = await system.catalog.deploy(await fixture('three-http.bpmn'));
        const engineEnv = { ...t.env, ROLES: 'engine', ENGINE_LEASE_MS: '1500', ENGINE_SWEEP_MS: '200' };
        const first = startRole(engineEnv);
        children.push(first);
        await first.ready;

        const urls = { step1: `${api.url}/one`, step2: `${api.url}/two`, step3: `${api.url}/three` };
        const { execution } = await system.executions.start(workflow.id, { urls, ticket: 'T-9' });
        await step2Arrived.promise;
        assert.equal(await first.kill('SIGKILL'), -1);

        // Step 2 finishes while no engine is alive: its result waits in Redis.
        releaseStep2.resolve();
        await eventually('step 2 to be answered', async () => api.requests.some((r) => r.path === '/two'));

        const second = startRole(engineEnv);
        children.push(second);
        await second.ready;
        const done = await ended(system!.store, execution.id);
        assert.equal(done.status, 'completed', JSON.stringify(done.error));
        assert.deepEqual(
          api.requests.map((r) => r.path),
          ['/one', '/two', '/three'],
          'the server saw each step exactly once',
        );
        const steps = await system.store.getSteps(execution.id);
        assert.deepEqual(steps.map((s) => s.activityId), ['start', 'step1', 'step2', 'step3', 'end']);
        const engines = new Set(steps.map((s) => s.engineId));
        assert.equal(engines.size, 2, 'two engine processes advanced it, one after the other');
        assert.deepEqual((done.result as Record<string, { body: unknown }>).step3?.body, { done: '/three' });
      } finally {
        await api.close();
      }
    });

    it('a worker killed after sending its request and before acknowledging: the job is redelivered with the same Idempotency-Key, applied once', async () => {
      const firstArrived = deferred();
      const applied = new Map<string, unknown>(); // Idempotency-Key -> stored response
      const effects: string[] = [];
      const api = await startHttpServer(async (req, res) => {
        const key = String(req.headers['idempotency-key']);
        const stored = applied.get(key);
        if (stored) return json(res, 200, stored, { 'idempotent-replayed': 'true' });
        effects.push(req.path);
        const result = { ticket: `TCK-${effects.length}`, path: req.path };
        applied.set(key, result);
        if (req.path === '/one' && effects.length === 1) {
          firstArrived.resolve();
          return; // never answered: the worker dies waiting
        }
        json(res, 200, result);
      });
      try {
        system = await startTestSystem(t, { ROLES: 'engine' });
        const { workflow } = await system.catalog.deploy(await fixture('three-http.bpmn'));
        const workerEnv = { ...t.env, ROLES: 'worker', WORKER_LOCK_MS: '1000', WORKER_STALLED_INTERVAL_MS: '300' };
        const first = startRole(workerEnv);
        children.push(first);
        await first.ready;

        const urls = { step1: `${api.url}/one`, step2: `${api.url}/two`, step3: `${api.url}/three` };
        const { execution } = await system.executions.start(workflow.id, { urls, ticket: 'T-7' });
        await firstArrived.promise;
        await first.kill('SIGKILL');

        const second = startRole(workerEnv);
        children.push(second);
        await second.ready;
        const done = await ended(system!.store, execution.id).catch(async (err: Error) => {
          const steps = await system!.store.getSteps(execution.id);
          throw new Error(`${err.message}\nsteps: ${JSON.stringify(steps.map((s) => [s.activityId, s.status]))}\nrequests: ${JSON.stringify(api.requests.map((r) => r.path))}\nworker: ${second.output.join('')}`);
        });
        assert.equal(done.status, 'completed', JSON.stringify(done.error));

        const one = api.requests.filter((r) => r.path === '/one');
        assert.equal(one.length, 2, 'step 1 was redelivered to the second worker');
        assert.equal(one[0]!.headers['idempotency-key'], one[1]!.headers['idempotency-key']);
        assert.deepEqual(effects, ['/one', '/two', '/three'], 'each step took effect once');
        const steps = await system.store.getSteps(execution.id);
        const step1 = steps.find((s) => s.activityId === 'step1')!;
        assert.equal(one[0]!.headers['idempotency-key'], step1.jobId);
        assert.deepEqual((step1.output as { body: unknown }).body, { ticket: 'TCK-1', path: '/one' });
      } finally {
        await api.close();
      }
    });
  });
}
