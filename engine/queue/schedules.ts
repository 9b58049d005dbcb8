import { Queue, Worker } from 'bullmq';
import type { Redis } from 'ioredis';
import type { StartEventInfo } from '../bpmn/describe.ts';
import type { Logger } from '../log.ts';

/** The queue of timer start ticks; its name cannot clash with a connector's (they have no `_`). */
export const SCHEDULE_QUEUE = '_schedules';

export interface Tick {
  key: string;
  startEventId: string;
}

/** How a timer start event repeats, in BullMQ's terms; or why it cannot be scheduled. */
export type Repeat =
  | { kind: 'every'; every: number; limit?: number; startDate?: Date }
  | { kind: 'cron'; pattern: string }
  | { kind: 'once'; at: Date }
  | { kind: 'invalid'; reason: string };

const DURATION = /^P(?:(\d+(?:\.\d+)?)W)?(?:(\d+(?:\.\d+)?)D)?(?:T(?:(\d+(?:\.\d+)?)H)?(?:(\d+(?:\.\d+)?)M)?(?:(\d+(?:\.\d+)?)S)?)?$/;

/** An ISO 8601 duration (weeks, days, hours, minutes, seconds) in ms, or undefined. */
export function durationMs(text: string): number | undefined {
  const m = DURATION.exec(text.trim());
  if (!m || text.trim() === 'P' || text.trim().endsWith('T')) return undefined;
  const [w, d, h, min, s] = m.slice(1).map((x) => Number(x ?? 0)) as [number, number, number, number, number];
  const ms = ((((w * 7 + d) * 24 + h) * 60 + min) * 60 + s) * 1000;
  return ms > 0 ? ms : undefined;
}

/**
 * Reads a timer start event: `timeCycle` as ISO 8601 repeating intervals (`R/PT1H`, `R5/PT10M`,
 * `R/2026-12-01T08:00:00Z/P1D`) or a cron expression (`0 8 * * 1-5`); `timeDate` as one date;
 * `timeDuration` as once, that long after deployment.
 */
export function repeatOf(timer: NonNullable<StartEventInfo['timer']>, deployedAt: Date): Repeat {
  if (timer.cycle) {
    const c = timer.cycle;
    if (c.startsWith('R')) {
      const parts = c.split('/');
      const n = parts[0]!.slice(1);
      const limit = n === '' ? undefined : Number(n);
      if (limit !== undefined && (!Number.isInteger(limit) || limit < 1)) return { kind: 'invalid', reason: `the repeat count of ${c} is not a positive integer` };
      const period = parts.length === 3 ? parts[2]! : parts[1];
      const start = parts.length === 3 ? new Date(parts[1]!) : undefined;
      const every = period ? durationMs(period) : undefined;
      if (!every) return { kind: 'invalid', reason: `${c} has no ISO 8601 duration as its period` };
      if (start && Number.isNaN(start.getTime())) return { kind: 'invalid', reason: `${c} has no valid start date` };
      return { kind: 'every', every, ...(limit ? { limit } : {}), ...(start ? { startDate: start } : {}) };
    }
    const fields = c.trim().split(/\s+/);
    if (fields.length >= 5 && fields.length <= 6) return { kind: 'cron', pattern: c.trim() };
    return { kind: 'invalid', reason: `timeCycle ${c} is neither an ISO 8601 repeating interval (R/PT1H) nor a cron expression` };
  }
  if (timer.date) {
    const at = new Date(timer.date);
    return Number.isNaN(at.getTime()) ? { kind: 'invalid', reason: `timeDate ${timer.date} is not an ISO 8601 date` } : { kind: 'once', at };
  }
  if (timer.duration) {
    const ms = durationMs(timer.duration);
    return ms ? { kind: 'once', at: new Date(deployedAt.getTime() + ms) } : { kind: 'invalid', reason: `timeDuration ${timer.duration} is not an ISO 8601 duration` };
  }
  return { kind: 'invalid', reason: 'the timer has no timeCycle, timeDate or timeDuration' };
}

/**
 * Timer start events as BullMQ job schedulers: one scheduler per (workflow key, start event),
 * shared by every engine process, so each tick starts exactly one execution however many engines
 * run. Deploying a new version replaces the schedule; a version without the timer removes it.
 */
export class Schedules {
  readonly #queue: Queue;
  readonly #connection: Redis;
  readonly #prefix: string;
  readonly #logger: Logger;
  #worker: Worker | null = null;
  #workerConnection: Redis | null = null;

  constructor(opts: { connection: Redis; prefix: string; logger: Logger }) {
    this.#connection = opts.connection;
    this.#prefix = opts.prefix;
    this.#logger = opts.logger;
    this.#queue = new Queue(SCHEDULE_QUEUE, { connection: opts.connection, prefix: opts.prefix });
    this.#queue.on('error', () => {});
  }

  /** Makes the schedules of `key` those of its latest version's timer start events. */
  async sync(key: string, starts: readonly StartEventInfo[], deployedAt: Date): Promise<void> {
    const wanted = new Map<string, StartEventInfo>();
    for (const s of starts) if (s.kind === 'timer' && s.timer) wanted.set(`timer-${key}-${s.id}`, s);
    const existing = await this.#queue.getJobSchedulers(0, -1);
    for (const sch of existing) {
      const id = sch.key;
      if (id.startsWith(`timer-${key}-`) && !wanted.has(id)) await this.#queue.removeJobScheduler(id);
    }
    for (const [id, s] of wanted) {
      const repeat = repeatOf(s.timer!, deployedAt);
      const data: Tick = { key, startEventId: s.id };
      if (repeat.kind === 'invalid') {
        this.#logger.warn('timer start event not scheduled', { workflow: key, activityId: s.id, reason: repeat.reason });
        continue;
      }
      if (repeat.kind === 'once') {
        if (repeat.at.getTime() < Date.now()) continue;
        await this.#queue.add('tick', data, { jobId: `${id}-${repeat.at.getTime()}`, delay: repeat.at.getTime() - Date.now(), removeOnComplete: { age: 3600 }, removeOnFail: { age: 24 * 3600 } });
        continue;
      }
      const opts =
        repeat.kind === 'cron'
          ? { pattern: repeat.pattern }
          : { every: repeat.every, ...(repeat.limit ? { limit: repeat.limit } : {}), ...(repeat.startDate ? { startDate: repeat.startDate } : {}) };
      await this.#queue.upsertJobScheduler(id, opts, { name: 'tick', data, opts: { removeOnComplete: { age: 3600 }, removeOnFail: { age: 24 * 3600 } } });
    }
  }

  /** Starts taking ticks (engine role): each tick is handled by exactly one process. */
  async consume(handler: (tick: Tick) => Promise<void>): Promise<void> {
    this.#workerConnection = this.#connection.duplicate();
    this.#worker = new Worker(SCHEDULE_QUEUE, async (job) => handler(job.data as Tick), { connection: this.#workerConnection, prefix: this.#prefix, concurrency: 4 });
    this.#worker.on('error', () => {});
    await this.#worker.waitUntilReady();
  }

  async close(): Promise<void> {
    await this.#worker?.close();
    this.#workerConnection?.disconnect();
    await this.#queue.close();
  }
}
