import { createHmac, randomBytes, randomUUID } from 'node:crypto';
import { Queue, Worker, type Job } from 'bullmq';
import type { Redis } from 'ioredis';
import { SoarError, notFound } from './errors.ts';
import { uuidFrom } from './ids.ts';
import type { Logger } from './log.ts';
import type { DeliveryStatus, Page, WebhookDelivery, WebhookStore, WebhookSubscription } from './ports.ts';

/** The queue of outbound webhook deliveries (its name cannot clash with a connector's). */
export const WEBHOOK_QUEUE = '_webhooks';

/** What subscribers can hear about. */
export const WEBHOOK_EVENTS = [
  'execution.started',
  'execution.waiting_for_approval',
  'execution.completed',
  'execution.failed',
  'execution.cancelled',
  'alert.created',
  'alert.updated',
] as const;

export interface WebhookOptions {
  store: WebhookStore;
  connection: Redis;
  prefix: string;
  logger: Logger;
  /** Tries per delivery, the first included. */
  attempts: number;
  /** First retry delay; doubles on each retry. */
  backoffMs: number;
  timeoutMs: number;
}

/**
 * The signature a delivery carries: `X-Soar-Signature: sha256=<hex>` where hex is the HMAC-SHA256,
 * keyed with the subscription's secret, of `<X-Soar-Timestamp>.<raw body>`.
 */
export function signature(secret: string, timestamp: string, body: string): string {
  return `sha256=${createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex')}`;
}

/** One event's delivery to one subscription: the same id however often the event is fanned out. */
const deliveryId = (eventId: string, subscriptionId: string): string => uuidFrom(`${eventId}:${subscriptionId}`);

const matches = (s: WebhookSubscription, event: string) => s.enabled && (s.events.includes('*') || s.events.includes(event));

/**
 * Outbound webhooks. Events are written to the outbox in the same transaction as what they report
 * (engine/runtime.ts); `pump` fans each out to the subscriptions that want it (one delivery row per
 * subscription, then one BullMQ job per delivery, ids derived from the event), and the worker POSTs
 * it signed, retrying with backoff and recording every attempt.
 */
export class Webhooks {
  readonly #o: WebhookOptions;
  readonly #queue: Queue;
  #worker: Worker | null = null;
  #workerConnection: Redis | null = null;
  #pumping: Promise<void> | null = null;
  #again = false;

  constructor(opts: WebhookOptions) {
    this.#o = opts;
    this.#queue = new Queue(WEBHOOK_QUEUE, { connection: opts.connection, prefix: opts.prefix });
    this.#queue.on('error', () => {});
  }

  /** Creates a subscription; its secret is returned here only. */
  async subscribe(req: { url: string; events: string[] }): Promise<WebhookSubscription> {
    let url: URL;
    try {
      url = new URL(req.url);
    } catch {
      throw new SoarError('BAD_REQUEST', 'url is not an absolute URL', [{ field: 'url', reason: 'not an absolute URL' }]);
    }
    if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new SoarError('BAD_REQUEST', 'url must be http or https', [{ field: 'url', reason: 'http or https only' }]);
    if (url.username || url.password) {
      throw new SoarError('BAD_REQUEST', 'url may not carry a user or password: verify deliveries with the signature instead', [{ field: 'url', reason: 'no credentials in the URL' }]);
    }
    const unknown = req.events.filter((e) => e !== '*' && !(WEBHOOK_EVENTS as readonly string[]).includes(e));
    if (unknown.length || !req.events.length) {
      throw new SoarError('BAD_REQUEST', `unknown events: ${unknown.join(', ') || '(none given)'}`, [{ field: 'events', reason: `one or more of ${WEBHOOK_EVENTS.join(', ')}, or *` }]);
    }
    return this.#o.store.createSubscription({ id: randomUUID(), url: url.toString(), events: [...new Set(req.events)], secret: randomBytes(32).toString('hex'), enabled: true, createdAt: new Date() });
  }

  list(): Promise<WebhookSubscription[]> {
    return this.#o.store.listSubscriptions();
  }

  async get(id: string): Promise<WebhookSubscription> {
    const s = await this.#o.store.getSubscription(id);
    if (!s) throw notFound('webhook subscription', id);
    return s;
  }

  async unsubscribe(id: string): Promise<void> {
    if (!(await this.#o.store.deleteSubscription(id))) throw notFound('webhook subscription', id);
  }

  async deliveries(q: { subscriptionId?: string; status?: DeliveryStatus; limit: number; offset: number }): Promise<Page<WebhookDelivery>> {
    if (q.subscriptionId) await this.get(q.subscriptionId);
    return this.#o.store.listDeliveries(q);
  }

  /** Fans the outbox out to subscriptions; concurrent calls share one run (and ask for another). */
  pump(): Promise<void> {
    if (this.#pumping) {
      this.#again = true;
      return this.#pumping;
    }
    const run = (async () => {
      do {
        this.#again = false;
        await this.#pumpOnce();
      } while (this.#again);
    })()
      .catch((err: Error) => void this.#o.logger.error('webhook fan-out failed; retried on the next sweep', { err: err.message }))
      .finally(() => {
        this.#pumping = null;
        // asked for again after the last check: run again rather than wait for the sweep
        if (this.#again) void this.pump();
      });
    this.#pumping = run;
    return run;
  }

  async #pumpOnce(): Promise<void> {
    for (;;) {
      const events = await this.#o.store.outbox(100);
      if (!events.length) return;
      const subs = await this.#o.store.listSubscriptions();
      const deliveries: WebhookDelivery[] = events.flatMap((e) =>
        subs
          .filter((s) => matches(s, e.event))
          .map((s) => ({ id: deliveryId(e.id, s.id), subscriptionId: s.id, event: e.event, payload: e.payload, status: 'pending' as const, attempts: 0, responseCode: null, lastError: null, createdAt: e.createdAt, deliveredAt: null })),
      );
      // INVARIANT: the delivery rows are written before their jobs are added (outbox order); a
      // job whose row is missing is never added, and a row whose job was lost is re-added later.
      await this.#o.store.fanOut(events.map((e) => e.id), deliveries);
      await this.#enqueue(deliveries.map((d) => d.id));
    }
  }

  /** Adds again the jobs of pending deliveries older than `olderThanMs` (their add may have been lost). */
  async requeuePending(olderThanMs = 60_000): Promise<void> {
    const createdBefore = new Date(Date.now() - olderThanMs);
    for (let offset = 0; ; offset += 500) {
      const page = await this.#o.store.listDeliveries({ status: 'pending', createdBefore, limit: 500, offset });
      await this.#enqueue(page.items.map((d) => d.id));
      if (page.items.length < 500) return;
    }
  }

  async #enqueue(ids: string[]): Promise<void> {
    if (!ids.length) return;
    await this.#queue.addBulk(
      ids.map((id) => ({
        name: 'deliver',
        data: { deliveryId: id },
        opts: {
          jobId: id, // a delivery already queued is not queued twice
          attempts: this.#o.attempts,
          backoff: { type: 'exponential', delay: this.#o.backoffMs },
          removeOnComplete: { age: 24 * 3600 },
          removeOnFail: { age: 7 * 24 * 3600 },
        },
      })),
    );
  }

  /** Starts delivering (worker role). */
  async startWorker(): Promise<void> {
    this.#workerConnection = this.#o.connection.duplicate();
    this.#worker = new Worker(WEBHOOK_QUEUE, (job: Job<{ deliveryId: string }>) => this.#deliver(job), {
      connection: this.#workerConnection,
      prefix: this.#o.prefix,
      concurrency: 16,
    });
    this.#worker.on('error', (err) => this.#o.logger.error('webhook worker error', { err: err.message }));
    await this.#worker.waitUntilReady();
  }

  async #deliver(job: Job<{ deliveryId: string }>): Promise<void> {
    const store = this.#o.store;
    const d = await store.getDelivery(job.data.deliveryId);
    if (!d || d.status === 'delivered') return;
    const sub = await store.getSubscription(d.subscriptionId);
    if (!sub || !sub.enabled) return store.recordAttempt(d.id, { status: 'failed', attempts: d.attempts, responseCode: null, error: 'the subscription was removed or disabled', at: new Date() });
    const attempts = job.attemptsMade + 1;
    const last = attempts >= this.#o.attempts;
    const body = JSON.stringify(d.payload);
    const timestamp = String(Math.floor(Date.now() / 1000));
    let code: number | null = null;
    let error: string | null = null;
    try {
      const res = await fetch(sub.url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'user-agent': 'soar-webhooks/1',
          'x-soar-event': d.event,
          'x-soar-delivery': d.id,
          'x-soar-timestamp': timestamp,
          'x-soar-signature': signature(sub.secret, timestamp, body),
        },
        body,
        signal: AbortSignal.timeout(this.#o.timeoutMs),
        redirect: 'manual',
      });
      code = res.status;
      await res.arrayBuffer().catch(() => undefined);
      if (res.ok) return store.recordAttempt(d.id, { status: 'delivered', attempts, responseCode: code, error: null, at: new Date() });
      error = `answered ${code}`;
    } catch (err) {
      // name the host only: a URL path or query may carry a token
      error = `${(err as Error).name === 'TimeoutError' ? 'timed out' : 'could not connect'} (${new URL(sub.url).host})`;
    }
    await store.recordAttempt(d.id, { status: last ? 'failed' : 'pending', attempts, responseCode: code, error, at: new Date() });
    if (last) this.#o.logger.warn('webhook delivery failed after its last attempt', { deliveryId: d.id, event: d.event, attempts, error });
    throw new Error(error);
  }

  async close(): Promise<void> {
    await this.#pumping;
    await this.#worker?.close();
    this.#workerConnection?.disconnect();
    await this.#queue.close();
  }
}
