import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { System } from '../engine/system.ts';
import { signature } from '../engine/webhooks.ts';
import { databases, ended, eventually, serve, startTestSystem, testEnv, type TestEnv } from './support/env.ts';
import { json, startHttpServer, type Recorded } from './support/http-server.ts';

/*
 * Outbound webhooks: a SOC tool subscribes to execution events and receives each one signed,
 * retried when it answers with an error, every attempt recorded. Deliveries run concurrently: the
 * payload's occurred_at, not the arrival order, says what happened first.
 */
type Json = Record<string, any>;

const approval = `<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" xmlns:camunda="http://camunda.org/schema/1.0/bpmn" id="d" targetNamespace="t">
  <bpmn:process id="notify-me" isExecutable="true">
    <bpmn:startEvent id="start"/><bpmn:sequenceFlow id="f0" sourceRef="start" targetRef="approve"/>
    <bpmn:userTask id="approve" name="Approve" camunda:candidateGroups="ir"/><bpmn:sequenceFlow id="f1" sourceRef="approve" targetRef="end"/>
    <bpmn:endEvent id="end"/>
  </bpmn:process>
</bpmn:definitions>`;

describe(`outbound webhooks (${databases[0]})`, () => {
  let t: TestEnv;
  let system: System;
  let server: Awaited<ReturnType<typeof serve>>;
  let receiver: Awaited<ReturnType<typeof startHttpServer>>;
  let failNext = 0;

  before(async () => {
    receiver = await startHttpServer((_req, res) => {
      if (failNext > 0) {
        failNext--;
        return json(res, 503, { error: 'busy' });
      }
      json(res, 200, { ok: true });
    });
    t = await testEnv(databases[0]!);
    system = await startTestSystem(t, { WEBHOOK_BACKOFF_MS: '50' });
    server = await serve(system);
  });
  after(async () => {
    await server?.close();
    await system?.close();
    await t?.cleanup();
    await receiver?.close();
  });

  const api = async (method: string, path: string, body?: unknown) => {
    const res = await fetch(server.base + path, { method, headers: { 'content-type': 'application/json' }, ...(body ? { body: JSON.stringify(body) } : {}) });
    return { status: res.status, body: res.status === 204 ? {} : ((await res.json()) as Json) };
  };
  const received = (executionId: string) => receiver.requests.filter((r) => JSON.parse(r.body).execution?.id === executionId);

  it('refuses a subscription with a bad URL or an unknown event', async () => {
    assert.equal((await api('POST', '/webhooks', { url: 'ftp://x.example/hook', events: ['execution.completed'] })).status, 400);
    assert.equal((await api('POST', '/webhooks', { url: 'https://user:pa55@x.example/hook', events: ['execution.completed'] })).status, 400, 'no credentials in the URL');
    const bad = await api('POST', '/webhooks', { url: `${receiver.url}/hook`, events: ['execution.exploded'] });
    assert.equal(bad.status, 400);
    assert.equal(bad.body.error.code, 'BAD_REQUEST');
  });

  it('delivers started, waiting for approval and completed, signed, retrying a failed delivery and recording it', async () => {
    const created = await api('POST', '/webhooks', { url: `${receiver.url}/soar-events`, events: ['execution.started', 'execution.waiting_for_approval', 'execution.completed'] });
    assert.equal(created.status, 201);
    const { id: subId, secret } = created.body.data;
    assert.match(secret, /^[0-9a-f]{64}$/);
    const listed = await api('GET', '/webhooks');
    assert.equal(JSON.stringify(listed.body).includes(secret), false, 'the secret is shown only at creation');

    await system.catalog.deploy(approval);
    failNext = 1; // the first delivery is answered 503, then retried
    const { execution } = await system.executions.start('notify-me', { alert: 'A-1' });
    const task = await eventually('the approval', async () => (await system.store.listTasks({ executionId: execution.id, status: 'open', limit: 1, offset: 0 })).items[0]);
    await eventually('started and waiting delivered', async () => received(execution.id).filter((r) => r.headers['x-soar-event'] !== undefined).length >= 3);
    await system.deliveries.completeTask(task.id, { decision: 'approve' }, 'alice');
    assert.equal((await ended(system.store, execution.id)).status, 'completed');
    const events = await eventually('completed delivered', async () => {
      const ok = received(execution.id).map((r) => r.headers['x-soar-event']);
      return ok.includes('execution.completed') ? ok : undefined;
    });
    assert.deepEqual([...new Set(events)].sort(), ['execution.completed', 'execution.started', 'execution.waiting_for_approval']);
    const at = (name: string) => Date.parse(JSON.parse(received(execution.id).find((r) => r.headers['x-soar-event'] === name)!.body).occurred_at);
    assert.ok(at('execution.started') <= at('execution.waiting_for_approval') && at('execution.waiting_for_approval') <= at('execution.completed'));
    assert.equal(events.length, 4, 'the refused delivery was tried twice, the others once');

    for (const r of received(execution.id)) verify(r, secret);
    const waitingFor = JSON.parse(received(execution.id).find((r) => r.headers['x-soar-event'] === 'execution.waiting_for_approval')!.body);
    assert.equal(waitingFor.task.id, task.id);
    assert.deepEqual(waitingFor.task.candidate_groups, ['ir']);

    const deliveries = await api('GET', `/webhooks/${subId}/deliveries`);
    assert.equal(deliveries.status, 200);
    const mine = (deliveries.body.data as Json[]).filter((d) => d.payload.execution.id === execution.id);
    assert.equal(mine.length, 3);
    assert.ok(mine.every((d) => d.status === 'delivered' && d.response_code === 200));
    assert.deepEqual(mine.map((d) => d.attempts).sort(), [1, 1, 2]);
    assert.equal((await api('GET', `/webhooks/${subId}/deliveries?status=failed`)).body.meta.total, 0);

    assert.equal((await api('DELETE', `/webhooks/${subId}`)).status, 204);
    assert.equal((await api('GET', `/webhooks/${subId}`)).status, 404);
  });

  it('tells subscribers when an alert is created and when it is updated', async () => {
    const { secret } = (await api('POST', '/webhooks', { url: `${receiver.url}/alerts`, events: ['alert.created', 'alert.updated'] })).body.data;
    const created = await api('POST', '/api/v2/alerts', { id: 'ALR-WH-1', title: 'Impossible travel', severity: 'high' });
    assert.equal(created.status, 201);
    assert.equal((await api('PATCH', '/api/v2/alerts/ALR-WH-1', { status: 'acknowledged', assigned_to: 'alice' })).status, 200);
    const got = await eventually('both alert events', async () => {
      const mine = receiver.requests.filter((r) => r.path === '/alerts');
      return mine.length >= 2 ? mine : undefined;
    });
    assert.deepEqual(got.map((r) => r.headers['x-soar-event']).sort(), ['alert.created', 'alert.updated']);
    const updated = JSON.parse(got.find((r) => r.headers['x-soar-event'] === 'alert.updated')!.body);
    assert.equal(updated.alert.id, 'ALR-WH-1');
    assert.equal(updated.alert.status, 'acknowledged');
    for (const r of got) verify(r, secret);
  });

  it('records a delivery that failed after its last attempt', async () => {
    const sub = (await api('POST', '/webhooks', { url: 'http://127.0.0.1:9/unreachable', events: ['execution.failed'] })).body.data;
    const failing = approval.replace('notify-me', 'fails-fast').replace('<bpmn:userTask id="approve" name="Approve" camunda:candidateGroups="ir"/>', '<bpmn:scriptTask id="approve" scriptFormat="jsonata"><bpmn:script>$error("boom")</bpmn:script></bpmn:scriptTask>');
    await system.catalog.deploy(failing);
    const { execution } = await system.executions.start('fails-fast', {});
    assert.equal((await ended(system.store, execution.id)).status, 'failed');
    const [d] = await eventually('the delivery to fail', async () => {
      const page = await system.store.listDeliveries({ subscriptionId: sub.id, status: 'failed', limit: 5, offset: 0 });
      return page.items.length ? page.items : undefined;
    });
    assert.equal(d!.attempts, 8);
    assert.match(d!.lastError!, /could not connect \(127\.0\.0\.1:9\)/);
  });
});

function verify(r: Recorded, secret: string): void {
  const ts = r.headers['x-soar-timestamp'] as string;
  assert.equal(r.headers['x-soar-signature'], signature(secret, ts, r.body), 'the signature verifies with the secret');
  assert.ok(Math.abs(Date.now() / 1000 - Number(ts)) < 60);
}
