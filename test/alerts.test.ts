import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { sign } from '../engine/alerts/hooks.ts';
import { PrismaAlertStore } from '../engine/db/alerts-store.ts';
import { openDatabase } from '../engine/db/client.ts';
import type { System } from '../engine/system.ts';
import { databases, ended, eventually, serve, startTestSystem, testEnv, type TestEnv } from './support/env.ts';

type Json = Record<string, unknown>;

const SPLUNK_SECRET = 'splunk-test-secret-0123456789';
const SENTINEL_SECRET = 'sentinel-test-secret-0123456789';

function bpmn(id: string, body: string, defs = ''): string {
  return `<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" xmlns:zeebe="http://camunda.org/schema/zeebe/1.0"
  xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" id="d_${id}" targetNamespace="http://bpmn.io/schema/bpmn">
  ${defs}
  <bpmn:process id="${id}" isExecutable="true">${body}</bpmn:process>
</bpmn:definitions>`;
}
const flow = (id: string, from: string, to: string) => `<bpmn:sequenceFlow id="${id}" sourceRef="${from}" targetRef="${to}"/>`;
/** start -> one noop step -> end */
const simple = (id: string) =>
  bpmn(
    id,
    `<bpmn:startEvent id="start"/>${flow('f1', 'start', 'triage')}
     <bpmn:serviceTask id="triage"><bpmn:extensionElements><zeebe:taskDefinition type="core.noop"/></bpmn:extensionElements></bpmn:serviceTask>
     ${flow('f2', 'triage', 'end')}<bpmn:endEvent id="end"/>`,
  );

/** A Splunk alert action payload (the first result row of the search). */
const splunkPayload = (sid: string, urgency: string, src = '10.1.2.3') => ({
  sid,
  search_name: 'Brute force on VPN',
  app: 'search',
  owner: 'admin',
  results_link: `https://splunk.example/app/search?sid=${sid}`,
  result: { src, user: 'jdoe', count: '57', urgency },
});

for (const db of databases) {
  describe(`alerts, triggers and webhooks (${db})`, () => {
    let t: TestEnv;
    let system: System;
    let server: Awaited<ReturnType<typeof serve>>;
    let base: string;

    const api = async (method: string, path: string, body?: unknown): Promise<{ status: number; body: Json }> => {
      const res = await fetch(base + path, {
        method,
        headers: body === undefined ? {} : { 'content-type': 'application/json' },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
      const text = await res.text();
      return { status: res.status, body: (text ? JSON.parse(text) : {}) as Json };
    };
    /** POSTs a webhook delivery, signed with `secret` unless told otherwise. */
    const deliver = async (hook: string, payload: unknown, o: { secret?: string; deliveryId?: string; timestamp?: number; tamper?: (raw: string) => string; unsigned?: boolean } = {}) => {
      const raw = JSON.stringify(payload);
      const ts = String(o.timestamp ?? Math.floor(Date.now() / 1000));
      const headers: Record<string, string> = { 'content-type': 'application/json', 'x-soar-delivery': o.deliveryId ?? randomUUID() };
      if (!o.unsigned) Object.assign(headers, { 'x-soar-timestamp': ts, 'x-soar-signature': sign(o.secret ?? SPLUNK_SECRET, ts, raw) });
      const res = await fetch(`${base}/hooks/${hook}`, { method: 'POST', headers, body: o.tamper ? o.tamper(raw) : raw });
      return { status: res.status, body: (await res.json()) as Json };
    };
    /** One signed delivery (fixed timestamp and body), to be sent again under other delivery ids. */
    const signedCapture = (payload: unknown) => {
      const raw = JSON.stringify({ ...(payload as Json), result: { ...((payload as Json).result as Json), capture: randomUUID() } });
      const ts = String(Math.floor(Date.now() / 1000));
      const signature = sign(SPLUNK_SECRET, ts, raw);
      return async (deliveryId: string) => {
        const res = await fetch(`${base}/hooks/splunk`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-soar-delivery': deliveryId, 'x-soar-timestamp': ts, 'x-soar-signature': signature }, body: raw });
        return { status: res.status, body: (await res.json()) as Json };
      };
    };
    const data = (r: { body: Json }) => r.body.data as Json;
    const alertCount = async () => ((await api('GET', '/api/v2/alerts?limit=1')).body.meta as Json).total as number;
    const startsOf = async (alertId: string) => {
      await system.alerts.idle();
      return (data(await api('GET', `/api/v2/alerts/${encodeURIComponent(alertId)}`)).executions as Json[]) ?? [];
    };

    before(async () => {
      t = await testEnv(db);
      system = await startTestSystem(t, {}, { env: { SOAR_HOOK_SPLUNK_SECRET: SPLUNK_SECRET, SOAR_HOOK_SENTINEL_SECRET: SENTINEL_SECRET, SOAR_HOOK_LOCKED_SECRET: SPLUNK_SECRET, SOAR_HOOK_LOCKED_ALLOW_IPS: '203.0.113.9' } });
      server = await serve(system);
      base = server.base;
      for (const key of ['vpn-bruteforce', 'phishing-triage-test', 'low-noise', 'disabled-one', 'wait-for-analyst']) {
        if (key !== 'wait-for-analyst') await system.catalog.deploy(simple(key));
      }
      const triggers: Array<[string, string, boolean]> = [
        ['vpn-bruteforce', `source = "splunk" and severity in ["high", "critical"]`, true],
        ['phishing-triage-test', `"phishing" in tags`, true],
        ['low-noise', `severity = "low"`, true],
        ['disabled-one', `source = "splunk"`, false],
      ];
      for (const [key, condition, enabled] of triggers) {
        const r = await api('POST', '/api/v2/triggers', { name: key, workflow_key: key, condition, enabled });
        assert.equal(r.status, 201, JSON.stringify(r.body));
      }
    });

    after(async () => {
      await server?.close();
      await system?.close();
      await t?.cleanup();
    });

    it('refuses a trigger whose condition is not jsonata', async () => {
      const r = await api('POST', '/api/v2/triggers', { name: 'bad', workflow_key: 'x', condition: 'severity = ' });
      assert.equal(r.status, 400);
      assert.equal((r.body.error as Json).code, 'BAD_REQUEST');
      assert.equal(((r.body.error as Json).details as Json[])[0]?.field, 'condition');
    });

    it('a signed Splunk delivery makes an alert that starts the matching enabled playbooks, and only those', async () => {
      const r = await deliver('splunk', splunkPayload('sch-1', 'High'));
      assert.equal(r.status, 201, JSON.stringify(r.body));
      const alertId = data(r).alert_id as string;
      assert.equal(alertId, 'splunk-sch-1');
      const starts = await startsOf(alertId);
      assert.deepEqual(starts.map((s) => s.workflow_key), ['vpn-bruteforce'], 'only the enabled trigger that matches');
      const executionId = starts[0]!.execution_id as string;
      const e = await ended(system.store, executionId);
      assert.equal(e.status, 'completed');
      assert.equal((e.input.alert as Json).id, alertId, 'the playbook got the alert as input');
      assert.equal((e.input.alert as Json).severity, 'high');
      const view = await api('GET', `/executions/${executionId}`);
      assert.deepEqual((view.body.trigger as Json).kind, 'alert');
      assert.equal((view.body.trigger as Json).alertId, alertId, 'the execution names its alert');

      const low = await deliver('splunk', splunkPayload('sch-2', 'informational'));
      assert.equal(low.status, 201);
      assert.deepEqual((await startsOf(data(low).alert_id as string)).map((s) => s.workflow_key), ['low-noise']);
    });

    it('refuses unsigned, badly signed, tampered, stale, replayed and foreign deliveries, and creates nothing for them', async () => {
      const before = await alertCount();
      const payload = splunkPayload('sch-refused', 'critical');
      const unsigned = await deliver('splunk', payload, { unsigned: true });
      assert.equal(unsigned.status, 401);
      assert.match((unsigned.body.error as Json).message as string, /unsigned/);
      const wrongKey = await deliver('splunk', payload, { secret: SENTINEL_SECRET });
      assert.equal(wrongKey.status, 401);
      assert.match((wrongKey.body.error as Json).message as string, /bad signature/);
      const tampered = await deliver('splunk', payload, { tamper: (raw) => raw.replace('critical', 'low') });
      assert.equal(tampered.status, 401);
      const stale = await deliver('splunk', payload, { timestamp: Math.floor(Date.now() / 1000) - 301 });
      assert.equal(stale.status, 401);
      assert.match((stale.body.error as Json).message as string, /stale/);
      const foreign = await deliver('locked', payload);
      assert.equal(foreign.status, 403, 'not from an allowed address');
      const unknown = await deliver('nope', payload);
      assert.equal(unknown.status, 404);
      assert.equal(await alertCount(), before, 'no alert from a refused delivery');

      const deliveryId = randomUUID();
      const first = await deliver('splunk', payload, { deliveryId });
      assert.equal(first.status, 201);
      const replay = await deliver('splunk', payload, { deliveryId });
      assert.equal(replay.status, 409);
      assert.match((replay.body.error as Json).message as string, /replayed/);
      // a captured delivery resent byte for byte under a new delivery id is a replay too
      const captured = signedCapture(splunkPayload('sch-captured', 'critical'));
      assert.equal((await captured(randomUUID())).status, 201);
      const resent = await captured(randomUUID());
      assert.equal(resent.status, 409);
      assert.equal(await alertCount(), before + 2);
    });

    it('50 concurrent duplicate deliveries of one incident start its playbook exactly once', async () => {
      const payload = splunkPayload('sch-dup', 'critical', '10.9.9.9');
      const answers = await Promise.all(Array.from({ length: 50 }, () => deliver('splunk', payload)));
      // the same incident again: 200 (known alert) or, when the bytes and timestamp are the same, 409 (replay)
      assert.ok(answers.every((a) => [200, 201, 409].includes(a.status)), JSON.stringify(answers.filter((a) => ![200, 201, 409].includes(a.status))[0]));
      assert.equal(answers.filter((a) => a.status === 201).length, 1, 'one delivery created the alert');
      const starts = await startsOf('splunk-sch-dup');
      assert.equal(starts.length, 1, 'one start recorded');
      const all = await system.executions.list({ workflow: 'vpn-bruteforce', limit: 1000, offset: 0 });
      const forIt = [];
      for (const e of all.items) {
        const trigger = (await system.store.getExecution(e.id))?.trigger;
        if (trigger?.kind === 'alert' && trigger.alertId === 'splunk-sch-dup') forIt.push(e.id);
      }
      assert.equal(forIt.length, 1, `one execution for the incident: ${JSON.stringify(starts)} ${all.total}`);
    });

    it('alerts with one dedup key start a playbook once, even with other ids and concurrently', async () => {
      const posts = await Promise.all(
        Array.from({ length: 20 }, (_, i) => api('POST', '/api/v2/alerts', { id: `dd-${i}`, title: 'Phish', severity: 'medium', tags: ['phishing'], dedup_key: 'mail:msg-77' })),
      );
      assert.ok(posts.every((p) => p.status === 201));
      await system.alerts.idle();
      let n = 0;
      for (let i = 0; i < 20; i++) n += (await startsOf(`dd-${i}`)).length;
      assert.equal(n, 1);
    });

    it('an alert closed by an analyst ends the playbook waiting for it through an event-based gateway', async () => {
      await system.catalog.deploy(
        bpmn(
          'wait-for-analyst',
          `<bpmn:startEvent id="start"/>${flow('f0', 'start', 'ebg')}
           <bpmn:eventBasedGateway id="ebg"/>${flow('e1', 'ebg', 'updated')}${flow('e2', 'ebg', 'timeout')}
           <bpmn:intermediateCatchEvent id="updated"><bpmn:messageEventDefinition messageRef="m_upd"/></bpmn:intermediateCatchEvent>
           <bpmn:intermediateCatchEvent id="timeout"><bpmn:timerEventDefinition><bpmn:timeDuration xsi:type="bpmn:tFormalExpression">PT1H</bpmn:timeDuration></bpmn:timerEventDefinition></bpmn:intermediateCatchEvent>
           ${flow('e3', 'updated', 'endClosed')}${flow('e4', 'timeout', 'endTimeout')}
           <bpmn:endEvent id="endClosed"/><bpmn:endEvent id="endTimeout"/>`,
          `<bpmn:message id="m_upd" name="alert-updated"><bpmn:extensionElements><zeebe:subscription correlationKey="=alert.id"/></bpmn:extensionElements></bpmn:message>`,
        ),
      );
      const trig = await api('POST', '/api/v2/triggers', { name: 'wait', workflow_key: 'wait-for-analyst', condition: `"needs-analyst" in tags` });
      assert.equal(trig.status, 201);
      const created = await api('POST', '/api/v2/alerts', { title: 'Suspicious login', severity: 'medium', tags: ['needs-analyst'] });
      assert.equal(created.status, 201);
      const alertId = data(created).id as string;
      const [start] = await startsOf(alertId);
      const executionId = start!.execution_id as string;
      await eventually('the playbook to wait for the alert', async () => (await system.store.getWaits(executionId)).some((w) => w.name === 'alert-updated' && w.correlationKey === alertId));

      const patched = await api('PATCH', `/api/v2/alerts/${alertId}`, { status: 'closed', notes: 'false positive' });
      assert.equal(patched.status, 200);
      assert.equal(data(patched).status, 'closed');
      const e = await ended(system.store, executionId);
      assert.equal(e.status, 'completed');
      const steps = await system.store.getSteps(executionId);
      assert.ok(steps.some((s) => s.activityId === 'endClosed'), 'ended through the message path');
      assert.ok(!steps.some((s) => s.activityId === 'endTimeout'));
      assert.equal(((e.variables?.updated as Json).alert as Json).status, 'closed', 'the playbook saw the closed alert');
      // an update of an alert nobody waits for is not an error
      assert.equal((await api('PATCH', `/api/v2/alerts/${alertId}`, { assigned_to: 'ana' })).status, 200);
    });

    it('lists, filters and bulk-updates alerts', async () => {
      const ids = [`bulk-${randomUUID()}`, `bulk-${randomUUID()}`];
      for (const id of ids) assert.equal((await api('POST', '/api/v2/alerts', { id, title: 'B', severity: 'critical', tags: ['bulk', 'x'] })).status, 201);
      const again = await api('POST', '/api/v2/alerts', { id: ids[0], title: 'B', severity: 'critical' });
      assert.equal(again.status, 200, 'the same id is the same alert');
      const r = await api('PATCH', '/api/v2/alerts/bulk', { alert_ids: [...ids, 'missing-1'], updates: { status: 'acknowledged', assigned_to: 'bob' } });
      assert.equal(r.status, 200);
      assert.deepEqual({ ...data(r), errors: undefined }, { updated_count: 2, failed_count: 1, errors: undefined });
      assert.equal(((data(r).errors as Json[])[0] as Json).alert_id, 'missing-1');
      const list = await api('GET', '/api/v2/alerts?status=acknowledged&assigned_to=bob&tags=bulk,x&severity=critical');
      assert.deepEqual((list.body.data as Json[]).map((a) => a.id).sort(), [...ids].sort());
      assert.equal((await api('GET', '/api/v2/alerts?status=nope')).status, 400);
      assert.equal((await api('PATCH', `/api/v2/alerts/${ids[0]}`, { status: 'gone' })).status, 400);
      assert.equal((await api('PATCH', '/api/v2/alerts/missing-2', { status: 'closed' })).status, 404);
    });

    it('an alert whose matching a crash interrupted is matched by the sweep', async () => {
      const database = await openDatabase(t.config().DATABASE_URL, t.schema ? { schema: t.schema } : {});
      try {
        const store = new PrismaAlertStore(database.db);
        const at = new Date(Date.now() - 60_000);
        await store.createAlert({ id: 'crashed-1', title: 'C', severity: 'high', status: 'open', source: 'splunk', assignedTo: null, tags: [], dedupKey: 'crashed-1', details: {}, createdAt: at, updatedAt: at, matchedAt: null });
        await system.alerts.sweep();
        const starts = await startsOf('crashed-1');
        assert.deepEqual(starts.map((s) => s.workflow_key), ['vpn-bruteforce']);
        assert.ok((await store.getAlert('crashed-1'))?.matchedAt, 'marked matched');
        await system.alerts.sweep();
        assert.equal((await startsOf('crashed-1')).length, 1, 'a second sweep starts nothing more');
      } finally {
        await database.close();
      }
    });

    it('stores, validates, filters and reads events', async () => {
      const ev = (o: Json = {}) => ({ id: randomUUID(), timestamp: '2026-11-23T10:00:00Z', source: { ip: '10.0.0.5' }, event: { type: 'auth_failure', severity: 'high' }, ...o });
      const one = ev();
      const r = await api('POST', '/api/v2/events', one);
      assert.equal(r.status, 201);
      assert.equal(data(r).id, one.id);
      const batch = [ev({ timestamp: '2026-11-23T11:00:00Z' }), ev({ event: { type: 'malware', severity: 'low' }, source: { ip: '10.0.0.6' } })];
      assert.equal((await api('POST', '/api/v2/events', batch)).status, 201);
      assert.equal((await api('POST', '/api/v2/events', one)).status, 409, 'an id is stored once');
      const bad = await api('POST', '/api/v2/events', { id: randomUUID(), timestamp: 'yesterday', source: { ip: '999.1.1.1' }, event: { severity: 'urgent' } });
      assert.equal(bad.status, 400);
      const fields = ((bad.body.error as Json).details as Json[]).map((d) => d.field).sort();
      assert.deepEqual(fields, ['event.severity', 'source.ip', 'timestamp']);
      assert.equal((await api('POST', '/api/v2/events', { timestamp: '2026-11-23T10:00:00Z' })).status, 400, 'id and event are required');

      const got = await api('GET', `/api/v2/events/${one.id}`);
      assert.deepEqual(data(got), one);
      assert.equal((await api('GET', `/api/v2/events/${randomUUID()}`)).status, 404);
      const high = await api('GET', '/api/v2/events?severity=high&source_ip=10.0.0.5&start_time=2026-11-23T10:30:00Z');
      assert.deepEqual((high.body.data as Json[]).map((e) => e.id), [batch[0]!.id]);
      const malware = await api('GET', '/api/v2/events?event_type=malware');
      assert.equal((malware.body.meta as Json).total, 1);
      assert.equal(((await api('GET', '/api/v2/events')).body.meta as Json).limit, 100);
      assert.equal((await api('GET', '/api/v2/events?limit=1001')).status, 400);
      assert.equal((await api('GET', '/api/v2/events?source_ip=nope')).status, 400);
    });
  });
}
