import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { SMTPServer } from 'smtp-server';
import { defaultRegistry } from '../activities/index.ts';
import type { Credential, RunContext } from '../activities/define.ts';
import { urlId } from '../activities/virustotal/lookup-url.ts';
import { silentLogger } from '../engine/log.ts';
import { abuseipdbStandIn, ABUSE_KEY } from './support/stand-ins/abuseipdb.ts';
import { bodyOf } from './support/stand-ins/common.ts';
import { jiraStandIn, JIRA_EMAIL, JIRA_TOKEN } from './support/stand-ins/jira.ts';
import { mispStandIn, MISP_KEY } from './support/stand-ins/misp.ts';
import { servicenowStandIn, SN_PASSWORD, SN_USER } from './support/stand-ins/servicenow.ts';
import { slackStandIn, SLACK_TOKEN } from './support/stand-ins/slack.ts';
import { splunkStandIn, HEC_TOKEN, SPLUNK_TOKEN } from './support/stand-ins/splunk.ts';
import { teamsStandIn } from './support/stand-ins/teams.ts';
import { MALICIOUS_SHA256, virustotalStandIn, VT_KEY } from './support/stand-ins/virustotal.ts';

/*
 * Each connector against a local server that speaks its product's API: what is sent (path, method,
 * auth header, body), what comes back, and how the product's error answers are classified
 * (RetryableError: retried with backoff; NonRetryableError: the task fails at once).
 */
const registry = defaultRegistry();
const run = (id: string, input: Record<string, unknown>, credential: Credential | null, config: Record<string, unknown>, key = 'exec-1:task:1') => {
  const ctx: RunContext = { executionId: 'exec-1', activityId: 'task', jobId: key, idempotencyKey: key, attempt: 1, signal: new AbortController().signal, logger: silentLogger(), credential, config };
  return registry.get(id)!.run(input, ctx) as Promise<Record<string, unknown>>;
};
const rejects = async (p: Promise<unknown>, name: 'RetryableError' | 'NonRetryableError', message: RegExp, extra: Record<string, unknown> = {}) =>
  assert.rejects(p, (e: Error & Record<string, unknown>) => {
    assert.equal(e.name, name, e.message);
    assert.match(e.message, message);
    for (const [k, v] of Object.entries(extra)) assert.equal(e[k], v, k);
    return true;
  });

describe('VirusTotal v3', () => {
  let vt: Awaited<ReturnType<typeof virustotalStandIn>>;
  let config: Record<string, unknown>;
  const cred = { apiKey: VT_KEY };
  before(async () => {
    vt = await virustotalStandIn();
    config = { baseUrl: `${vt.url}/api/v3` };
  });
  after(() => vt.close());

  it('looks up a file hash with x-apikey and sums up the report', async () => {
    const out = await run('virustotal.lookupHash', { hash: MALICIOUS_SHA256.toUpperCase() }, cred, config);
    assert.equal(vt.requests.at(-1)!.path, `/api/v3/files/${MALICIOUS_SHA256}`);
    assert.equal(vt.requests.at(-1)!.headers['x-apikey'], VT_KEY);
    assert.equal(out.found, true);
    assert.equal(out.verdict, 'malicious');
    assert.equal((out.stats as Record<string, number>).malicious, 52);
    assert.equal(out.lastAnalysisDate, '2023-11-14T22:13:20.000Z');
  });

  it('answers an unknown hash (404 NotFoundError) with found: false', async () => {
    const out = await run('virustotal.lookupHash', { hash: 'a'.repeat(64) }, cred, config);
    assert.equal(out.found, false);
    assert.equal(out.verdict, 'unknown');
  });

  it('looks up IPs, domains and URLs (the URL id is unpadded base64url)', async () => {
    assert.equal((await run('virustotal.lookupIp', { ip: '203.0.113.66' }, cred, config)).verdict, 'malicious');
    assert.equal(vt.requests.at(-1)!.path, '/api/v3/ip_addresses/203.0.113.66');
    assert.equal((await run('virustotal.lookupDomain', { domain: 'Evil.Example' }, cred, config)).verdict, 'malicious');
    assert.equal(vt.requests.at(-1)!.path, '/api/v3/domains/evil.example');
    await run('virustotal.lookupUrl', { url: 'http://evil.example/a?b=c' }, cred, config);
    assert.equal(vt.requests.at(-1)!.path, `/api/v3/urls/${urlId('http://evil.example/a?b=c')}`);
    assert.doesNotMatch(vt.requests.at(-1)!.path, /=/);
  });

  it('refuses a malformed hash before any call (schema violation, not retryable)', async () => {
    const n = vt.requests.length;
    await rejects(run('virustotal.lookupHash', { hash: 'not-a-hash' }, cred, config), 'NonRetryableError', /input does not match its schema: hash must match/);
    assert.equal(vt.requests.length, n);
  });

  it('classifies 401 (not retryable), 429 with Retry-After and 500 (retryable), and keeps the key out of errors', async () => {
    await rejects(run('virustotal.lookupHash', { hash: MALICIOUS_SHA256 }, { apiKey: 'wrong-key-123' }, config), 'NonRetryableError', /answered 401: WrongCredentialsError/);
    vt.fail({ status: 429, headers: { 'retry-after': '7' }, body: { error: { code: 'QuotaExceededError', message: `Quota exceeded for ${VT_KEY}` } } });
    await assert.rejects(run('virustotal.lookupHash', { hash: MALICIOUS_SHA256 }, cred, config), (e: Error & { retryAfterMs?: number }) => {
      assert.equal(e.name, 'RetryableError');
      assert.equal(e.retryAfterMs, 7000);
      assert.match(e.message, /429: QuotaExceededError/);
      assert.doesNotMatch(e.message, new RegExp(VT_KEY));
      return true;
    });
    vt.fail({ status: 500, body: { error: { code: 'TransientError', message: 'try again' } } });
    await rejects(run('virustotal.lookupHash', { hash: MALICIOUS_SHA256 }, cred, config), 'RetryableError', /answered 500/, { kind: 'server' });
  });
});

describe('Slack', () => {
  let slack: Awaited<ReturnType<typeof slackStandIn>>;
  before(async () => (slack = await slackStandIn()));
  after(() => slack.close());

  it('posts with chat.postMessage and a bearer token, the text rendered from the input', async () => {
    const out = await run(
      'slack.postMessage',
      { channel: 'C0SEC', text: 'Alert {{alert.id}}: {{vt.stats.malicious}} engines, <{{vt.link}}>', alert: { id: 'A-1' }, vt: { stats: { malicious: 52 }, link: 'https://vt/x' } },
      { botToken: SLACK_TOKEN },
      { baseUrl: `${slack.url}/api` },
    );
    const req = slack.requests.at(-1)!;
    assert.equal(req.method, 'POST');
    assert.equal(req.path, '/api/chat.postMessage');
    assert.equal(req.headers.authorization, `Bearer ${SLACK_TOKEN}`);
    assert.match(String(req.headers['content-type']), /application\/json; charset=utf-8/);
    assert.deepEqual(bodyOf(req), { channel: 'C0SEC', text: 'Alert A-1: 52 engines, <https://vt/x>' });
    assert.equal(out.ts, '1700000000.000001');
  });

  it('turns HTTP 200 { ok: false } into a failure: invalid_auth and channel_not_found are not retried', async () => {
    await rejects(run('slack.postMessage', { channel: 'C0SEC', text: 'x' }, { botToken: 'xoxb-wrong' }, { baseUrl: `${slack.url}/api` }), 'NonRetryableError', /invalid_auth/);
    await rejects(run('slack.postMessage', { channel: 'C-MISSING', text: 'x' }, { botToken: SLACK_TOKEN }, { baseUrl: `${slack.url}/api` }), 'NonRetryableError', /channel_not_found/);
    slack.fail({ status: 200, body: { ok: false, error: 'internal_error' } });
    await rejects(run('slack.postMessage', { channel: 'C0SEC', text: 'x' }, { botToken: SLACK_TOKEN }, { baseUrl: `${slack.url}/api` }), 'RetryableError', /internal_error/);
    slack.fail({ status: 429, headers: { 'retry-after': '30' }, body: { ok: false, error: 'ratelimited' } });
    await rejects(run('slack.postMessage', { channel: 'C0SEC', text: 'x' }, { botToken: SLACK_TOKEN }, { baseUrl: `${slack.url}/api` }), 'RetryableError', /429/, { retryAfterMs: 30_000 });
  });

  it('posts to an incoming webhook without showing its URL in errors', async () => {
    await run('slack.postWebhook', { text: 'Hello {{who}}', who: 'SOC' }, { url: `${slack.url}/services/T000/B000/hooksecret` }, {});
    assert.deepEqual(bodyOf(slack.requests.at(-1)!), { text: 'Hello SOC' });
    await assert.rejects(run('slack.postWebhook', { text: 'x' }, { url: `${slack.url}/services/T000/B000/revokedsecret` }, {}), (e: Error) => {
      assert.equal(e.name, 'NonRetryableError');
      assert.match(e.message, /answered 404: no_service/);
      assert.doesNotMatch(e.message, /revokedsecret|services/);
      return true;
    });
  });
});

describe('Microsoft Teams', () => {
  it('posts an Adaptive Card to the webhook', async () => {
    const teams = await teamsStandIn();
    try {
      const url = `${teams.url}/webhookb2/abc/IncomingWebhook/def/secretpart`;
      const out = await run('teams.postCard', { title: 'Alert {{id}}', text: 'Host {{host}} isolated', severity: 'high', facts: { host: 'ws-042' }, id: 'A-1', host: 'ws-042' }, { url }, {});
      assert.equal(out.delivered, true);
      const card = teams.cards[0] as { type: string; attachments: Array<{ contentType: string; content: { type: string; body: Array<Record<string, unknown>> } }> };
      assert.equal(card.type, 'message');
      assert.equal(card.attachments[0]!.contentType, 'application/vnd.microsoft.card.adaptive');
      assert.equal(card.attachments[0]!.content.type, 'AdaptiveCard');
      assert.equal(card.attachments[0]!.content.body[0]!.text, 'Alert A-1');
      assert.equal(card.attachments[0]!.content.body[0]!.color, 'Attention');
      teams.fail({ status: 200, body: 'Webhook message delivery failed with error: Microsoft Teams endpoint returned HTTP error 429 with ContextId tcid=0' });
      await rejects(run('teams.postCard', { title: 't', text: 'x' }, { url }, {}), 'RetryableError', /delivery failed/);
      await rejects(run('teams.postCard', { title: 't', text: 'x' }, { url: `${teams.url}/webhookb2/wrong` }, {}), 'NonRetryableError', /answered 400/);
    } finally {
      await teams.close();
    }
  });
});

describe('ServiceNow Table API', () => {
  let sn: Awaited<ReturnType<typeof servicenowStandIn>>;
  let config: Record<string, unknown>;
  const cred = { username: SN_USER, password: SN_PASSWORD };
  before(async () => {
    sn = await servicenowStandIn();
    config = { baseUrl: sn.url, assignmentGroup: 'SOC' };
  });
  after(() => sn.close());

  it('creates an incident with basic auth, impact and urgency from the severity, and correlation_id', async () => {
    const out = await run('servicenow.createIncident', { shortDescription: 'Phishing {{alert.id}}', severity: 'critical', fields: { u_alert_id: 'A-1' }, alert: { id: 'A-1' } }, cred, config, 'e1:ticket:1');
    assert.equal(out.created, true);
    assert.match(String(out.number), /^INC/);
    const post = sn.requests.find((r) => r.method === 'POST')!;
    assert.equal(post.path, '/api/now/table/incident');
    const body = bodyOf(post);
    assert.equal(body.short_description, 'Phishing A-1');
    assert.deepEqual([body.impact, body.urgency, body.assignment_group, body.u_alert_id], ['1', '1', 'SOC', 'A-1']);
    assert.match(String(body.correlation_id), /^soar-[0-9a-f]{32}$/);
  });

  it('does not open a second incident when the same task runs again (correlation_id lookup)', async () => {
    const again = await run('servicenow.createIncident', { shortDescription: 'Phishing A-1' }, cred, config, 'e1:ticket:1');
    assert.equal(again.created, false);
    assert.equal(sn.incidents.length, 1);
    assert.match(sn.requests.at(-1)!.path, /sysparm_query=correlation_id%3Dsoar-/);
  });

  it('updates by number (state by name, work notes) and reads by sys_id; 404 is found: false', async () => {
    const number = String(sn.incidents[0]!.number);
    const out = await run('servicenow.updateIncident', { number, state: 'in_progress', workNotes: 'VT says {{verdict}}', verdict: 'malicious' }, cred, config);
    assert.equal(out.state, '2');
    assert.equal(bodyOf(sn.requests.at(-1)!).work_notes, 'VT says malicious');
    assert.equal(sn.requests.at(-1)!.method, 'PATCH');
    const got = await run('servicenow.getIncident', { sysId: String(sn.incidents[0]!.sys_id) }, cred, config);
    assert.equal(got.found, true);
    assert.equal((await run('servicenow.getIncident', { sysId: 'f'.repeat(32) }, cred, config)).found, false);
  });

  it('fails at once on 401 and retries a 503', async () => {
    await rejects(run('servicenow.getIncident', { number: 'INC0010001' }, { username: 'x', password: 'y' }, config), 'NonRetryableError', /answered 401: User Not Authenticated/);
    sn.fail({ status: 503, body: { error: { message: 'Service Unavailable' }, status: 'failure' } });
    await rejects(run('servicenow.getIncident', { number: 'INC0010001' }, cred, config), 'RetryableError', /answered 503/);
  });
});

describe('Jira Cloud v3', () => {
  let jira: Awaited<ReturnType<typeof jiraStandIn>>;
  let config: Record<string, unknown>;
  const cred = { email: JIRA_EMAIL, apiToken: JIRA_TOKEN };
  before(async () => {
    jira = await jiraStandIn();
    config = { baseUrl: jira.url, projectKey: 'SEC', issueType: 'Security Incident' };
  });
  after(() => jira.close());

  it('creates an issue with the priority mapped from the severity, an ADF description and an idempotency label', async () => {
    const out = await run('jira.createIssue', { summary: 'Phishing {{alert.id}}', description: 'Sender {{alert.sender}}', severity: 'critical', alert: { id: 'A-1', sender: 'x@evil.example' } }, cred, config, 'e1:jira:1');
    assert.deepEqual([out.key, out.priority, out.created], ['SEC-1', 'Highest', true]);
    const fields = jira.issues[0]!.fields as Record<string, any>;
    assert.deepEqual(fields.project, { key: 'SEC' });
    assert.deepEqual(fields.issuetype, { name: 'Security Incident' });
    assert.deepEqual(fields.priority, { name: 'Highest' });
    assert.equal(fields.description.type, 'doc');
    assert.equal(fields.description.content[0].content[0].text, 'Sender x@evil.example');
    assert.match(fields.labels[0], /^soar-[0-9a-f]{24}$/);
  });

  it('finds the issue of an earlier try by its label instead of creating a second', async () => {
    const out = await run('jira.createIssue', { summary: 'Phishing A-1', severity: 'critical' }, cred, config, 'e1:jira:1');
    assert.deepEqual([out.key, out.created], ['SEC-1', false]);
    assert.equal(jira.issues.length, 1);
  });

  it('adds a comment once, and transitions by name or target status', async () => {
    const c1 = await run('jira.addComment', { issueKey: 'SEC-1', body: 'Verdict: {{v}}', v: 'malicious' }, cred, config, 'e1:comment:1');
    const c2 = await run('jira.addComment', { issueKey: 'SEC-1', body: 'Verdict: malicious' }, cred, config, 'e1:comment:1');
    assert.deepEqual([c1.created, c2.created, jira.issues[0]!.comments.length], [true, false, 1]);
    const t = await run('jira.transitionIssue', { issueKey: 'SEC-1', transition: 'In Progress' }, cred, config);
    assert.deepEqual([t.transitionId, t.status, jira.issues[0]!.status], ['21', 'In Progress', 'In Progress']);
    const again = await run('jira.transitionIssue', { issueKey: 'SEC-1', transition: 'in progress' }, cred, config);
    assert.equal(again.transitionId, '21');
    await rejects(run('jira.transitionIssue', { issueKey: 'SEC-1', transition: 'Reopen' }, cred, config), 'NonRetryableError', /no transition "Reopen" \(available: Start Progress, Done\)/);
  });

  it('reports Jira error bodies: 401 and 404 fail, 400 names the field', async () => {
    await rejects(run('jira.addComment', { issueKey: 'SEC-1', body: 'x' }, { email: JIRA_EMAIL, apiToken: 'nope' }, config), 'NonRetryableError', /401: Client must be authenticated/);
    await rejects(run('jira.addComment', { issueKey: 'SEC-99', body: 'x' }, cred, config), 'NonRetryableError', /404: Issue does not exist/);
    jira.fail({ status: 500, body: { errorMessages: ['Internal server error'], errors: {} } });
    await rejects(run('jira.addComment', { issueKey: 'SEC-1', body: 'x' }, cred, config), 'RetryableError', /500: Internal server error/);
  });
});

describe('MISP', () => {
  let misp: Awaited<ReturnType<typeof mispStandIn>>;
  let config: Record<string, unknown>;
  const cred = { apiKey: MISP_KEY };
  before(async () => {
    misp = await mispStandIn();
    config = { baseUrl: misp.url };
  });
  after(() => misp.close());

  it('searches attributes with restSearch and the key in Authorization', async () => {
    const out = await run('misp.searchAttributes', { value: '203.0.113.66' }, cred, config);
    const req = misp.requests.at(-1)!;
    assert.equal(req.headers.authorization, MISP_KEY);
    assert.equal(bodyOf(req).returnFormat, 'json');
    assert.equal(out.count, 1);
    assert.deepEqual((out.attributes as Array<Record<string, unknown>>)[0]!.eventInfo, 'Known C2');
  });

  it('creates an event once (uuid from the idempotency key), adds an attribute once and a sighting', async () => {
    const e1 = await run('misp.createEvent', { info: 'Phishing {{id}}', id: 'A-1', threatLevel: 'high', tags: ['tlp:amber'] }, cred, config, 'e1:misp:1');
    const e2 = await run('misp.createEvent', { info: 'Phishing A-1' }, cred, config, 'e1:misp:1');
    assert.deepEqual([e1.created, e2.created, e1.uuid === e2.uuid, misp.events.length], [true, false, true, 1]);
    assert.equal(misp.events[0]!.threat_level_id, '1');
    const a1 = await run('misp.addAttribute', { eventId: String(e1.id), type: 'domain', value: 'evil.example' }, cred, config);
    const a2 = await run('misp.addAttribute', { eventId: String(e1.id), type: 'domain', value: 'evil.example' }, cred, config);
    assert.deepEqual([a1.created, a2.created, a1.id === a2.id], [true, false, true]);
    const s = await run('misp.addSighting', { value: 'evil.example' }, cred, config);
    assert.deepEqual(misp.sightings[0], { value: 'evil.example', type: '0', source: 'soar' });
    assert.equal(s.id, '1');
  });

  it('fails at once on a bad key (403)', async () => {
    await rejects(run('misp.searchAttributes', { value: 'x' }, { apiKey: 'bad-key-000' }, config), 'NonRetryableError', /403: Authentication failed/);
  });
});

describe('Splunk', () => {
  let splunk: Awaited<ReturnType<typeof splunkStandIn>>;
  before(async () => (splunk = await splunkStandIn()));
  after(() => splunk.close());

  it('sends an event to HEC with Authorization: Splunk <token>', async () => {
    const out = await run('splunk.sendEvent', { event: { alert: 'A-1', verdict: 'malicious' }, index: 'soar' }, { token: HEC_TOKEN }, { hecUrl: splunk.url });
    assert.equal(out.delivered, true);
    assert.equal(splunk.requests.at(-1)!.headers.authorization, `Splunk ${HEC_TOKEN}`);
    assert.deepEqual(splunk.events[0], { event: { alert: 'A-1', verdict: 'malicious' }, sourcetype: 'soar:playbook', source: 'soar', index: 'soar' });
    await rejects(run('splunk.sendEvent', { event: 'x' }, { token: 'bad-token' }, { hecUrl: splunk.url }), 'NonRetryableError', /403: Invalid token/);
    splunk.fail({ status: 503, body: { text: 'Server is busy', code: 9 } });
    await rejects(run('splunk.sendEvent', { event: 'x' }, { token: HEC_TOKEN }, { hecUrl: splunk.url }), 'RetryableError', /503: Server is busy/);
  });

  it('runs a search through the export endpoint and keeps the final (non-preview) results', async () => {
    const out = await run('splunk.search', { query: 'index=edr host=ws-042', maxResults: 10 }, { token: SPLUNK_TOKEN }, { baseUrl: splunk.url });
    const form = new URLSearchParams(splunk.requests.at(-1)!.body);
    assert.deepEqual([form.get('search'), form.get('output_mode'), form.get('earliest_time')], ['search index=edr host=ws-042', 'json', '-24h']);
    assert.deepEqual(out.results, [{ host: 'ws-042', count: '3' }, { host: 'ws-043', count: '1' }]);
    await rejects(run('splunk.search', { query: 'x' }, { token: 'bad' }, { baseUrl: splunk.url }), 'NonRetryableError', /401: call not properly authenticated/);
  });
});

describe('AbuseIPDB', () => {
  it('checks an IP with the Key header; 401 fails, 429 is retried after Retry-After', async () => {
    const abuse = await abuseipdbStandIn();
    try {
      const config = { baseUrl: `${abuse.url}/api/v2` };
      const out = await run('abuseipdb.checkIp', { ip: '203.0.113.66' }, { apiKey: ABUSE_KEY }, config);
      assert.equal(abuse.requests.at(-1)!.path, '/api/v2/check?ipAddress=203.0.113.66&maxAgeInDays=90');
      assert.deepEqual([out.abuseConfidenceScore, out.totalReports], [100, 42]);
      await rejects(run('abuseipdb.checkIp', { ip: '203.0.113.66' }, { apiKey: 'wrong-1' }, config), 'NonRetryableError', /401: Authentication failed/);
      abuse.fail({ status: 429, headers: { 'retry-after': '3600' }, body: { errors: [{ detail: 'Daily rate limit of 1000 requests exceeded for this endpoint.', status: 429 }] } });
      await rejects(run('abuseipdb.checkIp', { ip: '203.0.113.66' }, { apiKey: ABUSE_KEY }, config), 'RetryableError', /Daily rate limit/, { retryAfterMs: 3_600_000 });
      await rejects(run('abuseipdb.checkIp', { ip: '999.1.1.1' }, { apiKey: ABUSE_KEY }, config), 'NonRetryableError', /ip must match/);
    } finally {
      await abuse.close();
    }
  });
});

describe('Email (SMTP)', () => {
  it('sends through an SMTP server with a login, the subject and text rendered, the Message-ID stable', async () => {
    const mails: Array<{ from: string; to: string[]; data: string; user: string | undefined }> = [];
    const server = new SMTPServer({
      authOptional: false,
      allowInsecureAuth: true,
      disabledCommands: ['STARTTLS'],
      onAuth(auth, _session, cb) {
        if (auth.username === 'soar' && auth.password === 'smtp-secret-pw') return cb(null, { user: auth.username });
        cb(Object.assign(new Error('Invalid username or password'), { responseCode: 535 }));
      },
      onData(stream, session, cb) {
        let data = '';
        stream.on('data', (c: Buffer) => (data += c.toString()));
        stream.on('end', () => {
          mails.push({ from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '', to: session.envelope.rcptTo.map((r) => r.address), data, user: session.user as string | undefined });
          cb();
        });
      },
    });
    server.listen(0, '127.0.0.1');
    await once(server.server, 'listening');
    const port = (server.server.address() as AddressInfo).port;
    try {
      const config = { host: '127.0.0.1', port, from: 'SOAR <soar@corp.example>' };
      const out = await run('email.send', { to: 'soc@corp.example', subject: 'Alert {{alert.id}}', text: 'Verdict {{v}}', alert: { id: 'A-1' }, v: 'malicious' }, { username: 'soar', password: 'smtp-secret-pw' }, config, 'e1:mail:1');
      assert.deepEqual(out.accepted, ['soc@corp.example']);
      assert.equal(mails.length, 1);
      assert.equal(mails[0]!.user, 'soar');
      assert.match(mails[0]!.data, /Subject: Alert A-1/);
      assert.match(mails[0]!.data, /Verdict malicious/);
      assert.match(String(out.messageId), /^<soar-[0-9a-f]{32}@corp\.example>$/);
      await rejects(run('email.send', { to: 'soc@corp.example', subject: 's', text: 't' }, { username: 'soar', password: 'wrong' }, config), 'NonRetryableError', /smtp 127\.0\.0\.1/);
      await rejects(run('email.send', { to: 'soc@corp.example', subject: 's', text: 't' }, {}, { ...config, port: 1 }), 'RetryableError', /smtp 127\.0\.0\.1:1/);
    } finally {
      await new Promise<void>((r) => server.close(() => r()));
    }
  });
});
