import { Job, Queue, QueueEvents, type JobsOptions } from 'bullmq';
import type { Redis } from 'ioredis';
import { connectorOf } from '../../activities/define.ts';
import type { DispatchRequest, Dispatcher, FailureInfo, JobOutcome } from '../ports.ts';

/** What a worker stores as the job's return value. A business error completes the job, marked. */
export type JobResult = ({ ok: true; output: unknown } | { ok: false; error: FailureInfo }) & { attempt: number };

export interface JobData {
  executionId: string;
  activityId: string;
  input: unknown;
}

export interface BullMqDispatcherOptions {
  connection: Redis;
  prefix: string;
  /** Connectors whose outcome events this process listens to. */
  connectors: string[];
  attempts: (activity: string) => number;
  backoffMs: (activity: string) => number;
  /** How long finished jobs are kept: the window in which a resumed execution still finds its results. */
  retentionS: number;
}

/**
 * Service tasks as BullMQ jobs: one queue per connector, the job id chosen by the engine.
 * Outcome events come from QueueEvents (a Redis stream); the job's own state stays the truth.
 */
export class BullMqDispatcher implements Dispatcher {
  readonly #o: BullMqDispatcherOptions;
  readonly #queues = new Map<string, Queue>();
  readonly #events: QueueEvents[] = [];
  readonly #eventConnections: Redis[] = [];
  readonly #listeners: Array<(jobId: string, outcome: JobOutcome) => void> = [];

  constructor(opts: BullMqDispatcherOptions) {
    this.#o = opts;
  }

  queue(connector: string): Queue {
    let q = this.#queues.get(connector);
    if (!q) {
      q = new Queue(connector, { connection: this.#o.connection, prefix: this.#o.prefix });
      q.on('error', () => {});
      this.#queues.set(connector, q);
    }
    return q;
  }

  async dispatch(requests: DispatchRequest[]): Promise<void> {
    const byQueue = new Map<string, DispatchRequest[]>();
    for (const r of requests) {
      const c = connectorOf(r.activity);
      const list = byQueue.get(c);
      if (list) list.push(r);
      else byQueue.set(c, [r]);
    }
    await Promise.all(
      [...byQueue].map(([connector, reqs]) => {
        const queue = this.queue(connector);
        // one job is one script call; addBulk wraps even one in MULTI/EXEC
        if (reqs.length === 1) return queue.add(reqs[0]!.activity, this.#data(reqs[0]!), this.#opts(reqs[0]!));
        return queue.addBulk(reqs.map((r) => ({ name: r.activity, data: this.#data(r), opts: this.#opts(r) })));
      }),
    );
  }

  #data(r: DispatchRequest): JobData {
    return { executionId: r.executionId, activityId: r.activityId, input: r.input };
  }

  #opts(r: DispatchRequest): JobsOptions {
    return {
      jobId: r.jobId,
      attempts: this.#o.attempts(r.activity),
      // the worker's backoffStrategy computes the delay: the activity's policy with jitter, or the API's Retry-After
      backoff: { type: 'custom', delay: this.#o.backoffMs(r.activity) },
      removeOnComplete: { age: this.#o.retentionS },
      removeOnFail: { age: this.#o.retentionS },
      // BullMQ runs lower numbers sooner, and jobs with none before all others: always set one.
      priority: Math.min(Math.max(r.priority, 1), 2_097_152),
    };
  }

  async inspect(job: { jobId: string; activity: string }): Promise<JobOutcome> {
    const found = await Job.fromId(this.queue(connectorOf(job.activity)), job.jobId);
    if (!found) return { status: 'missing' };
    const state = await found.getState();
    if (state === 'completed') return fromResult(found.returnvalue as JobResult, found.attemptsMade);
    if (state === 'failed') return failed(found.failedReason, found.attemptsMade);
    return { status: 'pending' };
  }

  async cancel(job: { jobId: string; activity: string }): Promise<boolean> {
    const found = await Job.fromId(this.queue(connectorOf(job.activity)), job.jobId);
    if (!found) return false;
    try {
      await found.remove(); // refused while a worker holds the job's lock
      return true;
    } catch {
      return false;
    }
  }

  onOutcome(listener: (jobId: string, outcome: JobOutcome) => void): void {
    this.#listeners.push(listener);
    if (this.#events.length) return;
    for (const connector of this.#o.connectors) {
      // BullMQ does not close connections it is handed: close() disconnects this one.
      const connection = this.#o.connection.duplicate();
      this.#eventConnections.push(connection);
      const events = new QueueEvents(connector, { connection, prefix: this.#o.prefix });
      events.on('error', () => {});
      events.on('completed', ({ jobId, returnvalue }) => {
        this.#emit(jobId, fromResult(returnvalue as unknown as JobResult, 0));
      });
      events.on('failed', ({ jobId, failedReason }) => {
        // only after the last attempt; read the job for the attempt count
        void Job.fromId(this.queue(connector), jobId).then(
          (job) => this.#emit(jobId, failed(failedReason, job?.attemptsMade ?? 0)),
          () => this.#emit(jobId, failed(failedReason, 0)),
        );
      });
      this.#events.push(events);
    }
  }

  #emit(jobId: string, outcome: JobOutcome): void {
    for (const l of this.#listeners) l(jobId, outcome);
  }

  async ready(): Promise<void> {
    await Promise.all(this.#events.map((e) => e.waitUntilReady()));
  }

  async close(): Promise<void> {
    await Promise.all(this.#events.map((e) => e.close()));
    for (const c of this.#eventConnections) c.disconnect();
    await Promise.all([...this.#queues.values()].map((q) => q.close()));
  }
}

function fromResult(result: JobResult | undefined, attempts: number): JobOutcome {
  if (result && typeof result === 'object' && 'ok' in result) {
    const n = result.attempt ?? Math.max(attempts, 1);
    return result.ok ? { status: 'completed', output: result.output, attempts: n } : { status: 'failed', error: result.error, attempts: n };
  }
  return { status: 'completed', output: result ?? null, attempts: Math.max(attempts, 1) };
}

function failed(reason: string | undefined, attempts: number): JobOutcome {
  return { status: 'failed', error: { name: 'ActivityFailed', message: reason || 'the activity failed' }, attempts };
}
