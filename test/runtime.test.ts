import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { deployPlaybooks } from '../engine/system.ts';
import { silentLogger } from '../engine/log.ts';
import type { System } from '../engine/system.ts';
import { databases, fixture, settled, startTestSystem, testEnv, type TestEnv } from './support/env.ts';

describe(`the runtime (${databases[0]})`, () => {
  let t: TestEnv;
  let system: System;
  before(async () => {
    t = await testEnv(databases[0]!);
    // evict executions from memory almost at once, so the cold path is the one exercised
    system = await startTestSystem(t, { ENGINE_HOT_IDLE_MS: '20' });
  });
  after(async () => {
    await system?.close();
    await t?.cleanup();
  });

  it('evicts an execution waiting on a job and brings it back from the store when the job ends', async () => {
    await system.catalog.deploy(await fixture('send-and-rule.bpmn'));
    const { execution } = await system.executions.start('send-and-rule', { severity: 'high' });
    const done = settled(system, execution.id);
    // core.delay holds the task for 300 ms; the runtime keeps nothing in memory meanwhile
    const evicted = await new Promise<boolean>((resolve) => {
      const check = setInterval(() => {
        if (system.runtime!.hotCount === 0) {
          clearInterval(check);
          resolve(true);
        }
      }, 5);
      void done.then(() => (clearInterval(check), resolve(false)));
    });
    assert.ok(evicted, 'the execution left memory while its job ran');
    assert.equal(await done, 'completed');
    const view = await system.executions.get(execution.id);
    assert.deepEqual(view.steps.map((s) => [s.activityId, s.type, s.status]), [
      ['start', 'bpmn:StartEvent', 'completed'],
      ['score', 'bpmn:BusinessRuleTask', 'completed'],
      ['wait', 'bpmn:ServiceTask', 'completed'],
      ['notify', 'bpmn:SendTask', 'completed'],
      ['end', 'bpmn:EndEvent', 'completed'],
    ]);
    // the variables: the input, then each task's output under its id
    assert.deepEqual(view.result, { severity: 'high', score: { severity: 'high' }, wait: view.steps[2]!.output, notify: { text: 'scored' } });
    assert.ok((view.steps[2]!.output as { waitedMs: number }).waitedMs >= 300);
  });

  it('runs only the deployment\'s process of a file with several executable processes', async () => {
    // regression: bpmn-engine starts every executable process of a file
    const { workflow, warnings } = await system.catalog.deploy(await fixture('two-processes.bpmn'));
    assert.equal(workflow.key, 'triage');
    assert.ok(warnings.some((w) => w.element === 'hunt'), JSON.stringify(warnings));
    const { execution } = await system.executions.start('triage', {});
    assert.equal(await settled(system, execution.id), 'completed');
    const steps = await system.store.getSteps(execution.id);
    assert.deepEqual(steps.map((s) => s.activityId), ['t_start', 't_task', 't_end']);
  });

  it('deploys the shipped playbooks, and alert-intake runs out of the box', async () => {
    const r = await deployPlaybooks(fileURLToPath(new URL('../playbooks/', import.meta.url)), system.catalog, silentLogger());
    assert.deepEqual(r.failed, []);
    assert.ok(r.deployed.includes('alert-intake.bpmn'));
    const again = await deployPlaybooks(fileURLToPath(new URL('../playbooks/', import.meta.url)), system.catalog, silentLogger());
    assert.deepEqual(again.deployed, [], 'an unchanged playbook is not deployed again');

    const { execution } = await system.executions.start('alert-intake', { alert: { id: 'A-1', severity: 'high', source: 'edr' } });
    assert.equal(await settled(system, execution.id), 'completed');
    const view = await system.executions.get(execution.id);
    assert.deepEqual((view.result as Record<string, unknown>).record_triage, {
      alert: { alertId: 'A-1', severity: 'high', source: 'edr' },
      decision: 'triaged',
    });
  });
});

describe('npm start without Redis', () => {
  it('exits with a message that says how to get one, and no stack trace', async () => {
    const main = fileURLToPath(new URL('../server/main.ts', import.meta.url));
    const child = spawn(process.execPath, ['--import', 'tsx', main], {
      env: { ...process.env, REDIS_URL: 'redis://127.0.0.1:1', DATABASE_URL: 'file:/tmp/soar-no-redis/x.db', PORT: '0' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    const code = await new Promise((r) => child.once('exit', r));
    assert.equal(code, 1);
    assert.match(stderr, /Redis is not answering at redis:\/\/127\.0\.0\.1:1/);
    assert.match(stderr, /REDIS_URL/);
    assert.doesNotMatch(stderr, /\n\s+at /, 'no stack trace');
  });
});
