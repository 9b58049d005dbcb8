import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { System } from '../engine/system.ts';
import { databases, fixture, settled, startTestSystem, testEnv, type TestEnv } from './support/env.ts';
import { json, startHttpServer } from './support/http-server.ts';

for (const db of databases) {
  describe(`the spine on ${db}`, () => {
    let t: TestEnv;
    let system: System;
    before(async () => {
      t = await testEnv(db);
      system = await startTestSystem(t);
    });
    after(async () => {
      await system?.close();
      await t?.cleanup();
    });

    it('runs a three-task playbook through the queue, storing every task output and step', async () => {
      const { workflow } = await system.catalog.deploy(await fixture('three-noop.bpmn'));
      assert.equal(workflow.key, 'three-noop');
      assert.equal(workflow.version, 1);

      const { execution } = await system.executions.start('three-noop', { n: 5 });
      const done = settled(system, execution.id);
      assert.equal(await done, 'completed');

      const view = await system.executions.get(execution.id);
      assert.equal(view.status, 'completed');
      assert.equal(view.progress, 100);
      assert.deepEqual(view.result, { n: 5, a: { n: 5 }, b: { fromA: 5 }, c: {} });
      assert.deepEqual(
        view.steps.map((s) => [s.activityId, s.status]),
        [['start', 'completed'], ['a', 'completed'], ['b', 'completed'], ['c', 'completed'], ['end', 'completed']],
      );
      const b = view.steps.find((s) => s.activityId === 'b')!;
      assert.equal(b.activity, 'core.noop');
      assert.match(b.jobId!, new RegExp(`^${execution.id}:b:`));
      assert.deepEqual(b.input, { fromA: 5 });
      assert.deepEqual(b.output, { fromA: 5 });
      assert.equal(b.attempt, 1);
      assert.ok(view.startedAt && view.endedAt && view.endedAt >= view.startedAt);
      assert.equal(view.state, null, 'a finished execution keeps no engine state');
    });

    it('deploying the same key again makes a new version, and executions by key use the latest', async () => {
      const xml = (await fixture('three-noop.bpmn')).replace('name="Three no-op tasks"', 'name="Three no-op tasks v2"');
      const { workflow } = await system.catalog.deploy(xml);
      assert.equal(workflow.version, 2);
      const { execution } = await system.executions.start('three-noop', { n: 1 });
      assert.equal(execution.workflowId, workflow.id);
      assert.equal(await settled(system, execution.id), 'completed');
    });

    it('fails the execution with the step, the error and the attempt count when a task fails', async () => {
      const api = await startHttpServer((_req, res) => json(res, 400, { error: 'bad ticket' }));
      try {
        await system.catalog.deploy(await fixture('three-http.bpmn'));
        const urls = { step1: `${api.url}/one`, step2: `${api.url}/two`, step3: `${api.url}/three` };
        const { execution } = await system.executions.start('three-http', { urls, ticket: 'T-1' });
        assert.equal(await settled(system, execution.id), 'failed');
        const view = await system.executions.get(execution.id);
        assert.equal(view.status, 'failed');
        assert.match(view.error!.message, /answered 400/);
        const step1 = view.steps.find((s) => s.activityId === 'step1')!;
        assert.equal(step1.status, 'failed');
        assert.equal(step1.attempt, 1, 'a 400 is not retried');
        assert.match(step1.error!.message, /answered 400/);
        assert.equal(view.steps.some((s) => s.activityId === 'step2'), false);
        assert.equal(api.requests.length, 1);
        assert.equal(api.requests[0]!.headers['idempotency-key'], step1.jobId);
      } finally {
        await api.close();
      }
    });
  });
}
