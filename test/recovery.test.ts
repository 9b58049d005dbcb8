import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { defaultRegistry, defineActivity } from '../activities/index.ts';
import { BpmnError } from '../engine/errors.ts';
import type { System } from '../engine/system.ts';
import { databases, ended, eventually, fixture, startTestSystem, testEnv, type TestEnv } from './support/env.ts';
import { json, startHttpServer } from './support/http-server.ts';

const isolate = defineActivity<{ host?: string }>({
  id: 'test.isolate',
  description: 'An EDR stand-in that does not know the host.',
  async run() {
    throw new BpmnError('HOST_NOT_FOUND', 'no such host in the EDR');
  },
});

describe(`recovery and error paths (${databases[0]})`, () => {
  let t: TestEnv;
  let system: System;
  before(async () => {
    t = await testEnv(databases[0]!);
    system = await startTestSystem(t, { ENGINE_LEASE_MS: '600', ENGINE_START_GRACE_MS: '300' }, { registry: defaultRegistry().add(isolate) });
  });
  after(async () => {
    await system?.close();
    await t?.cleanup();
  });

  it('an execution this process owns but does not track is not kept alive: its lease lapses and it is adopted', async () => {
    // regression: the lease heartbeat used to renew every row this process owned
    const { workflow } = await system.catalog.deploy(await fixture('three-noop.bpmn'));
    const orphan = await system.store.createExecution({
      id: crypto.randomUUID(),
      workflowId: workflow.id,
      input: { n: 7 },
      priority: 3,
      owner: system.runtime!.engineId,
      leaseUntil: new Date(Date.now() + 600),
    });
    const done = await eventually('the orphan to be adopted and completed', async () => {
      const e = await system.store.getExecution(orphan.id);
      return e?.status === 'completed' ? e : undefined;
    });
    assert.deepEqual((done.result as Record<string, unknown>).a, { n: 7 });
  });

  it("a connector's BPMN error code is caught by the error boundary event that names it", async () => {
    // regression: the code was dropped on the way to bpmn-engine, so only catch-all boundaries fired
    await system.catalog.deploy(await fixture('error-boundary.bpmn'));
    const { execution } = await system.executions.start('isolate-host', { host: 'ws-042' });
    const done = await ended(system.store, execution.id);
    assert.equal(done.status, 'completed', JSON.stringify(done.error));
    const steps = await system.store.getSteps(execution.id);
    assert.ok(steps.some((s) => s.activityId === 'escalated' && s.status === 'completed'), JSON.stringify(steps.map((s) => [s.activityId, s.status])));
    assert.equal(steps.some((s) => s.activityId === 'isolated'), false);
  });

  it('core.http keeps URL paths out of errors and credential headers out of its output', async () => {
    const api = await startHttpServer((req, res) => {
      if (req.path.startsWith('/hooks/')) return json(res, 403, { error: 'invalid_token' });
      json(res, 200, { ok: true }, { 'set-cookie': 'session=secret', 'x-request-id': 'r-1' });
    });
    try {
      const http = system.registry.get('core.http')!;
      const ctx = { executionId: 'e', activityId: 'a', jobId: 'j', idempotencyKey: 'k', attempt: 1, signal: new AbortController().signal, logger: system.logger };
      await assert.rejects(http.run({ method: 'POST', url: `${api.url}/hooks/T000/B000/XXXXSECRET` }, ctx), (err: Error) => {
        assert.equal(err.name, 'NonRetryableError');
        assert.doesNotMatch(err.message, /SECRET|hooks/);
        assert.match(err.message, /answered 403/);
        return true;
      });
      const out = (await http.run({ url: `${api.url}/ok` }, ctx)) as { headers: Record<string, string> };
      assert.equal(out.headers['set-cookie'], undefined);
      assert.equal(out.headers['x-request-id'], 'r-1');
    } finally {
      await api.close();
    }
  });
});
