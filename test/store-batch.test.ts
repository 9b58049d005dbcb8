import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { openDatabase } from '../engine/db/client.ts';
import { PrismaStore } from '../engine/db/prisma-store.ts';
import type { Commit, StepRecord, TaskRecord } from '../engine/ports.ts';
import { databases, startTestSystem, testEnv } from './support/env.ts';

const FLOW = `<?xml version="1.0"?><bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="d" targetNamespace="t"><bpmn:process id="p" isExecutable="true"><bpmn:startEvent id="s"/></bpmn:process></bpmn:definitions>`;

const step = (executionId: string, activityId: string, startedAt: Date, endedAt: Date | null): StepRecord => ({
  id: `${executionId}:${activityId}:1`,
  executionId,
  seq: 1,
  activityId,
  name: null,
  type: 'bpmn:ServiceTask',
  status: endedAt ? 'completed' : 'running',
  attempt: 1,
  activity: 'core.noop',
  jobId: `${executionId}:${activityId}:1`,
  input: { n: 1 },
  output: endedAt ? { n: 1 } : null,
  error: null,
  engineId: 'engine-a',
  startedAt,
  endedAt,
});

const task = (executionId: string, createdAt: Date): TaskRecord => ({
  id: `${executionId}:approve:1`,
  executionId,
  activityId: 'approve',
  name: 'Approve',
  status: 'open',
  assignee: null,
  candidateGroups: ['soc'],
  candidateUsers: [],
  form: null,
  createdAt,
  completedAt: null,
  completedBy: null,
  result: null,
});

// Commits of one event-loop turn are written in one transaction (engine/db/prisma-store.ts): each
// commit's fence still decides for itself alone.
for (const db of databases) {
  describe(`grouped commits (${db})`, () => {
    it('a fenced-off commit in a batch writes nothing and fails none of the others', async () => {
      const t = await testEnv(db);
      const system = await startTestSystem(t, { ROLES: 'api' });
      try {
        const { workflow } = await system.catalog.deploy(FLOW);
        const lease = new Date(Date.now() + 60_000);
        const ids = [randomUUID(), randomUUID(), randomUUID()];
        for (const id of ids) await system.store.createExecution({ id, workflowId: workflow.id, input: {}, priority: 3, owner: 'engine-a', leaseUntil: lease });
        const commit = (id: string, owner: string, revision: number): Commit => ({ id, owner, revision, status: 'running', state: `{"for":"${id}"}`, variables: { id }, lease, steps: [] });
        // the same turn: one batch
        const results = await Promise.all([commit(ids[0]!, 'engine-a', 0), commit(ids[1]!, 'engine-b', 0), commit(ids[2]!, 'engine-a', 7)].map((c) => system.store.commit(c)));
        assert.deepEqual(results, [true, false, false]);
        const [a, b, c] = await Promise.all(ids.map((id) => system.store.getExecution(id)));
        assert.equal(a!.revision, 1);
        assert.equal(a!.state, `{"for":"${ids[0]}"}`);
        assert.equal(b!.revision, 0, 'another owner writes nothing');
        assert.equal(b!.state, null);
        assert.equal(c!.revision, 0, 'a stale revision writes nothing');
      } finally {
        await system.close();
        await t.cleanup();
      }
    });

    // On PostgreSQL a batch of row, step and event writes is one statement; one with a task is a
    // BEGIN ... COMMIT transaction. Both must honour each commit's fence alone, and keep dates.
    for (const withTask of [false, true]) {
      it(`writes steps, events and ends only for the commits whose fence held (${withTask ? 'with a task' : 'rows, steps and events only'})`, async () => {
        const t = await testEnv(db);
        const system = await startTestSystem(t, { ROLES: 'api' });
        try {
          const { workflow } = await system.catalog.deploy(FLOW);
          const lease = new Date(Date.now() + 60_000);
          const [running, fenced, ending] = [randomUUID(), randomUUID(), randomUUID()];
          for (const id of [running, fenced, ending]) await system.store.createExecution({ id, workflowId: workflow.id, input: {}, priority: 3, owner: 'engine-a', leaseUntil: lease });
          const at = new Date('2026-11-24T10:00:00.123Z');
          const later = new Date('2026-11-24T10:00:01.456Z');
          const event = (id: string, name: string) => ({ id: randomUUID(), event: name, payload: { execution: id }, createdAt: at });
          const base = (id: string, owner: string) => ({ id, owner, revision: 0, state: '{}', variables: { id }, lease, startedAt: at });
          const commits: Commit[] = [
            { ...base(running, 'engine-a'), status: 'running', steps: [step(running, 'a', at, null)], events: [event(running, 'execution.started')], ...(withTask ? { tasks: [task(running, at)] } : {}) },
            { ...base(fenced, 'engine-b'), status: 'running', steps: [step(fenced, 'a', at, null)], events: [event(fenced, 'execution.started')] },
            { ...base(ending, 'engine-a'), status: 'completed', lease: 'release', endedAt: later, result: { done: true }, steps: [step(ending, 'c', at, later)], events: [event(ending, 'execution.completed')] },
          ];
          assert.deepEqual(await Promise.all(commits.map((c) => system.store.commit(c))), [true, false, true]);

          const [r, f, e] = await Promise.all([running, fenced, ending].map((id) => system.store.getExecution(id)));
          assert.equal(r!.revision, 1);
          assert.equal(r!.startedAt?.toISOString(), at.toISOString(), 'a date written as it was given');
          assert.equal(f!.revision, 0);
          assert.equal(e!.status, 'completed');
          assert.equal(e!.owner, null, 'an end gives the execution up');
          assert.equal(e!.endedAt?.toISOString(), later.toISOString());
          assert.deepEqual(e!.result, { done: true });

          const [rs, fs, es] = await Promise.all([running, fenced, ending].map((id) => system.store.getSteps(id)));
          assert.deepEqual(rs!.map((x) => [x.activityId, x.status, x.startedAt.toISOString()]), [['a', 'running', at.toISOString()]]);
          assert.deepEqual(rs![0]!.input, { n: 1 });
          assert.deepEqual(fs, [], 'a fenced-off commit writes no step');
          assert.equal(es![0]!.endedAt?.toISOString(), later.toISOString());

          const outbox = await system.store.outbox(100);
          assert.deepEqual(outbox.map((o) => o.payload.execution).sort(), [running, ending].sort(), 'events only of the commits written');
          assert.equal(outbox.find((o) => o.payload.execution === running)!.createdAt.toISOString(), at.toISOString());
          const tasks = await system.store.listTasks({ executionId: running, limit: 5, offset: 0 });
          assert.equal(tasks.total, withTask ? 1 : 0);
        } finally {
          await system.close();
          await t.cleanup();
        }
      });
    }

    if (db === 'sqlite') {
      it('claims and commits through Prisma while the client has no open connection', async () => {
        const t = await testEnv(db);
        const system = await startTestSystem(t, { ROLES: 'api' });
        const database = await openDatabase(t.config().DATABASE_URL);
        const store = new PrismaStore(database.db, database.provider, database.close);
        try {
          const { workflow } = await system.catalog.deploy(FLOW);
          const id = randomUUID();
          await store.createExecution({ id, workflowId: workflow.id, input: { a: 1 }, priority: 3 });
          // Prisma reconnects lazily: until then the store cannot use the connection under it
          await database.db.$disconnect();
          const now = new Date();
          const lease = new Date(now.getTime() + 30_000);
          const claimed = await store.claim(id, 'engine-a', lease, now);
          assert.equal(claimed?.owner, 'engine-a');
          assert.equal(claimed?.leaseUntil?.toISOString(), lease.toISOString());
          assert.equal(claimed?.revision, 0);
          await database.db.$disconnect();
          assert.equal(await store.commit({ id, owner: 'engine-a', revision: 0, status: 'running', state: '{}', variables: { a: 2 }, lease, steps: [step(id, 'a', now, null)] }), true);
          const after = await store.getExecution(id);
          assert.equal(after?.revision, 1);
          assert.deepEqual(after?.variables, { a: 2 });
          assert.equal(after?.leaseUntil?.toISOString(), lease.toISOString(), 'a date, not a number');
          assert.equal((await store.getSteps(id))[0]?.startedAt.toISOString(), now.toISOString());
        } finally {
          await store.close();
          await system.close();
          await t.cleanup();
        }
      });
    }
  });
}
