import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { System } from '../engine/system.ts';
import { databases, ended, eventually, startTestSystem, testEnv, type TestEnv, serve } from './support/env.ts';
import { json, startHttpServer } from './support/http-server.ts';

/** A definitions document around one process; `defs` adds root elements (messages, signals). */
function bpmn(id: string, body: string, defs = ''): string {
  return `<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" xmlns:zeebe="http://camunda.org/schema/zeebe/1.0"
  xmlns:camunda="http://camunda.org/schema/1.0/bpmn" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" id="d_${id}" targetNamespace="http://bpmn.io/schema/bpmn">
  ${defs}
  <bpmn:process id="${id}" isExecutable="true">${body}</bpmn:process>
</bpmn:definitions>`;
}

const noop = (id: string, extra = '') =>
  `<bpmn:serviceTask id="${id}"><bpmn:extensionElements><zeebe:taskDefinition type="core.noop"/>${extra}</bpmn:extensionElements></bpmn:serviceTask>`;
const flow = (id: string, from: string, to: string, condition?: string) =>
  condition === undefined
    ? `<bpmn:sequenceFlow id="${id}" sourceRef="${from}" targetRef="${to}"/>`
    : `<bpmn:sequenceFlow id="${id}" sourceRef="${from}" targetRef="${to}"><bpmn:conditionExpression xsi:type="bpmn:tFormalExpression">${condition}</bpmn:conditionExpression></bpmn:sequenceFlow>`;
const http = (id: string, url: string) =>
  `<bpmn:serviceTask id="${id}"><bpmn:extensionElements><zeebe:taskDefinition type="core.http"/><zeebe:ioMapping><zeebe:input source="${url}" target="url"/></zeebe:ioMapping></bpmn:extensionElements></bpmn:serviceTask>`;
const duration = (d: string) => `<bpmn:timerEventDefinition><bpmn:timeDuration xsi:type="bpmn:tFormalExpression">${d}</bpmn:timeDuration></bpmn:timerEventDefinition>`;

type Json = Record<string, unknown>;

for (const db of databases) {
  describe(`BPMN coverage (${db})`, () => {
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
      return { status: res.status, body: (await res.json()) as Json };
    };
    const deploy = (xml: string) => system.catalog.deploy(xml);
    const run = async (key: string, input: Json = {}) => (await system.executions.start(key, input)).execution.id;
    const result = async (id: string) => {
      const e = await ended(system.store, id);
      assert.equal(e.status, 'completed', `execution ${id} ${e.status}: ${JSON.stringify(e.error)}`);
      return e.result as Json;
    };
    const openTask = (executionId: string, activityId: string) =>
      eventually(`task ${activityId} to open`, async () => (await system.store.listTasks({ executionId, status: 'open', limit: 10, offset: 0 })).items.find((x) => x.activityId === activityId));
    const waiting = (executionId: string) =>
      eventually('the execution to wait', async () => (await system.store.getExecution(executionId))?.status === 'waiting');

    before(async () => {
      t = await testEnv(db);
      system = await startTestSystem(t, { ENGINE_HOT_IDLE_MS: '50' });
      server = await serve(system);
      base = server.base;
    });
    after(async () => {
      await server?.close();
      await system.close();
      await t.cleanup();
    });

    it('routes an exclusive gateway by jsonata conditions, a Camunda ${} comparison and the default flow', async () => {
      await deploy(
        bpmn(
          'triage',
          `<bpmn:startEvent id="start"/>${flow('f0', 'start', 'score')}
           <bpmn:scriptTask id="score" scriptFormat="jsonata"><bpmn:script>{ "value": $count(iocs) * 10 + (severity = "critical" ? 50 : 0) }</bpmn:script></bpmn:scriptTask>
           ${flow('f1', 'score', 'gw')}
           <bpmn:exclusiveGateway id="gw" default="fLow"/>
           ${flow('fHigh', 'gw', 'high', 'score.value &gt;= 50 and "phishing" in tags')}
           ${flow('fMid', 'gw', 'mid', '${score.value &gt; 10}')}
           ${flow('fLow', 'gw', 'low')}
           ${noop('high')}${noop('mid')}${noop('low')}
           ${flow('h', 'high', 'end')}${flow('m', 'mid', 'end')}${flow('l', 'low', 'end')}
           <bpmn:endEvent id="end"/>`,
        ),
      );
      const routes = async (input: Json) => {
        const r = await result(await run('triage', input));
        return ['high', 'mid', 'low'].filter((k) => k in r);
      };
      assert.deepEqual(await routes({ severity: 'critical', iocs: ['a'], tags: ['phishing'] }), ['high']);
      assert.deepEqual(await routes({ severity: 'low', iocs: ['a', 'b'], tags: [] }), ['mid']);
      assert.deepEqual(await routes({ severity: 'low', iocs: [], tags: [] }), ['low']);
      const r = await result(await run('triage', { severity: 'low', iocs: ['a', 'b', 'c'], tags: [] }));
      assert.deepEqual(r.score, { value: 30 }, 'the script result is stored under the task id');
    });

    it('forks and joins parallel and inclusive gateways', async () => {
      await deploy(
        bpmn(
          'fanout',
          `<bpmn:startEvent id="start"/>${flow('f0', 'start', 'fork')}
           <bpmn:parallelGateway id="fork"/>${flow('p1', 'fork', 'a')}${flow('p2', 'fork', 'b')}
           ${noop('a')}${noop('b')}${flow('p3', 'a', 'join')}${flow('p4', 'b', 'join')}
           <bpmn:parallelGateway id="join"/>${flow('f1', 'join', 'inc')}
           <bpmn:inclusiveGateway id="inc"/>
           ${flow('i1', 'inc', 'x', 'notify.slack')}${flow('i2', 'inc', 'y', 'notify.email')}${flow('i3', 'inc', 'z', 'notify.pager')}
           ${noop('x')}${noop('y')}${noop('z')}
           ${flow('i4', 'x', 'merge')}${flow('i5', 'y', 'merge')}${flow('i6', 'z', 'merge')}
           <bpmn:inclusiveGateway id="merge"/>${flow('f2', 'merge', 'after')}${noop('after')}${flow('f3', 'after', 'end')}
           <bpmn:endEvent id="end"/>`,
        ),
      );
      const id = await run('fanout', { notify: { slack: true, email: true, pager: false } });
      const r = await result(id);
      assert.ok('a' in r && 'b' in r && 'x' in r && 'y' in r && 'after' in r);
      assert.ok(!('z' in r), 'the inclusive branch whose condition is false is not taken');
      const steps = await system.store.getSteps(id);
      assert.equal(steps.filter((s) => s.activityId === 'after').length, 1, 'the inclusive join waits for both taken branches, then runs once');
    });

    it('waits for an analyst: GET /tasks lists the approval, POST /tasks/:id/complete records who and decides the path', async () => {
      await deploy(
        bpmn(
          'approval',
          `<bpmn:startEvent id="start"/>${flow('f0', 'start', 'approve')}
           <bpmn:userTask id="approve" name="Approve containment" camunda:candidateGroups="soc-l2, ir">
             <bpmn:extensionElements><camunda:formData>
               <camunda:formField id="reason" label="Reason" type="string"><camunda:validation><camunda:constraint name="required"/></camunda:validation></camunda:formField>
             </camunda:formData></bpmn:extensionElements>
           </bpmn:userTask>
           ${flow('f1', 'approve', 'gw')}<bpmn:exclusiveGateway id="gw" default="no"/>
           ${flow('yes', 'gw', 'contain', 'approve.decision = "approve"')}${flow('no', 'gw', 'end')}
           ${noop('contain')}${flow('f2', 'contain', 'end')}<bpmn:endEvent id="end"/>`,
        ),
      );
      const id = await run('approval', { host: 'ws-042' });
      const task = await openTask(id, 'approve');
      await waiting(id);

      const polled = await api('GET', `/executions/${id}`);
      assert.equal(polled.body.status, 'waiting');
      assert.deepEqual((polled.body.waiting_for as Json[]).map((w) => [w.kind, w.activity_id, w.task_id]), [['task', 'approve', task.id]]);

      const list = await api('GET', `/tasks?candidate_group=ir&execution_id=${id}`);
      assert.equal(list.status, 200);
      const listed = (list.body.data as Json[])[0]!;
      assert.equal(listed.task_id, task.id);
      assert.deepEqual(listed.candidate_groups, ['soc-l2', 'ir']);
      assert.equal((await api('GET', `/tasks?candidate_group=finance&execution_id=${id}`)).body.data instanceof Array, true);
      assert.equal(((await api('GET', `/tasks?candidate_group=finance&execution_id=${id}`)).body.data as Json[]).length, 0);

      const missing = await api('POST', `/tasks/${encodeURIComponent(task.id)}/complete`, { decision: 'approve' });
      assert.equal(missing.status, 400);
      assert.equal((missing.body.error as Json).code, 'BAD_REQUEST');

      const done = await api('POST', `/tasks/${encodeURIComponent(task.id)}/complete`, { decision: 'approve', fields: { reason: 'confirmed C2' }, user: 'alice' });
      assert.equal(done.status, 202);
      const again = await api('POST', `/tasks/${encodeURIComponent(task.id)}/complete`, { decision: 'reject', fields: { reason: 'x' }, user: 'bob' });
      assert.equal(again.status, 409, 'a task is answered once');

      const r = await result(id);
      assert.deepEqual(r.approve, { reason: 'confirmed C2', decision: 'approve' });
      assert.ok('contain' in r, 'the approved path ran');
      const stored = await system.store.getTask(task.id);
      assert.equal(stored?.status, 'completed');
      assert.equal(stored?.completedBy, 'alice');
      assert.ok(stored?.completedAt);
    });

    it('escalates an unanswered approval with a non-interrupting timer and breaches the SLA with an interrupting one', async () => {
      await deploy(
        bpmn(
          'sla',
          `<bpmn:startEvent id="start"/>${flow('f0', 'start', 'approve')}
           <bpmn:userTask id="approve"/>
           <bpmn:boundaryEvent id="remind" attachedToRef="approve" cancelActivity="false">${duration('PT0.2S')}</bpmn:boundaryEvent>
           ${flow('r1', 'remind', 'escalate')}${noop('escalate')}${flow('r2', 'escalate', 'remindEnd')}<bpmn:endEvent id="remindEnd"/>
           <bpmn:boundaryEvent id="breach" attachedToRef="approve">${duration('PT0.6S')}</bpmn:boundaryEvent>
           ${flow('b1', 'breach', 'autoContain')}${noop('autoContain')}${flow('b2', 'autoContain', 'end')}
           ${flow('f1', 'approve', 'end')}<bpmn:endEvent id="end"/>`,
        ),
      );
      const id = await run('sla');
      const task = await openTask(id, 'approve');
      const r = await result(id);
      assert.ok('escalate' in r, 'the reminder path ran while the task stayed open');
      assert.ok('autoContain' in r, 'the SLA breach path ran');
      assert.equal((await system.store.getTask(task.id))?.status, 'cancelled', 'the interrupted task is closed');
      const answer = await api('POST', `/tasks/${encodeURIComponent(task.id)}/complete`, { decision: 'approve' });
      assert.equal(answer.status, 409);
      assert.deepEqual(await system.store.getWaits(id), [], 'no wait is left open');
    });

    it('correlates a message by name and correlation key; an event-based gateway takes the first of message and timeout', async () => {
      await deploy(
        bpmn(
          'wait-close',
          `<bpmn:startEvent id="start"/>${flow('f0', 'start', 'ebg')}
           <bpmn:eventBasedGateway id="ebg"/>${flow('e1', 'ebg', 'closed')}${flow('e2', 'ebg', 'timeout')}
           <bpmn:intermediateCatchEvent id="closed"><bpmn:messageEventDefinition messageRef="m_closed"/></bpmn:intermediateCatchEvent>
           <bpmn:intermediateCatchEvent id="timeout">${duration('PT30S')}</bpmn:intermediateCatchEvent>
           ${flow('e3', 'closed', 'endClosed')}${flow('e4', 'timeout', 'endTimeout')}
           <bpmn:endEvent id="endClosed"/><bpmn:endEvent id="endTimeout"/>`,
          `<bpmn:message id="m_closed" name="alert-closed"><bpmn:extensionElements><zeebe:subscription correlationKey="=alert.id"/></bpmn:extensionElements></bpmn:message>`,
        ),
      );
      const one = await run('wait-close', { alert: { id: 'A-1' } });
      const two = await run('wait-close', { alert: { id: 'A-2' } });
      await waiting(one);
      await waiting(two);
      const waits = await system.store.getWaits(one);
      assert.deepEqual(waits.map((w) => [w.kind, w.name, w.correlationKey]).sort(), [['message', 'alert-closed', 'A-1'], ['timer', null, null]]);

      const sent = await api('POST', '/messages', { name: 'alert-closed', correlation_key: 'A-2', payload: { by: 'analyst', verdict: 'false_positive' } });
      assert.equal(sent.status, 202);
      assert.deepEqual((sent.body.data as Json).delivered_to, [two]);
      const r = await result(two);
      assert.deepEqual(r.closed, { by: 'analyst', verdict: 'false_positive' });
      assert.equal((await system.store.getExecution(one))?.status, 'waiting', 'the other alert still waits');

      const direct = await api('POST', `/executions/${one}/messages`, { name: 'alert-closed', payload: { verdict: 'true_positive' } });
      assert.equal(direct.status, 202);
      assert.deepEqual((await result(one)).closed, { verdict: 'true_positive' });
      const late = await api('POST', `/executions/${one}/messages`, { name: 'alert-closed', payload: {} });
      assert.equal(late.status, 409, 'an execution no longer waiting refuses the message');
      const nobody = await api('POST', '/messages', { name: 'alert-closed', correlation_key: 'A-404' });
      assert.equal(nobody.status, 404);
      const three = await run('wait-close', { alert: { id: 'A-3' } });
      await waiting(three);
      const keyless = await api('POST', '/messages', { name: 'alert-closed', payload: {} });
      assert.equal(keyless.status, 400, 'a message without a key does not reach executions subscribed by key');
      assert.equal((await system.store.getExecution(three))?.status, 'waiting');
    });

    it('broadcasts a signal to every waiting execution and starts playbooks with that signal start event', async () => {
      const sig = `<bpmn:signal id="s_done" name="containment-done"/>`;
      await deploy(
        bpmn(
          'wait-signal',
          `<bpmn:startEvent id="start"/>${flow('f0', 'start', 'hold')}
           <bpmn:intermediateCatchEvent id="hold"><bpmn:signalEventDefinition signalRef="s_done"/></bpmn:intermediateCatchEvent>
           ${flow('f1', 'hold', 'end')}<bpmn:endEvent id="end"/>`,
          sig,
        ),
      );
      await deploy(
        bpmn(
          'on-signal',
          `<bpmn:startEvent id="start"><bpmn:signalEventDefinition signalRef="s_done"/></bpmn:startEvent>${flow('f0', 'start', 'report')}${noop('report')}${flow('f1', 'report', 'end')}<bpmn:endEvent id="end"/>`,
          sig,
        ),
      );
      const a = await run('wait-signal');
      const b = await run('wait-signal');
      await waiting(a);
      await waiting(b);
      const sent = await api('POST', '/signals', { name: 'containment-done', payload: { host: 'ws-042' } });
      assert.equal(sent.status, 202);
      assert.deepEqual(((sent.body.data as Json).delivered_to as string[]).sort(), [a, b].sort());
      const started = (sent.body.data as Json).started as string[];
      assert.equal(started.length, 1);
      await result(a);
      await result(b);
      const r = await result(started[0]!);
      assert.equal(r.host, 'ws-042', 'the signal payload is the started execution input');
    });

    it('starts a playbook on its message start event when no execution waits for the message', async () => {
      await deploy(
        bpmn(
          'on-phish',
          `<bpmn:startEvent id="start"><bpmn:messageEventDefinition messageRef="m_phish"/></bpmn:startEvent>${flow('f0', 'start', 'triage')}${noop('triage', '<zeebe:ioMapping><zeebe:input source="=sender" target="sender"/></zeebe:ioMapping>')}${flow('f1', 'triage', 'end')}<bpmn:endEvent id="end"/>`,
          `<bpmn:message id="m_phish" name="phishing-reported"/>`,
        ),
      );
      const sent = await api('POST', '/messages', { name: 'phishing-reported', payload: { sender: 'evil@example.test' } });
      assert.equal(sent.status, 202);
      const [id] = (sent.body.data as Json).started as string[];
      assert.deepEqual((await result(id!)).triage, { sender: 'evil@example.test' });
    });

    it('calls another deployed workflow by key and stores its result under the call activity', async () => {
      await deploy(bpmn('enrich-ip', `<bpmn:startEvent id="start"/>${flow('f0', 'start', 'lookup')}${noop('lookup', '<zeebe:ioMapping><zeebe:input source="=ip" target="ip"/></zeebe:ioMapping>')}${flow('f1', 'lookup', 'end')}<bpmn:endEvent id="end"/>`));
      await deploy(
        bpmn(
          'parent',
          `<bpmn:startEvent id="start"/>${flow('f0', 'start', 'enrich')}
           <bpmn:callActivity id="enrich" calledElement="enrich-ip"/>${flow('f1', 'enrich', 'gw')}
           <bpmn:exclusiveGateway id="gw" default="d"/>${flow('ok', 'gw', 'end', 'enrich.lookup.ip = ip')}${flow('d', 'gw', 'bad')}
           <bpmn:endEvent id="end"/><bpmn:endEvent id="bad"/>`,
        ),
      );
      const id = await run('parent', { ip: '203.0.113.7' });
      const r = await result(id);
      assert.deepEqual((r.enrich as Json).lookup, { ip: '203.0.113.7' });
      const steps = await system.store.getSteps(id);
      assert.ok(steps.some((s) => s.activityId === 'end' && s.status === 'completed'), 'the gateway read the called result');
      const children = await system.store.listExecutions({ limit: 100, offset: 0 });
      const child = children.items.find((e) => e.parentId === id);
      assert.ok(child, 'the child records its parent');
      assert.equal(child.status, 'completed');
    });

    it('rejects a call activity naming a workflow that is not deployed', async () => {
      await assert.rejects(
        deploy(bpmn('calls-nothing', `<bpmn:startEvent id="start"/>${flow('f0', 'start', 'c')}<bpmn:callActivity id="c" calledElement="no-such-playbook"/>`)),
        (err: Error & { details?: Array<{ element: string; reason: string }> }) => err.details?.[0]?.element === 'c' && /no-such-playbook/.test(err.details[0].reason),
      );
    });

    it('runs a multi-instance task over a collection in parallel and collects the outputs in order', async () => {
      await deploy(
        bpmn(
          'each-ioc',
          `<bpmn:startEvent id="start"/>${flow('f0', 'start', 'enrich')}
           <bpmn:serviceTask id="enrich"><bpmn:extensionElements><zeebe:taskDefinition type="core.noop"/><zeebe:ioMapping><zeebe:input source="=ioc" target="value"/></zeebe:ioMapping></bpmn:extensionElements>
             <bpmn:multiInstanceLoopCharacteristics><bpmn:extensionElements><zeebe:loopCharacteristics inputCollection="=alert.iocs" inputElement="ioc"/></bpmn:extensionElements></bpmn:multiInstanceLoopCharacteristics>
           </bpmn:serviceTask>${flow('f1', 'enrich', 'seq')}
           <bpmn:serviceTask id="seq"><bpmn:extensionElements><zeebe:taskDefinition type="core.noop"/><zeebe:ioMapping><zeebe:input source="=ioc" target="v"/></zeebe:ioMapping></bpmn:extensionElements>
             <bpmn:multiInstanceLoopCharacteristics isSequential="true" camunda:collection="\${alert.iocs}" camunda:elementVariable="ioc"/>
           </bpmn:serviceTask>${flow('f2', 'seq', 'end')}<bpmn:endEvent id="end"/>`,
        ),
      );
      const iocs = ['198.51.100.1', 'evil.example', 'd41d8cd98f00b204e9800998ecf8427e', '203.0.113.9'];
      const r = await result(await run('each-ioc', { alert: { iocs } }));
      assert.deepEqual(r.enrich, iocs.map((value) => ({ value })));
      assert.deepEqual(r.seq, iocs.map((v) => ({ v })));
    });

    it('ends everything at a terminate end event, closing an open task', async () => {
      await deploy(
        bpmn(
          'terminate',
          `<bpmn:startEvent id="start"/>${flow('f0', 'start', 'fork')}<bpmn:parallelGateway id="fork"/>
           ${flow('p1', 'fork', 'approve')}${flow('p2', 'fork', 'auto')}
           <bpmn:userTask id="approve"/>${flow('a1', 'approve', 'end')}<bpmn:endEvent id="end"/>
           ${noop('auto')}${flow('a2', 'auto', 'kill')}<bpmn:endEvent id="kill"><bpmn:terminateEventDefinition/></bpmn:endEvent>`,
        ),
      );
      const id = await run('terminate');
      const e = await ended(system.store, id);
      assert.equal(e.status, 'completed');
      const tasks = await system.store.listTasks({ executionId: id, limit: 10, offset: 0 });
      assert.ok(tasks.items.every((x) => x.status === 'cancelled'), JSON.stringify(tasks.items.map((x) => x.status)));
    });

    it('catches a connector failure with a catch-all error boundary, and with an error event subprocess', async () => {
      const edr = await startHttpServer((req, res) => json(res, req.path === '/isolate' ? 400 : 200, req.path === '/isolate' ? { error: 'unknown host' } : { ok: true }));
      try {
        await deploy(
          bpmn(
            'isolate-host',
            `<bpmn:startEvent id="start"/>${flow('f0', 'start', 'isolate')}${http('isolate', edr.url + '/isolate')}
             <bpmn:boundaryEvent id="failed" attachedToRef="isolate"><bpmn:errorEventDefinition/></bpmn:boundaryEvent>
             ${flow('f1', 'isolate', 'done')}<bpmn:endEvent id="done"/>
             ${flow('f2', 'failed', 'ticket')}${http('ticket', edr.url + '/ticket')}${flow('f3', 'ticket', 'escalated')}<bpmn:endEvent id="escalated"/>`,
          ),
        );
        const id = await run('isolate-host');
        const r = await result(id);
        assert.ok('ticket' in r && !('done' in r));
        const step = (await system.store.getSteps(id)).find((x) => x.activityId === 'isolate')!;
        assert.equal(step.status, 'failed');
        assert.match(step.error!.message, /answered 400/);
        assert.equal(step.error!.attempts, 1, 'a 400 is not retried');

        await deploy(
          bpmn(
            'isolate-sub',
            `<bpmn:startEvent id="start"/>${flow('f0', 'start', 'fork')}<bpmn:parallelGateway id="fork"/>${flow('fa', 'fork', 'isolate')}${flow('fb', 'fork', 'approve')}
             <bpmn:userTask id="approve"/>${flow('fc', 'approve', 'done')}
             ${http('isolate', edr.url + '/isolate')}${flow('f1', 'isolate', 'done')}<bpmn:endEvent id="done"/>
             <bpmn:subProcess id="onError" triggeredByEvent="true">
               <bpmn:startEvent id="caught"><bpmn:errorEventDefinition/></bpmn:startEvent>${flow('s1', 'caught', 'notify')}${noop('notify')}${flow('s2', 'notify', 'subEnd')}<bpmn:endEvent id="subEnd"/>
             </bpmn:subProcess>`,
          ),
        );
        const sub = await run('isolate-sub');
        const e = await ended(system.store, sub);
        const steps = await system.store.getSteps(sub);
        assert.ok(steps.some((x) => x.activityId === 'notify' && x.status === 'completed'), JSON.stringify(steps.map((x) => [x.activityId, x.status])));
        assert.ok(!steps.some((x) => x.activityId === 'done' && x.status === 'completed'));
        assert.equal(e.status, 'completed');
        assert.equal((e.result as Json).caught instanceof Object, true);
        assert.match(((e.result as Json).caught as Json).message as string, /answered 400/);
        const [approval] = (await system.store.listTasks({ executionId: sub, limit: 5, offset: 0 })).items;
        assert.equal(approval?.status, 'cancelled', 'the interrupting error subprocess ended the rest of the scope');
      } finally {
        await edr.close();
      }
    });

    it('hands a signal thrown by one playbook to executions waiting for it and to signal start events', async () => {
      const sig = `<bpmn:signal id="s_handoff" name="ioc-confirmed"/>`;
      await deploy(
        bpmn(
          'hunt',
          `<bpmn:startEvent id="start"/>${flow('f0', 'start', 'hold')}
           <bpmn:intermediateCatchEvent id="hold"><bpmn:signalEventDefinition signalRef="s_handoff"/></bpmn:intermediateCatchEvent>${flow('f1', 'hold', 'end')}<bpmn:endEvent id="end"/>`,
          sig,
        ),
      );
      await deploy(bpmn('block', `<bpmn:startEvent id="start"><bpmn:signalEventDefinition signalRef="s_handoff"/></bpmn:startEvent>${flow('f0', 'start', 'fw')}${noop('fw', '<zeebe:ioMapping><zeebe:input source="=ioc" target="ioc"/></zeebe:ioMapping>')}${flow('f1', 'fw', 'end')}<bpmn:endEvent id="end"/>`, sig));
      await deploy(
        bpmn(
          'confirm',
          `<bpmn:startEvent id="start"/>${flow('f0', 'start', 'throw')}
           <bpmn:intermediateThrowEvent id="throw"><bpmn:extensionElements><zeebe:ioMapping><zeebe:input source="=ioc" target="ioc"/></zeebe:ioMapping></bpmn:extensionElements><bpmn:signalEventDefinition signalRef="s_handoff"/></bpmn:intermediateThrowEvent>
           ${flow('f1', 'throw', 'end')}<bpmn:endEvent id="end"/>`,
          sig,
        ),
      );
      const hunting = await run('hunt');
      await waiting(hunting);
      const before = (await system.store.listExecutions({ limit: 1000, offset: 0 })).items.map((e) => e.id);
      await result(await run('confirm', { ioc: '198.51.100.23' }));
      await result(hunting);
      const blocked = await eventually('the signal start playbook', async () =>
        (await system.store.listExecutions({ limit: 1000, offset: 0 })).items.find((e) => !before.includes(e.id) && e.trigger?.kind === 'signal'),
      );
      assert.deepEqual((await result(blocked.id)).fw, { ioc: '198.51.100.23' });
    });

    it('starts a playbook on each tick of its timer start event', async () => {
      await deploy(bpmn('every-tick', `<bpmn:startEvent id="tick"><bpmn:timerEventDefinition><bpmn:timeCycle xsi:type="bpmn:tFormalExpression">R2/PT0.3S</bpmn:timeCycle></bpmn:timerEventDefinition></bpmn:startEvent>${flow('f0', 'tick', 'poll')}${noop('poll')}${flow('f1', 'poll', 'end')}<bpmn:endEvent id="end"/>`));
      const wf = await system.catalog.resolve('every-tick');
      const runs = await eventually('two ticks', async () => {
        const page = await system.store.listExecutions({ workflowIds: [wf.id], limit: 10, offset: 0 });
        return page.items.length >= 2 && page.items.every((e) => e.status === 'completed') ? page.items : undefined;
      });
      assert.equal(runs.length, 2);
      assert.ok(runs.every((e) => e.trigger?.kind === 'timer'));
      // R2: a third period passes without a third execution
      const last = Math.max(...runs.map((e) => e.createdAt.getTime()));
      await eventually('one more period', async () => Date.now() > last + 600);
      assert.equal((await system.store.listExecutions({ workflowIds: [wf.id], limit: 10, offset: 0 })).total, 2);
    });

    it('fails only the step of a runaway expression, within the limit, while other executions go on', async () => {
      await deploy(
        bpmn(
          'runaway',
          `<bpmn:startEvent id="start"/>${flow('f0', 'start', 'loop')}
           <bpmn:scriptTask id="loop" scriptFormat="jsonata"><bpmn:script>( $f := function($n) { $f($n + 1) }; $f(0) )</bpmn:script></bpmn:scriptTask>
           ${flow('f1', 'loop', 'end')}<bpmn:endEvent id="end"/>`,
        ),
      );
      await deploy(bpmn('quick', `<bpmn:startEvent id="start"/>${flow('f0', 'start', 'a')}${noop('a')}${flow('f1', 'a', 'end')}<bpmn:endEvent id="end"/>`));
      const started = Date.now();
      const bad = await run('runaway');
      const good = await Promise.all([1, 2, 3].map(() => run('quick')));
      for (const id of good) await result(id);
      const e = await ended(system.store, bad);
      assert.equal(e.status, 'failed');
      assert.match(e.error!.message, /loop/);
      assert.match(e.error!.message, /longer than|limit|deep/i);
      assert.ok(Date.now() - started < 10_000, 'the limit ended it');
      const step = (await system.store.getSteps(bad)).find((x) => x.activityId === 'loop');
      assert.equal(step?.status, 'failed');
    });

    it('cancels an execution on request: its task, its job and the execution it called are closed', async () => {
      await deploy(bpmn('long-child', `<bpmn:startEvent id="start"/>${flow('f0', 'start', 'hold')}<bpmn:userTask id="hold"/>${flow('f1', 'hold', 'end')}<bpmn:endEvent id="end"/>`));
      await deploy(
        bpmn(
          'cancel-me',
          `<bpmn:startEvent id="start"/>${flow('f0', 'start', 'fork')}<bpmn:parallelGateway id="fork"/>
           ${flow('p1', 'fork', 'approve')}${flow('p2', 'fork', 'call')}${flow('p3', 'fork', 'slow')}
           <bpmn:userTask id="approve"/><bpmn:callActivity id="call" calledElement="long-child"/>
           <bpmn:serviceTask id="slow"><bpmn:extensionElements><zeebe:taskDefinition type="core.delay"/><zeebe:ioMapping><zeebe:input source="=60000" target="ms"/></zeebe:ioMapping></bpmn:extensionElements></bpmn:serviceTask>`,
        ),
      );
      const id = await run('cancel-me');
      const task = await openTask(id, 'approve');
      const child = await eventually('the called execution', async () => (await system.store.listExecutions({ limit: 100, offset: 0 })).items.find((e) => e.parentId === id));
      await openTask(child.id, 'hold');
      const res = await api('POST', `/executions/${id}/cancel`, { reason: 'duplicate alert', user: 'alice' });
      assert.equal(res.status, 202);
      const e = await ended(system.store, id);
      assert.equal(e.status, 'cancelled');
      assert.match(e.error!.message, /cancelled by alice: duplicate alert/);
      assert.equal((await system.store.getTask(task.id))?.status, 'cancelled');
      assert.equal((await ended(system.store, child.id)).status, 'cancelled', 'the called execution is cancelled too');
      const steps = await system.store.getSteps(id);
      assert.equal(steps.find((x) => x.activityId === 'slow')?.status, 'cancelled');
      assert.equal((await api('POST', `/executions/${id}/cancel`, {})).status, 409, 'an ended execution cannot be cancelled');
    });

    it('cancels the execution a call activity called when a boundary timer interrupts it', async () => {
      await deploy(bpmn('slow-child', `<bpmn:startEvent id="start"/>${flow('f0', 'start', 'hold')}<bpmn:userTask id="hold"/>${flow('f1', 'hold', 'end')}<bpmn:endEvent id="end"/>`));
      await deploy(
        bpmn(
          'sla-call',
          `<bpmn:startEvent id="start"/>${flow('f0', 'start', 'call')}<bpmn:callActivity id="call" calledElement="slow-child"/>
           <bpmn:boundaryEvent id="sla" attachedToRef="call">${duration('PT0.5S')}</bpmn:boundaryEvent>
           ${flow('f1', 'call', 'end')}${flow('f2', 'sla', 'late')}<bpmn:endEvent id="end"/><bpmn:endEvent id="late"/>`,
        ),
      );
      const id = await run('sla-call');
      const r = await ended(system.store, id);
      assert.equal(r.status, 'completed');
      assert.ok((await system.store.getSteps(id)).some((x) => x.activityId === 'late' && x.status === 'completed'));
      const child = (await system.store.listExecutions({ limit: 100, offset: 0 })).items.find((e) => e.parentId === id)!;
      assert.equal((await ended(system.store, child.id)).status, 'cancelled');
    });

    it('starts no called execution when the call is interrupted in the same turn (terminate)', async () => {
      await deploy(bpmn('never-called', `<bpmn:startEvent id="start"/>${flow('f0', 'start', 'hold')}<bpmn:userTask id="hold"/>`));
      await deploy(
        bpmn(
          'call-and-stop',
          `<bpmn:startEvent id="start"/>${flow('f0', 'start', 'fork')}<bpmn:parallelGateway id="fork"/>
           ${flow('p1', 'fork', 'call')}${flow('p2', 'fork', 'stop')}
           <bpmn:callActivity id="call" calledElement="never-called"/><bpmn:endEvent id="stop"><bpmn:terminateEventDefinition/></bpmn:endEvent>`,
        ),
      );
      const id = await run('call-and-stop');
      assert.equal((await ended(system.store, id)).status, 'completed');
      const wf = await system.catalog.resolve('never-called');
      assert.equal((await system.store.listExecutions({ workflowIds: [wf.id], limit: 5, offset: 0 })).total, 0, 'no orphan child');
    });
  });
}
