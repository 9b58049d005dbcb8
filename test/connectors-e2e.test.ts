import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import type { System } from '../engine/system.ts';
import { databases, startTestSystem, testEnv, type TestEnv, serve } from './support/env.ts';
import { jiraStandIn, JIRA_EMAIL, JIRA_TOKEN } from './support/stand-ins/jira.ts';
import { slackStandIn, SLACK_TOKEN } from './support/stand-ins/slack.ts';
import { virustotalStandIn, VT_KEY } from './support/stand-ins/virustotal.ts';

/*
 * The connector routes of a system that deployed the shipped playbooks (which run end to end in
 * test/playbooks.test.ts).
 */
describe(`phishing triage end to end, through BullMQ to the stand-ins (${databases[0]})`, () => {
  let t: TestEnv;
  let system: System;
  let server: Awaited<ReturnType<typeof serve>>;
  let base: string;
  let vt: Awaited<ReturnType<typeof virustotalStandIn>>;
  let jira: Awaited<ReturnType<typeof jiraStandIn>>;
  let slack: Awaited<ReturnType<typeof slackStandIn>>;
  const saved = { ...process.env };

  before(async () => {
    [vt, jira, slack] = await Promise.all([virustotalStandIn(), jiraStandIn(), slackStandIn()]);
    // the worker reads credentials and connector settings from the environment, like in production
    Object.assign(process.env, {
      SOAR_CRED_VIRUSTOTAL_API_KEY: VT_KEY,
      SOAR_CRED_JIRA_EMAIL: JIRA_EMAIL,
      SOAR_CRED_JIRA_API_TOKEN: JIRA_TOKEN,
      SOAR_CRED_SLACK_BOT_TOKEN: SLACK_TOKEN,
      SOAR_CONNECTOR_VIRUSTOTAL_BASE_URL: `${vt.url}/api/v3`,
      SOAR_CONNECTOR_JIRA_BASE_URL: jira.url,
      SOAR_CONNECTOR_JIRA_ISSUE_TYPE: 'Security Incident',
      SOAR_CONNECTOR_SLACK_BASE_URL: `${slack.url}/api`,
    });
    t = await testEnv(databases[0]!);
    system = await startTestSystem(t, { PLAYBOOKS_DIR: fileURLToPath(new URL('../playbooks/', import.meta.url)), DEPLOY_PLAYBOOKS: 'true' });
    server = await serve(system);
    base = server.base;
  });
  after(async () => {
    await server?.close();
    await system?.close();
    await t?.cleanup();
    await Promise.all([vt?.close(), jira?.close(), slack?.close()]);
    process.env = saved;
  });

  const get = async (path: string) => {
    const res = await fetch(base + path);
    return { status: res.status, body: (await res.json()) as any };
  };

  it('every service task of every shipped playbook names a registered activity', async () => {
    const dir = fileURLToPath(new URL('../playbooks/', import.meta.url));
    for (const file of (await readdir(dir)).filter((f) => f.endsWith('.bpmn'))) {
      const xml = await readFile(dir + file, 'utf8');
      for (const topic of xml.matchAll(/camunda:topic="([^"]+)"|zeebe:taskDefinition type="([^"]+)"/g)) {
        assert.ok(system.registry.has(topic[1] ?? topic[2]!), `${file}: ${topic[1] ?? topic[2]} is not registered`);
      }
    }
  });

  it('GET /connectors lists every connector with its activities, schemas and credential variable names, no values', async () => {
    const { status, body } = await get('/connectors');
    assert.equal(status, 200);
    const ids = body.data.map((c: { id: string }) => c.id);
    for (const c of ['abuseipdb', 'core', 'email', 'jira', 'misp', 'servicenow', 'slack', 'splunk', 'teams', 'virustotal']) assert.ok(ids.includes(c), c);
    const vtc = body.data.find((c: { id: string }) => c.id === 'virustotal');
    const hashAct = vtc.activities.find((a: { id: string }) => a.id === 'virustotal.lookupHash');
    assert.deepEqual(hashAct.input.required, ['hash']);
    assert.deepEqual(hashAct.credential.fields, [{ name: 'apiKey', description: 'API key, sent as x-apikey', optional: false, env: 'SOAR_CRED_VIRUSTOTAL_API_KEY' }]);
    assert.deepEqual(hashAct.rate_limit, { max: 4, perMs: 60_000 });
    assert.deepEqual(hashAct.cache, { ttl_s: 86_400, negative_ttl_s: 3600 });
    assert.deepEqual(vtc.config_env, [{ key: 'baseUrl', env: 'SOAR_CONNECTOR_VIRUSTOTAL_BASE_URL' }]);
    const text = JSON.stringify(body);
    for (const secret of [VT_KEY, JIRA_TOKEN, SLACK_TOKEN]) assert.equal(text.includes(secret), false);
  });

  it('GET /connectors/:id/health shows the breaker and whether the workers have the credentials', async () => {
    const vtHealth = await get('/connectors/virustotal/health');
    assert.equal(vtHealth.status, 200);
    assert.equal(vtHealth.body.data.status, 'ok');
    assert.equal(vtHealth.body.data.breaker.state, 'closed');
    assert.deepEqual(vtHealth.body.data.credentials, [{ name: 'virustotal', configured: true, missing_env: [] }]);
    const sn = await get('/connectors/servicenow.createIncident/health');
    assert.equal(sn.body.data.id, 'servicenow');
    assert.equal(sn.body.data.status, 'degraded');
    assert.deepEqual(sn.body.data.credentials[0].missing_env, ['SOAR_CRED_SERVICENOW_USERNAME', 'SOAR_CRED_SERVICENOW_PASSWORD']);
    const missing = await get('/connectors/nope/health');
    assert.equal(missing.status, 404);
    assert.equal(missing.body.error.code, 'NOT_FOUND');
  });

  it('GET /connectors/element-templates.json gives Camunda 8 and Camunda 7 templates from the schemas', async () => {
    const c8 = await get('/connectors/element-templates.json');
    const t8 = c8.body.find((x: { id: string }) => x.id === 'soar.virustotal.lookupHash');
    assert.equal(t8.name, 'VirusTotal: look up file hash');
    assert.deepEqual(t8.properties[0], { type: 'Hidden', value: 'virustotal.lookupHash', binding: { type: 'zeebe:taskDefinition', property: 'type' } });
    const hashField = t8.properties.find((p: { id?: string }) => p.id === 'hash');
    assert.deepEqual(hashField.binding, { type: 'zeebe:input', name: 'hash' });
    assert.equal(hashField.constraints.notEmpty, true);
    const sev = c8.body.find((x: { id: string }) => x.id === 'soar.jira.createIssue').properties.find((p: { id?: string }) => p.id === 'severity');
    assert.equal(sev.type, 'Dropdown');
    const c7 = await get('/connectors/element-templates.json?platform=camunda7');
    const t7 = c7.body.find((x: { id: string }) => x.id === 'soar.virustotal.lookupHash.c7');
    assert.deepEqual(t7.properties.slice(0, 2).map((p: { value: string; binding: unknown }) => [p.value, p.binding]), [
      ['external', { type: 'property', name: 'camunda:type' }],
      ['virustotal.lookupHash', { type: 'property', name: 'camunda:topic' }],
    ]);
    assert.deepEqual(t7.properties[2].binding, { type: 'camunda:inputParameter', name: 'hash' });
    const bad = await get('/connectors/element-templates.json?platform=zeebe');
    assert.equal(bad.status, 400);
    assert.equal(bad.body.error.code, 'BAD_REQUEST');
  });
});
