import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { System } from '../engine/system.ts';
import { databases, eventually, fixture, startTestSystem, testEnv, type TestEnv, serve } from './support/env.ts';

describe(`HTTP API (${databases[0]})`, () => {
  let t: TestEnv;
  let system: System;
  let server: Awaited<ReturnType<typeof serve>>;
  let base: string;

  before(async () => {
    t = await testEnv(databases[0]!);
    system = await startTestSystem(t, { HTTP_BODY_LIMIT: '64kb' });
    server = await serve(system);
    base = server.base;
  });
  after(async () => {
    await server?.close();
    await system.close();
    await t.cleanup();
  });

  const call = async (method: string, path: string, body?: unknown, type = 'application/json') => {
    const res = await fetch(base + path, {
      method,
      headers: body === undefined ? {} : { 'content-type': type },
      body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
    });
    const text = await res.text();
    return { status: res.status, body: text ? JSON.parse(text) : null, headers: res.headers };
  };

  it('deploys BPMN sent as XML or as JSON, versioning by process key', async () => {
    const xml = await fixture('three-noop.bpmn');
    const a = await call('POST', '/workflows', xml, 'application/xml');
    assert.equal(a.status, 201);
    assert.deepEqual(Object.keys(a.body.data).sort(), ['created_at', 'id', 'key', 'name', 'version', 'warnings']);
    assert.equal(a.body.data.key, 'three-noop');
    assert.equal(a.body.data.version, 1);
    assert.deepEqual(a.body.data.warnings, []);
    const b = await call('POST', '/workflows', { bpmn: xml });
    assert.equal(b.status, 201);
    assert.equal(b.body.data.version, 2);

    const list = await call('GET', '/workflows?limit=1');
    assert.equal(list.status, 200);
    assert.equal(list.body.data.length, 1);
    assert.equal(list.body.meta.total, 2);
    assert.equal(list.body.links.next, '/workflows?limit=1&offset=1');
    const byKey = await call('GET', '/workflows/three-noop');
    assert.equal(byKey.body.data.version, 2);
    assert.equal(byKey.body.data.xml, xml);
  });

  it('refuses an invalid playbook with 422 naming the element and line', async () => {
    const bad = (await fixture('three-noop.bpmn')).replace('type="core.noop" /><zeebe:ioMapping><zeebe:input source="=a.n"', 'type="nosuch.thing" /><zeebe:ioMapping><zeebe:input source="=a.n"');
    const r = await call('POST', '/workflows', bad, 'application/xml');
    assert.equal(r.status, 422);
    assert.equal(r.body.error.code, 'INVALID_PLAYBOOK');
    const detail = r.body.error.details.find((d: { element: string }) => d.element === 'b');
    assert.ok(detail, JSON.stringify(r.body.error.details));
    assert.match(detail.reason, /nosuch\.thing/);
    assert.equal(typeof detail.line, 'number');

    const broken = await call('POST', '/workflows', '<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"><bpmn:process id="p" isExecutable="true">', 'application/xml');
    assert.equal(broken.status, 422);
    assert.ok(broken.body.error.details.length >= 1);
  });

  it('executes by key and reports the execution with its steps (also under /api/v2)', async () => {
    const started = await call('POST', '/workflows/three-noop/execute', { input_data: { n: 3 }, priority: 'high' });
    assert.equal(started.status, 202);
    assert.deepEqual(Object.keys(started.body).sort(), ['estimated_duration', 'execution_id', 'links', 'status', 'workflow_id', 'workflow_version']);
    assert.equal(started.body.status, 'pending');
    const id = started.body.execution_id as string;
    const view = await eventually('completion', async () => {
      const r = await call('GET', `/executions/${id}`);
      return r.body.status === 'completed' ? r.body : undefined;
    });
    assert.equal(view.execution_id, id);
    assert.equal(view.progress, 100);
    assert.equal(view.workflow_version, 2);
    assert.deepEqual(view.result.b, { fromA: 3 });
    assert.deepEqual(view.steps.map((s: { activity_id: string }) => s.activity_id), ['start', 'a', 'b', 'c', 'end']);
    for (const key of ['activity_id', 'name', 'type', 'status', 'attempt', 'started_at', 'ended_at', 'output', 'error']) {
      assert.ok(key in view.steps[1], `step has ${key}`);
    }
    const v2 = await call('GET', `/api/v2/workflows/executions/${id}`);
    assert.equal(v2.status, 200);
    assert.equal(v2.body.status, 'completed');

    const sync = await call('POST', '/api/v2/workflows/three-noop/execute', { input_data: { n: 4 }, async: false });
    assert.equal(sync.status, 200);
    assert.equal(sync.body.status, 'completed');
    assert.deepEqual(sync.body.result.a, { n: 4 });

    const listed = await call('GET', '/executions?status=completed&workflow_id=three-noop');
    assert.equal(listed.status, 200);
    assert.ok(listed.body.data.some((e: { execution_id: string }) => e.execution_id === id));
    assert.ok(listed.body.meta.total >= 2);
  });

  it('answers bad input with the error shape and keeps serving', async () => {
    const malformed = await call('POST', '/workflows/three-noop/execute', '{"input_data": ', 'application/json');
    assert.equal(malformed.status, 400);
    assert.equal(malformed.body.error.code, 'INVALID_JSON');

    const wrongType = await call('POST', '/workflows/three-noop/execute', { input_data: 'nope' });
    assert.equal(wrongType.status, 400);
    assert.equal(wrongType.body.error.details[0].field, 'input_data');

    const unknown = await call('POST', '/workflows/nope/execute', { input_data: {} });
    assert.equal(unknown.status, 404);
    assert.equal(unknown.body.error.code, 'NOT_FOUND');
    assert.equal((await call('GET', '/executions/00000000-0000-0000-0000-000000000000')).status, 404);
    assert.equal((await call('GET', '/no/such/route')).status, 404);

    const huge = await call('POST', '/workflows/three-noop/execute', { input_data: { blob: 'x'.repeat(100_000) } });
    assert.equal(huge.status, 413);
    assert.equal(huge.body.error.code, 'PAYLOAD_TOO_LARGE');

    const media = await call('POST', '/workflows', 'hello', 'text/plain');
    assert.equal(media.status, 415);

    const badQuery = await call('GET', '/executions?limit=0');
    assert.equal(badQuery.status, 400);

    const health = await call('GET', '/healthz');
    assert.equal(health.status, 200);
    assert.equal(health.body.status, 'ok');
  });

  it('refuses NUL characters with a 400, in the path, the query and the body', async () => {
    for (const [method, path, body] of [
      ['GET', '/executions/%00', undefined],
      ['GET', '/executions?workflow_id=a%00b', undefined],
      ['POST', '/api/v2/alerts', { title: 'a\u0000b', severity: 'high' }],
    ] as const) {
      const res = await fetch(base + path, { method, headers: { 'content-type': 'application/json' }, ...(body ? { body: JSON.stringify(body) } : {}) });
      assert.equal(res.status, 400, `${method} ${path}`);
      assert.match(((await res.json()) as { error: { message: string } }).error.message, /NUL/);
    }
  });
});
