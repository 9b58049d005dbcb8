import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import type { System } from '../engine/system.ts';
import { databases, ended, eventually, startTestSystem, testEnv, type TestEnv, serve } from './support/env.ts';
import { json, startHttpServer } from './support/http-server.ts';
import { ABUSE_KEY, abuseipdbStandIn } from './support/stand-ins/abuseipdb.ts';
import { bodyOf } from './support/stand-ins/common.ts';
import { jiraStandIn, JIRA_EMAIL, JIRA_TOKEN } from './support/stand-ins/jira.ts';
import { servicenowStandIn, SN_PASSWORD, SN_USER } from './support/stand-ins/servicenow.ts';
import { slackStandIn, SLACK_TOKEN } from './support/stand-ins/slack.ts';
import { HEC_TOKEN, splunkStandIn } from './support/stand-ins/splunk.ts';
import { MALICIOUS_SHA256, virustotalStandIn, VT_KEY } from './support/stand-ins/virustotal.ts';

/*
 * The shipped playbooks (playbooks/*.bpmn, deployed at start-up as `npm start` does) run through
 * BullMQ to local stand-ins of VirusTotal, AbuseIPDB, Jira, Slack, ServiceNow, Splunk, an EDR and a
 * firewall; analysts answer through the HTTP API.
 */
type Json = Record<string, any>;
const SECRETS = [VT_KEY, JIRA_TOKEN, SLACK_TOKEN, SN_PASSWORD, HEC_TOKEN, ABUSE_KEY];

describe(`shipped playbooks against stand-ins (${databases[0]})`, () => {
  let t: TestEnv;
  let system: System;
  let server: Awaited<ReturnType<typeof serve>>;
  let base: string;
  const saved = { ...process.env };
  let vt: Awaited<ReturnType<typeof virustotalStandIn>>;
  let abuse: Awaited<ReturnType<typeof abuseipdbStandIn>>;
  let jira: Awaited<ReturnType<typeof jiraStandIn>>;
  let slack: Awaited<ReturnType<typeof slackStandIn>>;
  let sn: Awaited<ReturnType<typeof servicenowStandIn>>;
  let splunk: Awaited<ReturnType<typeof splunkStandIn>>;
  let edr: Awaited<ReturnType<typeof startHttpServer>>;
  let firewall: Awaited<ReturnType<typeof startHttpServer>>;
  let edrDown = false;

  before(async () => {
    [vt, abuse, jira, slack, sn, splunk] = await Promise.all([virustotalStandIn(), abuseipdbStandIn(), jiraStandIn(), slackStandIn(), servicenowStandIn(), splunkStandIn()]);
    // an EDR's containment action: 202 accepted, or 400 when the device is unknown to it
    edr = await startHttpServer((req, res) => {
      if (edrDown) return json(res, 400, { errors: [{ code: 400, message: 'device not found' }] });
      json(res, 202, { resources: [{ id: (bodyOf(req).ids as string[])[0], action: 'contain' }] });
    });
    firewall = await startHttpServer((req, res) => json(res, 201, { id: `blk-${firewall.requests.length}`, ...bodyOf(req) }));
    Object.assign(process.env, {
      SOAR_CRED_VIRUSTOTAL_API_KEY: VT_KEY,
      SOAR_CONNECTOR_VIRUSTOTAL_BASE_URL: `${vt.url}/api/v3`,
      SOAR_CRED_ABUSEIPDB_API_KEY: ABUSE_KEY,
      SOAR_CONNECTOR_ABUSEIPDB_BASE_URL: `${abuse.url}/api/v2`,
      SOAR_CRED_JIRA_EMAIL: JIRA_EMAIL,
      SOAR_CRED_JIRA_API_TOKEN: JIRA_TOKEN,
      SOAR_CONNECTOR_JIRA_BASE_URL: jira.url,
      SOAR_CRED_SLACK_BOT_TOKEN: SLACK_TOKEN,
      SOAR_CONNECTOR_SLACK_BASE_URL: `${slack.url}/api`,
      SOAR_CRED_SERVICENOW_USERNAME: SN_USER,
      SOAR_CRED_SERVICENOW_PASSWORD: SN_PASSWORD,
      SOAR_CONNECTOR_SERVICENOW_BASE_URL: sn.url,
      SOAR_CRED_SPLUNK_HEC_TOKEN: HEC_TOKEN,
      SOAR_CONNECTOR_SPLUNK_HEC_URL: splunk.url,
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
    await Promise.all([vt, abuse, jira, slack, sn, splunk, edr, firewall].map((s) => s?.close()));
    process.env = saved;
  });

  const api = async (method: string, path: string, body?: unknown) => {
    const res = await fetch(base + path, { method, headers: { 'content-type': 'application/json' }, ...(body ? { body: JSON.stringify(body) } : {}) });
    return { status: res.status, body: (await res.json()) as Json };
  };
  const execute = async (key: string, input: Json) => {
    const r = await api('POST', `/workflows/${key}/execute`, { input_data: input });
    assert.equal(r.status, 202, JSON.stringify(r.body));
    return r.body.execution_id as string;
  };
  const taskOf = (executionId: string) =>
    eventually('the analyst task', async () => ((await api('GET', `/tasks?execution_id=${executionId}`)).body.data as Json[])[0]);
  const noSecrets = async (executionId: string) => {
    const everything = JSON.stringify([await api('GET', `/executions/${executionId}`), await system.store.getSteps(executionId)]);
    for (const secret of SECRETS) assert.equal(everything.includes(secret), false, 'a credential reached the execution');
  };

  it('deploys every shipped playbook at start-up, the called one before its callers', async () => {
    const keys = (await system.catalog.latest()).map((w) => w.key).sort();
    assert.deepEqual(keys, ['alert-intake', 'brute-force-response', 'ioc-enrichment', 'malware-containment', 'phishing-triage']);
  });

  it('phishing triage: enriches each indicator in parallel, asks an analyst, opens one ticket and tells the SOC', async () => {
    const slackBefore = slack.posted.length;
    const id = await execute('phishing-triage', {
      alert: { id: 'A-77', severity: 'critical', sender: 'billing@evil.example', attachments: [{ name: 'invoice.exe', sha256: MALICIOUS_SHA256 }], urls: ['https://evil.example/login'] },
      channel: 'C0SOC',
      oncall_channel: 'C0ONCALL',
    });
    const task = await taskOf(id);
    assert.equal(task.activity_id, 'approve');
    assert.deepEqual(task.candidate_groups, ['soc-l2']);
    assert.deepEqual(task.form.map((f: Json) => f.id), ['decision', 'note']);

    // one VirusTotal lookup per indicator, each in its own called execution
    const paths = vt.requests.map((r) => r.path);
    assert.ok(paths.includes(`/api/v3/files/${MALICIOUS_SHA256}`));
    assert.ok(paths.includes('/api/v3/domains/evil.example'));
    assert.ok(paths.some((p) => p.startsWith('/api/v3/urls/')));
    const view = (await api('GET', `/executions/${id}`)).body;
    assert.equal(view.status, 'waiting');

    const bad = await api('POST', `/tasks/${encodeURIComponent(task.task_id)}/complete`, { decision: 'maybe' });
    assert.equal(bad.status, 400, 'the decision must be one of the form values');
    const ok = await api('POST', `/tasks/${encodeURIComponent(task.task_id)}/complete`, { decision: 'confirm', fields: { note: 'user clicked' }, user: 'alice' });
    assert.equal(ok.status, 202);

    const done = await ended(system.store, id, 30_000);
    assert.equal(done.status, 'completed', JSON.stringify(done.error));
    const result = done.result as Json;
    assert.equal(result.enrich.length, 3, 'one enrichment per indicator, in order');
    assert.deepEqual(result.enrich.map((e: Json) => e.summary.type), ['hash', 'url', 'domain']);
    assert.equal(result.score.verdict, 'malicious');

    assert.equal(jira.issues.length, 1);
    const fields = jira.issues[0]!.fields as Json;
    assert.equal(fields.summary, 'Phishing A-77 from billing@evil.example: malicious');
    assert.deepEqual(fields.priority, { name: 'Highest' });
    assert.match(JSON.stringify(fields.description), /user clicked/);
    const posted = slack.posted.slice(slackBefore);
    assert.equal(posted.length, 1);
    assert.equal(posted[0]!.channel, 'C0SOC');
    assert.equal(posted[0]!.text, `:rotating_light: Phishing A-77 (critical) is malicious. Ticket SEC-1: ${jira.url}/browse/SEC-1`);
    await noSecrets(id);
  });

  it('phishing triage: a report whose indicators are clean ends with a note and no ticket', async () => {
    const issues = jira.issues.length;
    const id = await execute('phishing-triage', { alert: { id: 'A-78', severity: 'low', sender: 'newsletter@shop.example', attachments: [], urls: [] }, channel: 'C0SOC' });
    const done = await ended(system.store, id, 30_000);
    assert.equal(done.status, 'completed', JSON.stringify(done.error));
    assert.equal((done.result as Json).score.verdict, 'clean');
    assert.equal(jira.issues.length, issues);
    assert.equal(slack.posted.at(-1)!.text, 'Phishing A-78: every indicator is clean.');
  });

  it('malware containment: isolates the host after approval', async () => {
    edrDown = false;
    const id = await execute('malware-containment', { alert: { id: 'A-9', severity: 'critical', host: 'ws-042', device_id: 'dev-42', family: 'Emotet' }, edr: { url: edr.url }, channel: 'C0IR' });
    const task = await taskOf(id);
    assert.deepEqual(task.candidate_groups, ['ir']);
    assert.equal(edr.requests.length, 0, 'nothing is isolated before the approval');
    await api('POST', `/tasks/${encodeURIComponent(task.task_id)}/complete`, { decision: 'approve', user: 'bob' });
    const done = await ended(system.store, id, 30_000);
    assert.equal(done.status, 'completed', JSON.stringify(done.error));
    assert.deepEqual(bodyOf(edr.requests.at(-1)!), { ids: ['dev-42'], comment: 'SOAR A-9' });
    assert.equal(slack.posted.at(-1)!.text, ':lock: ws-042 isolated (Emotet, alert A-9).');
    await noSecrets(id);
  });

  it('malware containment: when the EDR call fails, asks for manual isolation in ServiceNow', async () => {
    edrDown = true;
    const id = await execute('malware-containment', { alert: { id: 'A-10', severity: 'high', host: 'ws-077', device_id: 'dev-77', family: 'QakBot' }, edr: { url: edr.url }, channel: 'C0IR' });
    const task = await taskOf(id);
    await api('POST', `/tasks/${encodeURIComponent(task.task_id)}/complete`, { decision: 'approve' });
    const done = await ended(system.store, id, 30_000);
    assert.equal(done.status, 'completed', JSON.stringify(done.error));
    const steps = await system.store.getSteps(id);
    const isolate = steps.find((s) => s.activityId === 'isolate')!;
    assert.equal(isolate.status, 'failed');
    assert.match(isolate.error!.message, /answered 400/);
    assert.equal(sn.incidents.length, 1);
    assert.equal(sn.incidents[0]!.short_description, 'Isolate ws-077 by hand: EDR isolation failed');
    assert.ok(steps.some((s) => s.activityId === 'manual_isolation' && s.status === 'completed'));
    await noSecrets(id);
  });

  it('brute-force response: blocks a known-bad address and records it in Splunk; a clean one is only recorded', async () => {
    const bad = await execute('brute-force-response', { alert: { id: 'A-3', source_ip: '203.0.113.66', user: 'svc-backup', failures: 40 }, firewall: { url: firewall.url } });
    const badDone = await ended(system.store, bad, 30_000);
    assert.equal(badDone.status, 'completed', JSON.stringify(badDone.error));
    assert.deepEqual(bodyOf(firewall.requests.at(-1)!), { address: '203.0.113.66', reason: 'brute force against svc-backup', ttl_hours: '24' });
    const badEvent = (splunk.events.at(-1) as Json).event;
    assert.equal(badEvent.source_ip, '203.0.113.66');
    assert.equal(badEvent.abuse_score, 100);
    assert.equal(badEvent.blocked, 201);

    const blocks = firewall.requests.length;
    const clean = await execute('brute-force-response', { alert: { id: 'A-4', source_ip: '198.51.100.4', user: 'alice', failures: 6 }, firewall: { url: firewall.url } });
    const cleanDone = await ended(system.store, clean, 30_000);
    assert.equal(cleanDone.status, 'completed', JSON.stringify(cleanDone.error));
    assert.equal(firewall.requests.length, blocks, 'nothing blocked');
    const cleanEvent = (splunk.events.at(-1) as Json).event;
    assert.equal(cleanEvent.source_ip, '198.51.100.4');
    assert.equal(cleanEvent.blocked, null);
    await noSecrets(bad);
  });
});
