import { Queue, Worker } from 'bullmq';
import type { Redis } from 'ioredis';
import type { CommandBus, EngineCommand } from '../ports.ts';

/** The queue every engine process consumes; its name cannot clash with a connector's (they have no `_`). */
export const ENGINE_QUEUE = '_engine';

/** Engine commands over BullMQ: each command is taken by exactly one engine process. */
export class BullMqCommandBus implements CommandBus {
  readonly #connection: Redis;
  readonly #prefix: string;
  readonly #concurrency: number;
  readonly #queue: Queue;
  #worker: Worker | null = null;
  #workerConnection: Redis | null = null;

  constructor(opts: { connection: Redis; prefix: string; concurrency?: number }) {
    this.#connection = opts.connection;
    this.#prefix = opts.prefix;
    this.#concurrency = opts.concurrency ?? 16;
    this.#queue = new Queue(ENGINE_QUEUE, { connection: opts.connection, prefix: opts.prefix });
    this.#queue.on('error', () => {});
  }

  async send(command: EngineCommand): Promise<void> {
    await this.#queue.add(command.type, command, {
      jobId: `${command.type}-${command.executionId}`,
      removeOnComplete: { age: 3600 },
      removeOnFail: { age: 24 * 3600 },
      attempts: 5,
      backoff: { type: 'exponential', delay: 200 },
    });
  }

  async consume(handler: (command: EngineCommand) => Promise<void>): Promise<void> {
    // BullMQ does not close connections it is handed: this one is ours to close.
    this.#workerConnection = this.#connection.duplicate();
    this.#worker = new Worker(ENGINE_QUEUE, async (job) => handler(job.data as EngineCommand), {
      connection: this.#workerConnection,
      prefix: this.#prefix,
      concurrency: this.#concurrency,
    });
    this.#worker.on('error', () => {});
    await this.#worker.waitUntilReady();
  }

  async close(): Promise<void> {
    await this.#worker?.close();
    this.#workerConnection?.disconnect();
    await this.#queue.close();
  }
}
