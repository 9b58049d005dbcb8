import { randomUUID } from 'node:crypto';
import { Job, QueueEvents } from 'bullmq';
import type { Redis } from 'ioredis';
import type { CredentialSource } from '../../../activities/credentials.ts';
import { connectorOf } from '../../../activities/define.ts';
import type { ActivityRegistry } from '../../../activities/index.ts';
import type { SettingsSource } from '../../../activities/settings.ts';
import { silentLogger, type Logger } from '../../../engine/log.ts';
import type { Clock, JobOutcome } from '../../../engine/ports.ts';
import { BullMqDispatcher } from '../../../engine/queue/dispatcher.ts';
import { redisConnection } from '../../../engine/queue/redis.ts';
import { ActivityWorker } from '../../../engine/queue/worker.ts';
import { clearRedis, REDIS_URL } from '../env.ts';

/** A clock that moves only when told: breaker and rate-limit tests need no sleeps. */
export function manualClock(start = Date.now()): Clock & { advance(ms: number): void; ms(): number } {
  let t = start;
  return { now: () => new Date(t), advance: (ms) => void (t += ms), ms: () => t };
}

export interface Dispatched {
  jobId: string;
  /** The job's final outcome (after its last try), from the queue's events. */
  outcome: Promise<JobOutcome>;
  /** Resolves when the job is moved to the delayed set (a backoff, or a wait), with the job as it is then. */
  delayed(): Promise<Job>;
}

/**
 * The real worker and dispatcher on real Redis under a prefix of their own, for the connectors
 * given: jobs go through BullMQ exactly as the engine sends them.
 */
export async function workerHarness(o: {
  registry: ActivityRegistry;
  credentials: CredentialSource;
  settings: SettingsSource;
  clock?: Clock;
  logger?: Logger;
  attempts?: (activity: string) => number;
}) {
  const prefix = `test-${randomUUID().slice(0, 12)}`;
  const redis: Redis = redisConnection(REDIS_URL);
  const connectors = o.registry.connectors();
  const worker = new ActivityWorker({
    connection: redis,
    prefix,
    registry: o.registry,
    logger: o.logger ?? silentLogger(),
    concurrency: 8,
    lockDurationMs: 30_000,
    stalledIntervalMs: 30_000,
    credentials: o.credentials,
    settings: o.settings,
    ...(o.clock ? { clock: o.clock } : {}),
    random: () => 0,
  });
  const dispatcher = new BullMqDispatcher({
    connection: redis,
    prefix,
    connectors,
    attempts: o.attempts ?? ((id) => o.registry.get(id)?.retry?.attempts ?? 3),
    backoffMs: () => 1000,
    retentionS: 3600,
  });
  const waiting = new Map<string, (x: JobOutcome) => void>();
  dispatcher.onOutcome((jobId, outcome) => waiting.get(jobId)?.(outcome));
  await dispatcher.ready();
  const events = new Map<string, QueueEvents>();
  const eventConnections: Redis[] = [];
  for (const c of connectors) {
    const connection = redis.duplicate();
    eventConnections.push(connection);
    const e = new QueueEvents(c, { connection, prefix });
    e.on('error', () => {});
    await e.waitUntilReady();
    events.set(c, e);
  }
  await worker.start();

  return {
    prefix,
    redis,
    worker,
    dispatcher,
    run(activity: string, input: Record<string, unknown>, jobId = `exec-${randomUUID()}:task:1`): Dispatched {
      const outcome = new Promise<JobOutcome>((r) => waiting.set(jobId, r));
      const queueEvents = events.get(connectorOf(activity))!;
      const delayed = () =>
        new Promise<Job>((resolve) => {
          const on = ({ jobId: id }: { jobId: string }) => {
            if (id !== jobId) return;
            queueEvents.off('delayed', on);
            void Job.fromId(dispatcher.queue(connectorOf(activity)), jobId).then((j) => resolve(j!));
          };
          queueEvents.on('delayed', on);
        });
      void dispatcher.dispatch([{ executionId: 'exec', activityId: 'task', activity, jobId, input, priority: 3 }]);
      return { jobId, outcome, delayed };
    },
    async close() {
      await worker.close();
      await Promise.all([...events.values()].map((e) => e.close()));
      for (const c of eventConnections) c.disconnect();
      await dispatcher.close();
      await clearRedis(prefix);
      await redis.quit();
    },
  };
}
