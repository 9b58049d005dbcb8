import { UnrecoverableError, Worker, type Job } from 'bullmq';
import type { Redis } from 'ioredis';
import type { ActivityRegistry } from '../../activities/index.ts';
import type { Logger } from '../log.ts';
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
}

/**
 * The worker role: runs connector activities from their queues. Delivery is at least once, so an
 * activity receives a stable idempotency key (the job id) to pass to APIs that honour one.
 */
export class ActivityWorker {
  readonly #o: ActivityWorkerOptions;
  readonly #workers: Worker[] = [];
  readonly #connections: Redis[] = [];
  readonly #abort = new AbortController();

  constructor(opts: ActivityWorkerOptions) {
    this.#o = opts;
  }

  async start(): Promise<void> {
    for (const connector of this.#o.connectors ?? this.#o.registry.connectors()) {
      // BullMQ does not close connections it is handed: close() disconnects these.
      const connection = this.#o.connection.duplicate();
      this.#connections.push(connection);
      const worker = new Worker(connector, (job: Job<JobData>) => this.#run(job), {
        connection,
        prefix: this.#o.prefix,
        concurrency: this.#o.concurrency,
        lockDuration: this.#o.lockDurationMs,
        stalledInterval: this.#o.stalledIntervalMs,
        maxStalledCount: 5,
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
    }
    await Promise.all(this.#workers.map((w) => w.waitUntilReady()));
  }

  async #run(job: Job<JobData>): Promise<JobResult> {
    const activity = this.#o.registry.get(job.name);
    const attempt = job.attemptsMade + 1;
    if (!activity) throw new UnrecoverableError(`no activity ${job.name} is registered in this worker`);
    const logger = this.#o.logger.child({ executionId: job.data.executionId, activityId: job.data.activityId, jobId: job.id });
    const signal = activity.timeoutMs ? AbortSignal.any([this.#abort.signal, AbortSignal.timeout(activity.timeoutMs)]) : this.#abort.signal;
    try {
      const output = await activity.run((job.data.input ?? {}) as Record<string, unknown>, {
        executionId: job.data.executionId,
        activityId: job.data.activityId,
        jobId: job.id!,
        idempotencyKey: job.id!,
        attempt,
        signal,
        logger,
      });
      return { ok: true, output: output ?? null, attempt };
    } catch (err) {
      const e = err as Error & { code?: string };
      // Classified by name: errors cross process boundaries as plain data.
      if (e.name === 'BpmnError') return { ok: false, error: { name: e.name, message: e.message, ...(e.code ? { code: e.code } : {}) }, attempt };
      if (e.name === 'NonRetryableError') throw new UnrecoverableError(e.message);
      throw e;
    }
  }

  /** Lets running activities finish (or aborts them when `force`), then stops taking jobs. */
  async close(force = false): Promise<void> {
    if (force) this.#abort.abort();
    await Promise.all(this.#workers.map((w) => w.close(force)));
    for (const c of this.#connections) c.disconnect();
    this.#abort.abort();
  }
}
