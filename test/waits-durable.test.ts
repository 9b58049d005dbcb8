import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { System } from '../engine/system.ts';
import { Job, Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { clearRedis, databases, ended, eventually, REDIS_URL, startTestSystem, testEnv } from './support/env.ts';

// Waits that outlive the engine process: timers, analysts' answers and messages are kept in the
// database, so a restart, or a Redis that lost its delayed jobs, delays nothing past its time.

const NS = `xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" xmlns:zeebe="http://camunda.org/schema/zeebe/1.0" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"`;

const timerFlow = (d: string) => `<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions ${NS} id="d" targetNamespace="t">
  <bpmn:process id="cool-down" isExecutable="true">
    <bpmn:startEvent id="start"/><bpmn:sequenceFlow id="f0" sourceRef="start" targetRef="hold"/>
    <bpmn:intermediateCatchEvent id="hold"><bpmn:timerEventDefinition><bpmn:timeDuration xsi:type="bpmn:tFormalExpression">${d}</bpmn:timeDuration></bpmn:timerEventDefinition></bpmn:intermediateCatchEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="hold" targetRef="after"/>
    <bpmn:serviceTask id="after"><bpmn:extensionElements><zeebe:taskDefinition type="core.noop"/></bpmn:extensionElements></bpmn:serviceTask>
    <bpmn:sequenceFlow id="f2" sourceRef="after" targetRef="end"/><bpmn:endEvent id="end"/>
  </bpmn:process>
</bpmn:definitions>`;

const approvalWithJob = `<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions ${NS} id="d" targetNamespace="t">
  <bpmn:process id="approve-while-busy" isExecutable="true">
    <bpmn:startEvent id="start"/><bpmn:sequenceFlow id="f0" sourceRef="start" targetRef="fork"/>
    <bpmn:parallelGateway id="fork"/>
    <bpmn:sequenceFlow id="p1" sourceRef="fork" targetRef="slow"/><bpmn:sequenceFlow id="p2" sourceRef="fork" targetRef="approve"/>
    <bpmn:serviceTask id="slow"><bpmn:extensionElements><zeebe:taskDefinition type="core.delay"/><zeebe:ioMapping><zeebe:input source="=60000" target="ms"/></zeebe:ioMapping></bpmn:extensionElements></bpmn:serviceTask>
    <bpmn:userTask id="approve"/>
    <bpmn:sequenceFlow id="p3" sourceRef="approve" targetRef="notify"/>
    <bpmn:serviceTask id="notify"><bpmn:extensionElements><zeebe:taskDefinition type="core.noop"/></bpmn:extensionElements></bpmn:serviceTask>
    <bpmn:sequenceFlow id="p4" sourceRef="notify" targetRef="endA"/><bpmn:endEvent id="endA"/>
    <bpmn:sequenceFlow id="p5" sourceRef="slow" targetRef="endB"/><bpmn:endEvent id="endB"/>
  </bpmn:process>
</bpmn:definitions>`;

const messageAndJoin = `<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions ${NS} id="d" targetNamespace="t">
  <bpmn:message id="m" name="edr-report"><bpmn:extensionElements><zeebe:subscription correlationKey="=host"/></bpmn:extensionElements></bpmn:message>
  <bpmn:process id="report-and-join" isExecutable="true">
    <bpmn:startEvent id="start"/><bpmn:sequenceFlow id="f0" sourceRef="start" targetRef="fork"/>
    <bpmn:parallelGateway id="fork"/>
    <bpmn:sequenceFlow id="p1" sourceRef="fork" targetRef="quick"/><bpmn:sequenceFlow id="p2" sourceRef="fork" targetRef="report"/>
    <bpmn:serviceTask id="quick"><bpmn:extensionElements><zeebe:taskDefinition type="core.noop"/></bpmn:extensionElements></bpmn:serviceTask>
    <bpmn:receiveTask id="report" messageRef="m"/>
    <bpmn:sequenceFlow id="p3" sourceRef="quick" targetRef="join"/><bpmn:sequenceFlow id="p4" sourceRef="report" targetRef="join"/>
    <bpmn:parallelGateway id="join"/><bpmn:sequenceFlow id="f1" sourceRef="join" targetRef="end"/><bpmn:endEvent id="end"/>
  </bpmn:process>
</bpmn:definitions>`;

const openTask = (system: System, executionId: string) =>
  eventually('the approval task', async () => (await system.store.listTasks({ executionId, status: 'open', limit: 5, offset: 0 })).items[0]);

for (const db of databases) {
  describe(`durable waits (${db})`, () => {
    it('fires a timer on time after the engine restarts, even when Redis lost its delayed jobs', async () => {
      const t = await testEnv(db);
      try {
        let system = await startTestSystem(t);
        await system.catalog.deploy(timerFlow('PT1.5S'));
        const startedAt = Date.now();
        const { execution } = await system.executions.start('cool-down', {});
        await eventually('the timer wait', async () => (await system.store.getWaits(execution.id)).find((w) => w.kind === 'timer'));
        await system.close();
        await clearRedis(t.prefix); // the delayed wake is gone: only the database remembers the timer

        system = await startTestSystem(t);
        try {
          const done = await ended(system.store, execution.id, 15_000);
          assert.equal(done.status, 'completed');
          const steps = await system.store.getSteps(execution.id);
          const hold = steps.find((s) => s.activityId === 'hold')!;
          assert.ok(hold.endedAt!.getTime() - startedAt >= 1500, `the timer fired ${hold.endedAt!.getTime() - startedAt} ms after the start`);
          assert.deepEqual(await system.store.getWaits(execution.id), []);
        } finally {
          await system.close();
        }
      } finally {
        await t.cleanup();
      }
    });

    it('applies an answer given while no engine runs once one starts', async () => {
      const t = await testEnv(db);
      try {
        let system = await startTestSystem(t);
        await system.catalog.deploy(timerFlow('PT0S').replace('cool-down', 'unused')); // a second workflow must not matter
        await system.catalog.deploy(approvalWithJob.replace('=60000', '=10'));
        const { execution } = await system.executions.start('approve-while-busy', {});
        const task = await openTask(system, execution.id);
        await eventually('the execution to wait', async () => (await system.store.getExecution(execution.id))?.status === 'waiting');
        await system.close();

        system = await startTestSystem(t, { ROLES: 'api' });
        await system.deliveries.completeTask(task.id, { decision: 'approve' }, 'carol');
        await system.close();
        await clearRedis(t.prefix); // the wake command is gone too: the sweep finds the inbox item

        system = await startTestSystem(t);
        try {
          const done = await ended(system.store, execution.id, 15_000);
          assert.equal(done.status, 'completed');
          assert.deepEqual((done.result as Record<string, unknown>).approve, { decision: 'approve' });
          assert.equal((await system.store.getTask(task.id))?.completedBy, 'carol');
        } finally {
          await system.close();
        }
      } finally {
        await t.cleanup();
      }
    });

    it('joins a parallel branch that finished before a restart with a message that arrives after it', async () => {
      const t = await testEnv(db);
      try {
        let system = await startTestSystem(t);
        await system.catalog.deploy(messageAndJoin);
        const { execution } = await system.executions.start('report-and-join', { host: 'ws-042' });
        await eventually('the message wait with the branch done', async () => {
          const steps = await system.store.getSteps(execution.id);
          const waits = await system.store.getWaits(execution.id);
          return steps.some((s) => s.activityId === 'quick' && s.status === 'completed') && waits.some((w) => w.kind === 'message' && w.correlationKey === 'ws-042');
        });
        await system.close();

        system = await startTestSystem(t);
        try {
          const c = await system.deliveries.correlate('edr-report', 'ws-042', { verdict: 'clean' });
          assert.deepEqual(c.delivered, [execution.id]);
          const done = await ended(system.store, execution.id, 15_000);
          assert.equal(done.status, 'completed');
          assert.deepEqual((done.result as Record<string, unknown>).report, { verdict: 'clean' });
          const steps = await system.store.getSteps(execution.id);
          assert.equal(steps.filter((s) => s.activityId === 'join' && s.status === 'completed').length, 1, 'the join ran once');
          assert.equal(steps.filter((s) => s.activityId === 'quick').length, 1, 'the finished branch did not run again');
        } finally {
          await system.close();
        }
      } finally {
        await t.cleanup();
      }
    });

    it('takes back the queued job of a connector task that a boundary timer interrupts', async () => {
      const t = await testEnv(db);
      // no worker role: the task's job waits in its queue until the timer interrupts the task
      const system = await startTestSystem(t, { ROLES: 'api,engine' });
      try {
        await system.catalog.deploy(`<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions ${NS} id="d" targetNamespace="t">
  <bpmn:process id="sla-on-job" isExecutable="true">
    <bpmn:startEvent id="start"/><bpmn:sequenceFlow id="f0" sourceRef="start" targetRef="lookup"/>
    <bpmn:serviceTask id="lookup"><bpmn:extensionElements><zeebe:taskDefinition type="core.noop"/></bpmn:extensionElements></bpmn:serviceTask>
    <bpmn:boundaryEvent id="breach" attachedToRef="lookup"><bpmn:timerEventDefinition><bpmn:timeDuration xsi:type="bpmn:tFormalExpression">PT0.3S</bpmn:timeDuration></bpmn:timerEventDefinition></bpmn:boundaryEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="lookup" targetRef="done"/><bpmn:endEvent id="done"/>
    <bpmn:sequenceFlow id="f2" sourceRef="breach" targetRef="late"/><bpmn:endEvent id="late"/>
  </bpmn:process>
</bpmn:definitions>`);
        const { execution } = await system.executions.start('sla-on-job', {});
        const job = await eventually('the job', async () => (await system.store.getSteps(execution.id)).find((s) => s.activityId === 'lookup' && s.jobId));
        assert.equal((await ended(system.store, execution.id)).status, 'completed');
        const steps = await system.store.getSteps(execution.id);
        assert.ok(steps.some((s) => s.activityId === 'late' && s.status === 'completed'));
        assert.equal(steps.find((s) => s.activityId === 'lookup')?.status, 'cancelled');
        const queue = new Queue('core', { connection: new Redis(REDIS_URL, { maxRetriesPerRequest: null }), prefix: t.prefix });
        try {
          await eventually('the job to be removed', async () => !(await Job.fromId(queue, job.jobId!)));
        } finally {
          await queue.close();
          await (queue.opts.connection as Redis).quit();
        }
      } finally {
        await system.close();
        await t.cleanup();
      }
    });

    it('hands an answer to the engine process that holds the execution, not the one the wake reached', async () => {
      const t = await testEnv(db);
      // A sweeps only every minute: within the test, only B's broadcast can bring the answer to A
      const a = await startTestSystem(t, { ENGINE_HOT_IDLE_MS: '50', ENGINE_SWEEP_MS: '60000' });
      const b = await startTestSystem(t, { ROLES: 'engine' });
      try {
        await a.catalog.deploy(approvalWithJob);
        const { execution } = await a.executions.start('approve-while-busy', {});
        const task = await openTask(a, execution.id);
        // `slow` runs for a minute: engine A holds the execution (evicted, keeping its job id)
        await eventually('the execution to leave memory', async () => a.runtime!.hotCount === 0);
        assert.equal((await a.store.getExecution(execution.id))?.owner, a.runtime!.engineId);
        const r = await a.store.answerTask(task.id, 'dave', { decision: 'approve' }, new Date());
        assert.ok(r?.ok);
        await b.runtime!.wake(execution.id); // B cannot claim it: it tells the owner
        await eventually('notify to run', async () => (await a.store.getSteps(execution.id)).find((s) => s.activityId === 'notify' && s.status === 'completed'), 10_000);
        const steps = await a.store.getSteps(execution.id);
        assert.ok(steps.every((s) => s.engineId !== b.runtime!.engineId), 'engine B advanced nothing');
        assert.equal((await a.store.getTask(task.id))?.status, 'completed');
      } finally {
        await b.close();
        await a.close();
        await t.cleanup();
      }
    });
  });
}
