import { DelayedError, UnrecoverableError, Worker, type Job, type MinimalJob } from 'bullmq';
import type { Redis } from 'ioredis';
import { connectorOf, type ActivityDefinition, type BreakerPolicy, type Credential, type RateLimit, type RetryPolicy } from '../../activities/define.ts';
import { credentialSource, type CredentialSource } from '../../activities/credentials.ts';
import { scrubber } from '../../activities/http-client.ts';
import type { ActivityRegistry } from '../../activities/index.ts';
import { CircuitBreaker } from '../../activities/resilience/breaker.ts';
import { LookupCache } from '../../activities/resilience/cache.ts';
import { RateLimitedError, RateLimiter } from '../../activities/resilience/rate-limit.ts';
import { retryDelay } from '../../activities/resilience/retry.ts';
import { settingsSource, type ConnectorSettings, type SettingsSource } from '../../activities/settings.ts';
import type { Logger } from '../log.ts';
import { systemClock, type Clock } from '../ports.ts';
import type { JobData, JobResult } from './dispatcher.ts';

export interface ActivityWorkerOptions {
  connection: Redis;
  prefix: string;
  registry: ActivityRegistry;
  logger: Logger;
  concurrency: number;
  /** How long a job is locked to a worker before it counts as stalled and is redelivered. */
  lockDurationMs: number;
  stalledIntervalMs: number;
  /** Only these connectors (default: every registered one). */
  connectors?: string[];
  /** Where credentials come from (default: SOAR_CRED_* variables and SOAR_SECRETS_FILE). */
  credentials?: CredentialSource;
  /** Connector configuration and resilience overrides (default: SOAR_CONNECTOR_* variables and SOAR_CONNECTORS_FILE). */
  settings?: SettingsSource;
  /** The time the circuit breakers and rate limiters go by (tests move it by hand). */
  clock?: Clock;
  /** For the backoff's jitter. */
  random?: () => number;
}

/** What a worker publishes about a connector for the health endpoint: whether its credentials are set, not their values. */
export interface ConnectorStatus {
  credentials: Array<{ name: string; configured: boolean; missing: string[] }>;
  at: string;
}

export const connectorStatusKey = (prefix: string, connector: string) => `${prefix}:connector:${connector}:status`;

/**
 * The worker role: runs connector activities from their queues. Delivery is at least once, so an
 * activity receives a stable idempotency key (the job id) to pass to APIs that honour one.
 *
 * Around each handler: the credential is resolved here and only here; a lookup may be answered from
 * the cache; the connector's circuit breaker and rate limit (both in Redis, shared by every worker)
 * are consulted. Waiting for the breaker or the rate limit delays the job without spending a try
 * (`moveToDelayed`); a failed call spends one and is retried after the backoff, or the API's Retry-After.
 */
export class ActivityWorker {
  readonly #o: ActivityWorkerOptions;
  readonly #workers: Worker[] = [];
  readonly #connections: Redis[] = [];
  readonly #abort = new AbortController();
  readonly #credentials: CredentialSource;
  readonly #settings: SettingsSource;
  readonly #cache: LookupCache;
  readonly #now: () => number;

  constructor(opts: ActivityWorkerOptions) {
    this.#o = opts;
    this.#credentials = opts.credentials ?? credentialSource();
    this.#settings = opts.settings ?? settingsSource();
    this.#cache = new LookupCache(opts.connection, opts.prefix);
    const clock = opts.clock ?? systemClock;
    this.#now = () => clock.now().getTime();
  }

  async start(): Promise<void> {
    for (const connector of this.#o.connectors ?? this.#o.registry.connectors()) {
      // BullMQ does not close connections it is handed: close() disconnects these.
      const connection = this.#o.connection.duplicate();
      this.#connections.push(connection);
      const worker = new Worker(connector, (job: Job<JobData>, token?: string) => this.#run(job, token), {
        connection,
        prefix: this.#o.prefix,
        concurrency: this.#o.concurrency,
        lockDuration: this.#o.lockDurationMs,
        stalledInterval: this.#o.stalledIntervalMs,
        maxStalledCount: 5,
        // jobs are dispatched with backoff { type: 'custom' }: the delay is the activity's policy, or the API's Retry-After
        settings: { backoffStrategy: (attemptsMade: number, _type?: string, err?: Error, job?: MinimalJob) => this.#backoff(attemptsMade, err, job) },
      });
      worker.on('error', (err) => this.#o.logger.error('worker error', { connector, err: err.message }));
      worker.on('failed', (job, err) => {
        if (!job) return;
        this.#o.logger.warn('activity attempt failed', {
          executionId: job.data.executionId,
          activityId: job.data.activityId,
          jobId: job.id,
          activity: job.name,
          attempt: job.attemptsMade,
          err: err.message,
        });
      });
      this.#workers.push(worker);
      await this.#publishStatus(connector).catch((err: Error) => this.#o.logger.warn('connector status not published', { connector, err: err.message }));
    }
    await Promise.all(this.#workers.map((w) => w.waitUntilReady()));
  }

  #backoff(attemptsMade: number, err: Error | undefined, job: MinimalJob | undefined): number {
    const activity = job ? this.#o.registry.get(job.name) : undefined;
    return retryDelay(attemptsMade, err, this.#retryPolicy(activity), this.#o.random);
  }

  #retryPolicy(activity: ActivityDefinition | undefined): RetryPolicy {
    if (!activity) return {};
    return { ...activity.retry, ...this.#settings.forConnector(connectorOf(activity.id), activity.config).retry };
  }

  async #run(job: Job<JobData>, token: string | undefined): Promise<JobResult> {
    const activity = this.#o.registry.get(job.name);
    const attempt = job.attemptsMade + 1;
    if (!activity) throw new UnrecoverableError(`no activity ${job.name} is registered in this worker`);
    const connector = connectorOf(activity.id);
    const logger = this.#o.logger.child({ executionId: job.data.executionId, activityId: job.data.activityId, jobId: job.id });
    const settings = this.#settings.forConnector(connector, activity.config);
    const input = (job.data.input ?? {}) as Record<string, unknown>;

    // The credential exists only in this function's scope: never in job data, results or logs.
    let credential: Credential | null = null;
    const spec = activity.credentialFor(input);
    if (spec) {
      const r = this.#credentials.resolve(spec);
      if (!r.ok) throw new UnrecoverableError(`${activity.id} needs the credential "${spec.name}": set ${r.missing.join(', ')} (or put it in SOAR_SECRETS_FILE)`);
      credential = r.credential;
    }
    const scrub = scrubber(credential ? Object.values(credential) : []);

    const cache = activity.cache && settings.cache !== false ? activity.cache : null;
    const cacheKey = cache?.key(input);
    if (cache && cacheKey !== undefined) {
      const hit = await this.#cache.get(activity.id, cacheKey);
      if (hit.hit) {
        logger.debug('answered from the lookup cache', { activity: activity.id });
        return { ok: true, output: hit.value, attempt };
      }
    }

    const breaker = this.#breaker(connector, activity.breaker, settings);
    if (breaker) {
      const gate = await breaker.acquire();
      if (!gate.allowed) {
        if (breaker.policy.whenOpen === 'wait') {
          logger.info('circuit open: the job waits for half-open', { connector, waitMs: gate.retryInMs });
          await job.moveToDelayed(Date.now() + gate.retryInMs, token);
          throw new DelayedError();
        }
        // a try spent, retried when the breaker lets trial calls through
        throw Object.assign(new Error(`${connector}: circuit open, no call made`), { name: 'RetryableError', retryAfterMs: gate.retryInMs });
      }
    }
    const limiter = this.#limiter(connector, activity.rateLimit, settings);

    const signal = activity.timeoutMs ? AbortSignal.any([this.#abort.signal, AbortSignal.timeout(activity.timeoutMs)]) : this.#abort.signal;
    try {
      const output = await activity.run(input, {
        executionId: job.data.executionId,
        activityId: job.data.activityId,
        jobId: job.id!,
        idempotencyKey: job.id!,
        attempt,
        signal,
        logger,
        credential,
        config: settings.config,
        ...(limiter
          ? {
              beforeRequest: async () => {
                const waitMs = await limiter.take();
                if (waitMs > 0) throw new RateLimitedError(connector, waitMs);
              },
            }
          : {}),
      });
      await breaker?.record(true);
      const clean = scrubDeep(output ?? null, scrub);
      if (cache && cacheKey !== undefined) {
        const negative = cache.isNegative?.(clean as never) ?? false;
        await this.#cache.set(activity.id, cacheKey, clean, negative ? (cache.negativeTtlS ?? 0) : cache.ttlS);
      }
      return { ok: true, output: clean, attempt };
    } catch (err) {
      const e = err as Error & { code?: string; kind?: string };
      if (e.name === 'RateLimitedError') {
        const waitMs = (e as RateLimitedError).retryAfterMs;
        logger.debug('rate limit reached: the job waits', { connector, waitMs });
        await job.moveToDelayed(Date.now() + waitMs, token);
        throw new DelayedError();
      }
      // The breaker counts the API's health: timeouts, connection errors and 5xx are failures;
      // an answer (a 4xx, a business error) shows it is up; a 429 says nothing either way.
      if (breaker) {
        if (e.name === 'RetryableError' && e.kind !== 'rate-limited') await breaker.record(false);
        else if (e.name === 'BpmnError' || e.kind === 'client') await breaker.record(true);
      }
      e.message = scrub(e.message);
      // Classified by name: errors cross process boundaries as plain data.
      if (e.name === 'BpmnError') return { ok: false, error: { name: e.name, message: e.message, ...(e.code ? { code: e.code } : {}) }, attempt };
      if (e.name === 'NonRetryableError') throw new UnrecoverableError(e.message);
      throw e;
    }
  }

  #breaker(connector: string, declared: BreakerPolicy | false | undefined, settings: ConnectorSettings): CircuitBreaker | null {
    if (declared === false || settings.breaker === false) return null;
    return new CircuitBreaker(this.#o.connection, this.#o.prefix, connector, { ...declared, ...settings.breaker }, this.#now);
  }

  #limiter(connector: string, declared: RateLimit | undefined, settings: ConnectorSettings): RateLimiter | null {
    const limit = settings.rateLimit === false ? undefined : (settings.rateLimit ?? declared);
    return limit ? new RateLimiter(this.#o.connection, this.#o.prefix, connector, limit, this.#now) : null;
  }

  /** Whether the connector's credentials are configured here (names of missing variables, no values). */
  async #publishStatus(connector: string): Promise<void> {
    const specs = new Map<string, { name: string; configured: boolean; missing: string[] }>();
    for (const a of this.#o.registry.list()) {
      if (connectorOf(a.id) !== connector || typeof a.credential !== 'object') continue;
      const r = this.#credentials.resolve(a.credential);
      specs.set(a.credential.name, { name: a.credential.name, configured: r.ok, missing: r.ok ? [] : r.missing });
    }
    const status: ConnectorStatus = { credentials: [...specs.values()], at: new Date().toISOString() };
    await this.#o.connection.set(connectorStatusKey(this.#o.prefix, connector), JSON.stringify(status), 'EX', 7 * 24 * 3600);
  }

  /** Lets running activities finish (or aborts them when `force`), then stops taking jobs. */
  async close(force = false): Promise<void> {
    if (force) this.#abort.abort();
    await Promise.all(this.#workers.map((w) => w.close(force)));
    for (const c of this.#connections) c.disconnect();
    this.#abort.abort();
  }
}

/** A copy of `value` with every secret value in its strings redacted. */
function scrubDeep(value: unknown, scrub: (s: string) => string): unknown {
  if (typeof value === 'string') return scrub(value);
  if (Array.isArray(value)) return value.map((v) => scrubDeep(v, scrub));
  if (value && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, scrubDeep(v, scrub)]));
  return value;
}
