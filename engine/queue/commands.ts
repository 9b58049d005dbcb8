import { Queue, Worker } from 'bullmq';
import type { Redis } from 'ioredis';
import { randomUUID } from 'node:crypto';
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
  #subscriber: Redis | null = null;

  constructor(opts: { connection: Redis; prefix: string; concurrency?: number }) {
    this.#connection = opts.connection;
    this.#prefix = opts.prefix;
    this.#concurrency = opts.concurrency ?? 16;
    this.#queue = new Queue(ENGINE_QUEUE, { connection: opts.connection, prefix: opts.prefix });
    this.#queue.on('error', () => {});
  }

  async send(command: EngineCommand, opts: { at?: Date; dedupeId?: string } = {}): Promise<void> {
    const delay = opts.at ? Math.max(0, opts.at.getTime() - Date.now()) : 0;
    await this.#queue.add(command.type, command, {
      // A start is sent once per execution; a wake is a new job unless it names what it is for.
      jobId: command.type === 'start' ? `start-${command.executionId}` : `wake-${opts.dedupeId ?? randomUUID()}`,
      ...(delay > 0 ? { delay } : {}),
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

  get #channel(): string {
    return `${this.#prefix}:${ENGINE_QUEUE}:broadcast`;
  }

  async broadcast(command: EngineCommand): Promise<void> {
    await this.#connection.publish(this.#channel, JSON.stringify(command));
  }

  async onBroadcast(handler: (command: EngineCommand) => void): Promise<void> {
    // A subscribed connection can do nothing else: this one is ours to close.
    this.#subscriber ??= this.#connection.duplicate();
    this.#subscriber.on('message', (channel: string, text: string) => {
      if (channel !== this.#channel) return;
      try {
        handler(JSON.parse(text) as EngineCommand);
      } catch {
        /* not ours */
      }
    });
    await this.#subscriber.subscribe(this.#channel);
  }

  async close(): Promise<void> {
    this.#subscriber?.disconnect();
    await this.#worker?.close();
    this.#workerConnection?.disconnect();
    await this.#queue.close();
  }
}
