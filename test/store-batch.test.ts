import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import type { Commit } from '../engine/ports.ts';
import { databases, startTestSystem, testEnv } from './support/env.ts';

// Commits of one event-loop turn are written in one transaction (engine/db/prisma-store.ts): each
// commit's fence still decides for itself alone.
for (const db of databases) {
  describe(`grouped commits (${db})`, () => {
    it('a fenced-off commit in a batch writes nothing and fails none of the others', async () => {
      const t = await testEnv(db);
      const system = await startTestSystem(t, { ROLES: 'api' });
      try {
        const { workflow } = await system.catalog.deploy(`<?xml version="1.0"?><bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="d" targetNamespace="t"><bpmn:process id="p" isExecutable="true"><bpmn:startEvent id="s"/></bpmn:process></bpmn:definitions>`);
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
  });
}
