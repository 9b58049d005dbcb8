import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { SCHEDULE_QUEUE } from '../engine/queue/schedules.ts';
import type { System } from '../engine/system.ts';
import { REDIS_URL, databases, eventually, startTestSystem, testEnv, type TestEnv } from './support/env.ts';

const ticking = `<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" id="d_tick" targetNamespace="http://bpmn.io/schema/bpmn">
  <bpmn:process id="every-second" isExecutable="true">
    <bpmn:startEvent id="tick"><bpmn:timerEventDefinition><bpmn:timeCycle xsi:type="bpmn:tFormalExpression">R3/PT1S</bpmn:timeCycle></bpmn:timerEventDefinition></bpmn:startEvent>
    <bpmn:sequenceFlow id="f" sourceRef="tick" targetRef="end"/>
    <bpmn:endEvent id="end"/>
  </bpmn:process>
</bpmn:definitions>`;

// Two engine processes on one database and one Redis prefix: PostgreSQL, which several processes
// share without the SQLite file's migration lock.
for (const db of databases.filter((d) => d === 'postgresql')) {
  describe(`timer start schedules across engine processes (${db})`, () => {
    let t: TestEnv;
    let one: System;
    let two: System;

    before(async () => {
      t = await testEnv(db);
      one = await startTestSystem(t);
      two = await startTestSystem(t);
    });

    after(async () => {
      await two?.close();
      await one?.close();
      await t?.cleanup();
    });

    it('a schedule ticks once across two engine processes', async () => {
      await one.catalog.deploy(ticking);
      const redis = new Redis(REDIS_URL, { maxRetriesPerRequest: null });
      const queue = new Queue(SCHEDULE_QUEUE, { connection: redis, prefix: t.prefix });
      try {
        // R3/PT1S: three ticks, then the scheduler is done; wait until every tick has been handled
        const ticks = await eventually(
          'three ticks to be handled',
          async () => {
            const c = await queue.getJobCounts('completed', 'active', 'waiting', 'delayed', 'failed');
            return c.completed === 3 && !c.active && !c.waiting && !c.delayed ? c : undefined;
          },
          15_000,
        );
        assert.equal(ticks.failed, 0);
        const runs = await one.executions.list({ workflow: 'every-second', limit: 100, offset: 0 });
        assert.equal(runs.total, 3, 'one execution per tick, not one per engine process');
        assert.ok(runs.items.every((e) => e.trigger?.kind === 'timer'));
      } finally {
        await queue.close();
        redis.disconnect();
      }
    });
  });
}
