import { createHash, randomUUID } from 'node:crypto';
import { SoarError, notFound } from '../errors.ts';
import type { Correlation } from '../deliveries.ts';
import type { Executions } from '../executions.ts';
import { compileExpression, evaluate, type EvaluateOptions } from '../expr/jsonata.ts';
import type { Logger } from '../log.ts';
import { uuidFrom } from '../ids.ts';
import type { Clock, ExecutionStatus, OutboxEvent, Page } from '../ports.ts';
import { alertDocument, alertRecord, type AlertInput, type AlertUpdate, type EventDocument } from './model.ts';
import type { AlertQuery, AlertRecord, AlertStartRecord, AlertStore, EventQuery, EventRecord, HookDeliveryRecord, TriggerRecord } from './ports.ts';

/** The BPMN message an alert's update is correlated as, with the alert id as correlation key. */
export const ALERT_UPDATED_MESSAGE = 'alert-updated';

/** An execution an alert started. */
export interface AlertExecution {
  executionId: string;
  workflowKey: string;
  triggerId: string;
  status: ExecutionStatus | 'starting';
}

export interface AlertsOptions {
  store: AlertStore;
  executions: Executions;
  /** Delivers the alert-updated message (Deliveries.correlate). */
  correlate(name: string, correlationKey: string, payload: Record<string, unknown>): Promise<Correlation>;
  /** Reads an execution's status, for the executions an alert started. */
  executionStatus(id: string): Promise<ExecutionStatus | null>;
  logger: Logger;
  clock: Clock;
  expressionLimits: EvaluateOptions;
  /** How often the sweep matches alerts whose matching a crash interrupted (engine role only). */
  sweepMs?: number;
  /** Tells webhook subscribers (alert.created, alert.updated); after the alert is written, not with it. */
  publish?(events: OutboxEvent[]): Promise<void>;
}

/** An unmatched alert is left this long to the process that accepted it before the sweep takes it. */
const MATCH_GRACE_MS = 5_000;
/** A claim with no execution this long after it is taken to have lost its start to a crash. */
const START_GRACE_MS = 60_000;

/**
 * Events, alerts and trigger rules. An alert is stored first and answered; its trigger rules are
 * matched right after (not awaited by the caller), and `matchedAt` records that they were. An alert
 * accepted just before a crash is matched by the sweep of any engine process.
 *
 * INVARIANT: a playbook start is claimed in the database (unique trigger + dedup key) before the
 * execution is created, so a duplicate alert (concurrent, replayed, after a restart) starts it once.
 */
export class Alerts {
  readonly #o: AlertsOptions;
  readonly #running = new Set<Promise<unknown>>();
  #timer: NodeJS.Timeout | null = null;
  #sweeping = false;
  #sweepChain: Promise<void> = Promise.resolve();
  #closed = false;

  constructor(opts: AlertsOptions) {
    this.#o = opts;
  }

  // ---- events

  async createEvents(docs: EventDocument[]): Promise<EventRecord[]> {
    const now = this.#o.clock.now();
    const records = docs.map((d) => ({
      id: d.id,
      timestamp: new Date(d.timestamp),
      severity: d.event.severity ?? null,
      eventType: d.event.type ?? null,
      sourceIp: d.source?.ip ?? null,
      body: d as Record<string, unknown>,
      receivedAt: now,
    }));
    await this.#o.store.createEvents(records);
    return records;
  }

  async getEvent(id: string): Promise<EventRecord> {
    const e = await this.#o.store.getEvent(id);
    if (!e) throw notFound('event', id);
    return e;
  }

  listEvents(q: EventQuery): Promise<Page<EventRecord>> {
    return this.#o.store.listEvents(q);
  }

  // ---- alerts

  /**
   * Stores an alert and starts the matching of its trigger rules. An alert with the id of an
   * existing one is that one (created: false), and starts nothing.
   */
  async createAlert(input: AlertInput): Promise<{ created: boolean; alert: AlertRecord }> {
    const r = await this.#o.store.createAlert(alertRecord(input, input.id ?? randomUUID(), this.#o.clock.now()));
    if (r.created) {
      this.#matchSoon(r.alert);
      await this.#announce('alert.created', r.alert);
    }
    return r;
  }

  /** Stores a webhook delivery with its alert; `replayed` when the delivery id was seen. */
  async acceptDelivery(delivery: Omit<HookDeliveryRecord, 'id' | 'outcome' | 'reason' | 'alertId' | 'receivedAt'>, input: AlertInput, signature: string) {
    const now = this.#o.clock.now();
    const alert = alertRecord(input, input.id ?? randomUUID(), now);
    const replayKey = `sig:${createHash('sha256').update(signature).digest('hex')}`;
    const r = await this.#o.store.acceptDelivery({ ...delivery, id: randomUUID(), outcome: 'accepted', reason: null, alertId: alert.id, receivedAt: now }, alert, replayKey);
    if (!r.replayed && r.created) {
      this.#matchSoon(r.alert);
      await this.#announce('alert.created', r.alert);
    }
    return r;
  }

  /** Records a refused webhook delivery (audit). Never throws: the refusal is answered regardless. */
  async rejectDelivery(hook: string, claimedDeliveryId: string | null, reason: string, remoteIp: string | null): Promise<void> {
    this.#o.logger.warn('webhook delivery refused', { hook, deliveryId: claimedDeliveryId, reason, remoteIp });
    await this.#o.store
      .recordRejected({
        id: randomUUID(),
        hook,
        // the claimed id is not trusted: storing it under its own name would let a forger burn it
        deliveryId: `rejected:${randomUUID()}`,
        outcome: 'rejected',
        reason: `${reason}${claimedDeliveryId ? ` (delivery ${claimedDeliveryId.slice(0, 200)})` : ''}`,
        alertId: null,
        remoteIp,
        receivedAt: this.#o.clock.now(),
      })
      .catch((err: Error) => this.#o.logger.error('could not record a refused webhook delivery', { hook, err: err.message }));
  }

  async #announce(event: 'alert.created' | 'alert.updated', alert: AlertRecord): Promise<void> {
    if (!this.#o.publish) return;
    const now = this.#o.clock.now();
    const id = randomUUID();
    await this.#o
      .publish([{ id, event, createdAt: now, payload: { id, event, occurred_at: now.toISOString(), alert: alertDocument(alert) } }])
      .catch((err: Error) => this.#o.logger.warn('could not publish an alert event to webhook subscribers', { alertId: alert.id, err: err.message }));
  }

  async getAlert(id: string): Promise<{ alert: AlertRecord; executions: AlertExecution[] }> {
    const alert = await this.#o.store.getAlert(id);
    if (!alert) throw notFound('alert', id);
    const starts = await this.#o.store.startsOf(id);
    const executions = await Promise.all(
      starts.map(async (s) => ({
        executionId: s.executionId ?? '',
        workflowKey: s.workflowKey,
        triggerId: s.triggerId,
        status: s.executionId ? ((await this.#o.executionStatus(s.executionId)) ?? 'starting') : ('starting' as const),
      })),
    );
    return { alert, executions };
  }

  listAlerts(q: AlertQuery): Promise<Page<AlertRecord>> {
    return this.#o.store.listAlerts(q);
  }

  /**
   * Updates an alert, then tells the executions waiting on it: the message `alert-updated` with the
   * alert id as correlation key and `{ alert }` as payload. Nobody waiting is not an error.
   */
  async updateAlert(id: string, u: AlertUpdate): Promise<AlertRecord> {
    const alert = await this.#o.store.updateAlert(
      id,
      {
        ...(u.status ? { status: u.status } : {}),
        ...(u.severity ? { severity: u.severity } : {}),
        ...(u.assigned_to !== undefined ? { assignedTo: u.assigned_to } : {}),
        ...(u.tags ? { tags: u.tags } : {}),
        ...(u.notes !== undefined ? { details: { notes: u.notes } } : {}),
      },
      this.#o.clock.now(),
    );
    if (!alert) throw notFound('alert', id);
    await this.#announce('alert.updated', alert);
    try {
      await this.#o.correlate(ALERT_UPDATED_MESSAGE, id, { alert: alertDocument(alert) });
    } catch (err) {
      if (!(err instanceof SoarError && err.code === 'NOT_FOUND')) {
        this.#o.logger.warn('could not deliver an alert update to its executions', { alertId: id, err: (err as Error).message });
      }
    }
    return alert;
  }

  async bulkUpdate(ids: string[], u: AlertUpdate): Promise<{ updated: number; errors: Array<{ alert_id: string; code: string; message: string }> }> {
    const errors: Array<{ alert_id: string; code: string; message: string }> = [];
    let updated = 0;
    for (const id of [...new Set(ids)]) {
      try {
        await this.updateAlert(id, u);
        updated++;
      } catch (err) {
        if (!(err instanceof SoarError)) this.#o.logger.error('bulk alert update failed', { alertId: id, err: (err as Error).message });
        // an unexpected error's text may hold internals (paths, SQL): it is logged, not answered
        const e = err instanceof SoarError ? err : new SoarError('INTERNAL', 'the alert could not be updated');
        errors.push({ alert_id: id, code: e.code, message: e.message });
      }
    }
    return { updated, errors };
  }

  // ---- trigger rules

  async createTrigger(t: { name: string; workflow_key: string; condition: string; enabled: boolean; dedup_window_s: number }): Promise<TriggerRecord> {
    checkCondition(t.condition);
    const now = this.#o.clock.now();
    return this.#o.store.createTrigger({ id: randomUUID(), name: t.name, workflowKey: t.workflow_key, condition: t.condition, enabled: t.enabled, dedupWindowS: t.dedup_window_s, createdAt: now, updatedAt: now });
  }

  async getTrigger(id: string): Promise<TriggerRecord> {
    const t = await this.#o.store.getTrigger(id);
    if (!t) throw notFound('trigger', id);
    return t;
  }

  listTriggers(q: { enabled?: boolean; limit: number; offset: number }): Promise<Page<TriggerRecord>> {
    return this.#o.store.listTriggers(q);
  }

  async updateTrigger(id: string, p: { name?: string; workflow_key?: string; condition?: string; enabled?: boolean; dedup_window_s?: number }): Promise<TriggerRecord> {
    if (p.condition !== undefined) checkCondition(p.condition);
    const t = await this.#o.store.updateTrigger(
      id,
      {
        ...(p.name !== undefined ? { name: p.name } : {}),
        ...(p.workflow_key !== undefined ? { workflowKey: p.workflow_key } : {}),
        ...(p.condition !== undefined ? { condition: p.condition } : {}),
        ...(p.enabled !== undefined ? { enabled: p.enabled } : {}),
        ...(p.dedup_window_s !== undefined ? { dedupWindowS: p.dedup_window_s } : {}),
      },
      this.#o.clock.now(),
    );
    if (!t) throw notFound('trigger', id);
    return t;
  }

  async deleteTrigger(id: string): Promise<void> {
    if (!(await this.#o.store.deleteTrigger(id))) throw notFound('trigger', id);
  }

  // ---- matching

  /** Matches an alert's trigger rules and starts their playbooks; returns the executions started. */
  async match(alert: AlertRecord): Promise<string[]> {
    const doc = alertDocument(alert);
    const started: string[] = [];
    const triggers = await this.#enabledTriggers();
    for (const t of triggers) {
      let hit: unknown;
      try {
        hit = await evaluate(t.condition, doc, this.#o.expressionLimits);
      } catch (err) {
        this.#o.logger.warn('trigger condition failed; the trigger is skipped for this alert', { triggerId: t.id, alertId: alert.id, err: (err as Error).message });
        continue;
      }
      if (hit !== true) continue;
      const bucket = t.dedupWindowS > 0 ? `@${Math.floor(alert.createdAt.getTime() / (t.dedupWindowS * 1000))}` : '';
      const claim: AlertStartRecord = { id: randomUUID(), alertId: alert.id, triggerId: t.id, workflowKey: t.workflowKey, dedupKey: alert.dedupKey + bucket, executionId: null, createdAt: this.#o.clock.now() };
      if (!(await this.#o.store.claimStart(claim))) {
        this.#o.logger.info('duplicate alert: the playbook was started for it already', { triggerId: t.id, alertId: alert.id, dedupKey: claim.dedupKey });
        continue;
      }
      const id = await this.#start(claim, doc);
      if (id) started.push(id);
    }
    await this.#o.store.markMatched(alert.id, this.#o.clock.now());
    return started;
  }

  async #start(claim: AlertStartRecord, doc: Record<string, unknown>): Promise<string | null> {
    try {
      const severity = doc.severity;
      const priority = severity === 'critical' ? 1 : severity === 'high' ? 2 : 3;
      // the execution's id is derived from the claim: two sweeps, or a retry after a crash, start it once
      const id = uuidFrom(`alert-start:${claim.id}`);
      const { execution } = await this.#o.executions
        .start(claim.workflowKey, { alert: doc }, priority, { kind: 'alert', alertId: claim.alertId, triggerId: claim.triggerId }, id)
        .catch(async (err: unknown) => {
          const started = await this.#o.executions.get(id).catch(() => null); // a concurrent start won the insert
          if (started) return { execution: started };
          throw err;
        });
      await this.#o.store.setStartExecution(claim.id, execution.id);
      this.#o.logger.info('alert started a playbook', { alertId: claim.alertId, triggerId: claim.triggerId, workflow: claim.workflowKey, executionId: execution.id });
      return execution.id;
    } catch (err) {
      if (err instanceof SoarError && err.code === 'NOT_FOUND') {
        // the trigger names a playbook that is not deployed: nothing to retry
        this.#o.logger.warn('trigger names no deployed playbook', { triggerId: claim.triggerId, workflow: claim.workflowKey, alertId: claim.alertId });
        await this.#o.store.dropStart(claim.id);
        return null;
      }
      throw err; // the claim stays; the sweep starts it
    }
  }

  async #enabledTriggers(): Promise<TriggerRecord[]> {
    const out: TriggerRecord[] = [];
    for (let offset = 0; ; offset += 500) {
      const page = await this.#o.store.listTriggers({ enabled: true, limit: 500, offset });
      out.push(...page.items);
      if (page.items.length < 500) return out;
    }
  }

  #matchSoon(alert: AlertRecord): void {
    const p = this.match(alert)
      .catch((err: Error) => this.#o.logger.error('matching an alert failed; the sweep retries', { alertId: alert.id, err: err.message }))
      .finally(() => this.#running.delete(p));
    this.#running.add(p);
  }

  /**
   * Matches alerts that a crash left unmatched, and starts claims that a crash left unstarted.
   * Sweeps run one at a time; a call during one runs after it.
   */
  sweep(): Promise<void> {
    const next = this.#sweepChain.then(() => this.#sweepOnce());
    this.#sweepChain = next;
    return next;
  }

  async #sweepOnce(): Promise<void> {
    if (this.#closed) return;
    this.#sweeping = true;
    try {
      const now = this.#o.clock.now().getTime();
      for (const alert of await this.#o.store.unmatchedAlerts(new Date(now - MATCH_GRACE_MS), 100)) await this.match(alert);
      for (const claim of await this.#o.store.unstartedClaims(new Date(now - START_GRACE_MS), 100)) {
        const alert = await this.#o.store.getAlert(claim.alertId);
        if (alert) await this.#start(claim, alertDocument(alert));
        else await this.#o.store.dropStart(claim.id);
      }
    } catch (err) {
      this.#o.logger.warn('alert sweep failed', { err: (err as Error).message });
    } finally {
      this.#sweeping = false;
    }
  }

  /** Runs the sweep now and every `sweepMs`. */
  startSweeping(): void {
    if (!this.#o.sweepMs || this.#timer) return;
    void this.sweep();
    this.#timer = setInterval(() => {
      if (!this.#sweeping) void this.sweep();
    }, this.#o.sweepMs);
    this.#timer.unref();
  }

  /** Waits for the matching in flight (tests, benchmarks, graceful shutdown). */
  async idle(): Promise<void> {
    while (this.#running.size) await Promise.all([...this.#running]);
  }

  async close(): Promise<void> {
    this.#closed = true;
    if (this.#timer) clearInterval(this.#timer);
    await this.#sweepChain;
    await this.idle();
  }
}

/** Refuses a condition that is not valid jsonata (400, with jsonata's message and position). */
function checkCondition(condition: string): void {
  try {
    compileExpression(condition);
  } catch (err) {
    throw new SoarError('BAD_REQUEST', `the trigger condition is not valid jsonata: ${(err as Error).message}`, [{ field: 'condition', reason: (err as Error).message }]);
  }
}
