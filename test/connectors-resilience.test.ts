import { after, before, beforeEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import winston from 'winston';
import { staticCredentials } from '../activities/credentials.ts';
import { ActivityRegistry } from '../activities/index.ts';
import { breakerKey, CircuitBreaker, readBreaker } from '../activities/resilience/breaker.ts';
import { RateLimiter } from '../activities/resilience/rate-limit.ts';
import { backoffDelay } from '../activities/resilience/retry.ts';
import { staticSettings, type ConnectorSettings } from '../activities/settings.ts';
import lookupHash from '../activities/virustotal/lookup-hash.ts';
import lookupIp from '../activities/virustotal/lookup-ip.ts';
import postMessage from '../activities/slack/post-message.ts';
import { createLogger } from '../engine/log.ts';
import { redisConnection } from '../engine/queue/redis.ts';
import { clearRedis, REDIS_URL } from './support/env.ts';
import { slackStandIn, SLACK_TOKEN } from './support/stand-ins/slack.ts';
import { MALICIOUS_SHA256, virustotalStandIn, VT_KEY } from './support/stand-ins/virustotal.ts';
import { manualClock, workerHarness } from './support/stand-ins/worker-harness.ts';

const hash = (n: number) => n.toString(16).padStart(64, '0');

describe('backoff policy', () => {
  it('is 1 s, 2 s, 4 s ... capped at 60 s, with up to 20% taken off at random', () => {
    assert.deepEqual([1, 2, 3, 4, 7, 8, 20].map((n) => backoffDelay(n, {}, () => 0)), [1000, 2000, 4000, 8000, 60_000, 60_000, 60_000]);
    assert.equal(backoffDelay(3, {}, () => 1), 3200);
    assert.equal(backoffDelay(2, { backoffMs: 500, multiplier: 3, jitter: 0 }), 1500);
  });
});

describe('circuit breaker and rate limiter in Redis, on an injected clock', () => {
  const prefix = `test-${crypto.randomUUID().slice(0, 12)}`;
  const redis = redisConnection(REDIS_URL);
  after(async () => {
    await clearRedis(prefix);
    await redis.quit();
  });

  it('opens after 5 failures, half-opens after 60 s, closes after 3 successes, reopens on a half-open failure', async () => {
    const clock = manualClock();
    const a = new CircuitBreaker(redis, prefix, 'acme', {}, () => clock.ms());
    const b = new CircuitBreaker(redis, prefix, 'acme', {}, () => clock.ms()); // another worker: same state
    for (let i = 0; i < 4; i++) assert.equal(await a.record(false), 'closed');
    assert.equal(await b.record(true), 'closed', 'a success resets the count of consecutive failures');
    for (let i = 0; i < 4; i++) await a.record(false);
    assert.equal(await b.record(false), 'open');
    assert.deepEqual(await b.acquire(), { allowed: false, retryInMs: 60_000 });
    clock.advance(59_999);
    assert.deepEqual(await a.acquire(), { allowed: false, retryInMs: 1 });
    clock.advance(1);
    assert.deepEqual(await a.acquire(), { allowed: true, state: 'half-open' });
    assert.equal(await a.record(false), 'open', 'a failure in half-open opens it again');
    clock.advance(60_000);
    await b.acquire();
    assert.equal(await a.record(true), 'half-open');
    assert.equal(await b.record(true), 'half-open');
    assert.equal(await a.record(true), 'closed');
    assert.equal((await readBreaker(redis, breakerKey(prefix, 'acme'))).state, 'closed');
  });

  it('takes its thresholds per connector', async () => {
    const clock = manualClock();
    const br = new CircuitBreaker(redis, prefix, 'fragile', { failureThreshold: 2, openMs: 5000, successThreshold: 1 }, () => clock.ms());
    await br.record(false);
    assert.equal(await br.record(false), 'open');
    clock.advance(5000);
    assert.equal((await br.acquire()).allowed, true);
    assert.equal(await br.record(true), 'closed');
  });

  it('shares a token bucket across limiters: 4 per minute, then one every 15 s', async () => {
    const clock = manualClock();
    const w1 = new RateLimiter(redis, prefix, 'vt', { max: 4, perMs: 60_000 }, () => clock.ms());
    const w2 = new RateLimiter(redis, prefix, 'vt', { max: 4, perMs: 60_000 }, () => clock.ms());
    assert.deepEqual([await w1.take(), await w2.take(), await w1.take(), await w2.take()], [0, 0, 0, 0]);
    assert.equal(await w1.take(), 15_000);
    clock.advance(14_999);
    assert.equal(await w2.take(), 1);
    clock.advance(1);
    assert.equal(await w2.take(), 0);
    assert.equal(await w1.take(), 15_000);
  });
});

describe('connector jobs through BullMQ: retries, Retry-After, breaker, rate limit, cache, redaction', () => {
  let vt: Awaited<ReturnType<typeof virustotalStandIn>>;
  let h: Awaited<ReturnType<typeof workerHarness>>;
  let clock: ReturnType<typeof manualClock>;
  const settings: Record<string, Partial<ConnectorSettings>> = {};
  const logLines: string[] = [];
  let attempts = 5;

  before(async () => {
    vt = await virustotalStandIn();
    clock = manualClock();
    const logger = createLogger({ level: 'debug', format: 'json' });
    logger.clear();
    logger.add(new winston.transports.Stream({ stream: new Writable({ write: (c: Buffer, _e, cb) => (logLines.push(c.toString()), cb()) }) }));
    h = await workerHarness({
      registry: new ActivityRegistry([lookupHash, lookupIp] as never[]),
      credentials: staticCredentials({ virustotal: { apiKey: VT_KEY } }),
      // read per job: each test sets the connector's settings it needs
      settings: { forConnector: (c) => ({ ...settings[c], config: { baseUrl: `${vt.url}/api/v3`, ...settings[c]?.config } }) },
      clock,
      logger,
      attempts: () => attempts,
    });
  });
  after(async () => {
    await h?.close();
    await vt?.close();
  });
  beforeEach(async () => {
    settings.virustotal = { rateLimit: false, cache: false, retry: { backoffMs: 20, jitter: 0 } };
    attempts = 5;
    await h.redis.del(breakerKey(h.prefix, 'virustotal'));
  });

  it("waits for a 429's Retry-After before the next try, and counts both tries", async () => {
    vt.fail({ status: 429, headers: { 'retry-after': '7' }, body: { error: { code: 'QuotaExceededError', message: 'Quota exceeded' } } });
    const job = h.run('virustotal.lookupHash', { hash: MALICIOUS_SHA256 });
    const delayed = await job.delayed();
    assert.equal(delayed.attemptsMade, 1);
    assert.equal(delayed.delay, 7000, 'the delay is the Retry-After, not the backoff');
    await delayed.promote();
    const out = await job.outcome;
    assert.equal(out.status, 'completed');
    assert.equal(out.status === 'completed' && out.attempts, 2);
  });

  it('retries 5xx and timeouts with exponential backoff, then succeeds', async () => {
    vt.fail({ status: 500, body: { error: { code: 'TransientError' } } }, { status: 503, body: 'unavailable' });
    const job = h.run('virustotal.lookupHash', { hash: MALICIOUS_SHA256 });
    const first = await job.delayed();
    assert.equal(first.delay, 20);
    const second = await job.delayed();
    assert.equal(second.delay, 40);
    const out = await job.outcome;
    assert.deepEqual(out.status === 'completed' && [out.attempts, (out.output as { verdict: string }).verdict], [3, 'malicious']);
  });

  it('fails at once on 401, without retrying', async () => {
    vt.fail({ status: 401, body: { error: { code: 'WrongCredentialsError', message: 'Wrong API key' } } });
    const before = vt.requests.length;
    const out = await h.run('virustotal.lookupHash', { hash: MALICIOUS_SHA256 }).outcome;
    assert.equal(out.status, 'failed');
    assert.equal(out.attempts, 1);
    assert.match(out.status === 'failed' ? out.error.message : '', /401: WrongCredentialsError/);
    assert.equal(vt.requests.length, before + 1);
  });

  it('opens the breaker after 5 failing calls; then fails fast without calling, and closes again after 3 half-open successes', async () => {
    attempts = 1;
    vt.fail({ status: 500, body: { error: { code: 'TransientError' } }, times: 5 });
    for (let i = 0; i < 5; i++) assert.equal((await h.run('virustotal.lookupHash', { hash: MALICIOUS_SHA256 }).outcome).status, 'failed');
    const snap = await readBreaker(h.redis, breakerKey(h.prefix, 'virustotal'));
    assert.equal(snap.state, 'open');
    assert.equal(snap.halfOpenAt, snap.openedAt! + 60_000);

    const calls = vt.requests.length;
    const fast = await h.run('virustotal.lookupHash', { hash: MALICIOUS_SHA256 }).outcome;
    assert.equal(fast.status, 'failed');
    assert.match(fast.status === 'failed' ? fast.error.message : '', /circuit open, no call made/);
    assert.equal(vt.requests.length, calls, 'no call while open');

    clock.advance(60_000);
    for (let i = 0; i < 3; i++) assert.equal((await h.run('virustotal.lookupHash', { hash: MALICIOUS_SHA256 }).outcome).status, 'completed');
    assert.equal((await readBreaker(h.redis, breakerKey(h.prefix, 'virustotal'))).state, 'closed');
  });

  it('with whenOpen=wait, delays the job until half-open without spending a try', async () => {
    settings.virustotal = { ...settings.virustotal, breaker: { whenOpen: 'wait', failureThreshold: 1 }, retry: { backoffMs: 600_000, jitter: 0 } };
    vt.fail({ status: 500, body: {} });
    const opened = h.run('virustotal.lookupHash', { hash: MALICIOUS_SHA256 });
    const backingOff = await opened.delayed(); // a try spent; the breaker is now open
    assert.equal(backingOff.attemptsMade, 1);
    const job = h.run('virustotal.lookupHash', { hash: MALICIOUS_SHA256 });
    const waiting = await job.delayed();
    assert.equal(waiting.attemptsMade, 0, 'waiting for the breaker is not a try');
    assert.ok(waiting.delay > 59_000 && waiting.delay <= 60_000, String(waiting.delay));
    clock.advance(60_000);
    await waiting.promote();
    const out = await job.outcome;
    assert.deepEqual(out.status === 'completed' && out.attempts, 1);
    await backingOff.promote();
    const first = await opened.outcome;
    assert.deepEqual(first.status === 'completed' && first.attempts, 2);
  });

  it("holds VirusTotal to 4 calls a minute across jobs: the fifth waits its turn, no try spent", async () => {
    settings.virustotal = { ...settings.virustotal, rateLimit: undefined };
    const calls = vt.requests.length;
    const jobs = [1, 2, 3, 4, 5].map((n) => h.run('virustotal.lookupHash', { hash: hash(n) }));
    const waits = jobs.map((j) => j.delayed());
    const first = await Promise.race(waits);
    assert.equal(first.attemptsMade, 0);
    assert.equal(first.delay, 15_000);
    const done = await Promise.all(jobs.filter((j) => j.jobId !== first.id).map((j) => j.outcome));
    assert.deepEqual(done.map((d) => d.status), ['completed', 'completed', 'completed', 'completed']);
    assert.equal(vt.requests.length, calls + 4);
    clock.advance(15_000);
    await first.promote();
    const last = await jobs.find((j) => j.jobId === first.id)!.outcome;
    assert.deepEqual(last.status === 'completed' && last.attempts, 1);
    assert.equal(vt.requests.length, calls + 5);
  });

  it('answers a repeated lookup from the cache (24 h; not found: 1 h) without a call or a token', async () => {
    settings.virustotal = { ...settings.virustotal, cache: true };
    const calls = vt.requests.length;
    const a = await h.run('virustotal.lookupHash', { hash: MALICIOUS_SHA256 }).outcome;
    const b = await h.run('virustotal.lookupHash', { hash: MALICIOUS_SHA256.toUpperCase() }).outcome;
    assert.deepEqual(a.status === 'completed' && a.output, b.status === 'completed' && b.output);
    const missing = await h.run('virustotal.lookupHash', { hash: hash(999) }).outcome;
    assert.equal(missing.status === 'completed' && (missing.output as { found: boolean }).found, false);
    await h.run('virustotal.lookupHash', { hash: hash(999) }).outcome;
    assert.equal(vt.requests.length, calls + 2);
    const keys = await h.redis.keys(`${h.prefix}:connector:cache:*`);
    const ttls = (await Promise.all(keys.map((k) => h.redis.ttl(k)))).sort((x, y) => x - y);
    assert.equal(ttls.length, 2);
    assert.ok(ttls[0]! > 3500 && ttls[0]! <= 3600, `negative TTL ${ttls[0]}`);
    assert.ok(ttls[1]! > 86_300 && ttls[1]! <= 86_400, `positive TTL ${ttls[1]}`);
  });

  it('keeps the API key out of logs, job data, results and errors, even when the API echoes it', async () => {
    vt.fail({ status: 403, body: { error: { code: 'ForbiddenError', message: `key ${VT_KEY} may not do this` } } });
    const failed = await h.run('virustotal.lookupHash', { hash: MALICIOUS_SHA256 }).outcome;
    assert.equal(failed.status, 'failed');
    const ok = h.run('virustotal.lookupIp', { ip: '203.0.113.66' });
    assert.equal((await ok.outcome).status, 'completed');
    assert.equal(vt.requests.at(-1)!.headers['x-apikey'], VT_KEY, 'the key was sent to the API');
    const stored: string[] = [];
    for (const key of await h.redis.keys(`${h.prefix}:*`)) {
      const type = await h.redis.type(key);
      if (type === 'hash') stored.push(JSON.stringify(await h.redis.hgetall(key)));
      if (type === 'string') stored.push((await h.redis.get(key)) ?? '');
      if (type === 'stream') stored.push(JSON.stringify(await h.redis.xrange(key, '-', '+')));
    }
    assert.ok(logLines.some((l) => l.includes('activity attempt failed')), 'the failure was logged');
    assert.ok(stored.join('').includes('ForbiddenError'), 'the failure was stored');
    for (const [where, text] of [['logs', logLines.join('')], ['redis', stored.join('')], ['outcome', JSON.stringify(failed)]] as const) {
      assert.equal(text.includes(VT_KEY), false, `the key appears in ${where}`);
    }
  });

  it('fails at once when the credential is not configured, naming the variable to set', async () => {
    const slack = await slackStandIn();
    const h2 = await workerHarness({
      registry: new ActivityRegistry([postMessage] as never[]),
      credentials: staticCredentials({}),
      settings: staticSettings({ slack: { config: { baseUrl: `${slack.url}/api` } } }),
    });
    try {
      const out = await h2.run('slack.postMessage', { channel: 'C1', text: 'x' }).outcome;
      assert.equal(out.status, 'failed');
      assert.equal(out.attempts, 1);
      assert.match(out.status === 'failed' ? out.error.message : '', /needs the credential "slack": set SOAR_CRED_SLACK_BOT_TOKEN/);
      assert.equal(slack.requests.length, 0);
      assert.doesNotMatch(SLACK_TOKEN, /SOAR/);
    } finally {
      await h2.close();
      await slack.close();
    }
  });
});
