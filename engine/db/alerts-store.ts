import { randomUUID } from 'node:crypto';
import type { Db } from './client.ts';
import { SoarError } from '../errors.ts';
import type { Page } from '../ports.ts';
import type {
  AlertPatch,
  AlertQuery,
  AlertRecord,
  AlertStartRecord,
  AlertStatus,
  AlertStore,
  EventQuery,
  EventRecord,
  HookDeliveryRecord,
  Severity,
  TriggerRecord,
} from '../alerts/ports.ts';

/** Prisma's error for a unique constraint that failed. */
const isUnique = (err: unknown) => (err as { code?: string }).code === 'P2002';

type EventRow = { id: string; timestamp: Date; severity: string | null; eventType: string | null; sourceIp: string | null; body: string; receivedAt: Date };
type AlertRow = {
  id: string;
  title: string;
  severity: string;
  status: string;
  source: string | null;
  assignedTo: string | null;
  tags: string;
  dedupKey: string;
  body: string;
  createdAt: Date;
  updatedAt: Date;
  matchedAt: Date | null;
};

const toEvent = (r: EventRow): EventRecord => ({ ...r, body: JSON.parse(r.body) as Record<string, unknown> });
const eventRow = (e: EventRecord): EventRow => ({ ...e, body: JSON.stringify(e.body) });
const toAlert = (r: AlertRow): AlertRecord => {
  const { body, tags, ...rest } = r;
  return { ...rest, severity: r.severity as Severity, status: r.status as AlertStatus, tags: JSON.parse(tags) as string[], details: JSON.parse(body) as Record<string, unknown> };
};
const alertRow = (a: AlertRecord): AlertRow => {
  const { details, tags, ...rest } = a;
  return { ...rest, tags: JSON.stringify(tags), body: JSON.stringify(details) };
};

/** Alerts, events, trigger rules and webhook deliveries on Prisma (SQLite and PostgreSQL, one code path). */
export class PrismaAlertStore implements AlertStore {
  readonly #db: Db;

  constructor(db: Db) {
    this.#db = db;
  }

  async createEvents(events: EventRecord[]): Promise<void> {
    try {
      await this.#db.$transaction(async (tx) => {
        for (const e of events) await tx.event.create({ data: eventRow(e) });
      });
    } catch (err) {
      if (!isUnique(err)) throw err;
      const existing = await this.#db.event.findMany({ where: { id: { in: events.map((e) => e.id) } }, select: { id: true } });
      throw new SoarError('CONFLICT', `event ${existing.map((e) => e.id).join(', ') || 'id'} exists already; nothing of the batch was stored`);
    }
  }

  async getEvent(id: string): Promise<EventRecord | null> {
    const row = await this.#db.event.findUnique({ where: { id } });
    return row ? toEvent(row) : null;
  }

  async listEvents(q: EventQuery): Promise<Page<EventRecord>> {
    const where = {
      ...(q.startTime || q.endTime ? { timestamp: { ...(q.startTime ? { gte: q.startTime } : {}), ...(q.endTime ? { lte: q.endTime } : {}) } } : {}),
      ...(q.severity ? { severity: q.severity } : {}),
      ...(q.sourceIp ? { sourceIp: q.sourceIp } : {}),
      ...(q.eventType ? { eventType: q.eventType } : {}),
    };
    const [rows, total] = await Promise.all([
      this.#db.event.findMany({ where, orderBy: [{ timestamp: 'desc' }, { id: 'asc' }], take: q.limit, skip: q.offset }),
      this.#db.event.count({ where }),
    ]);
    return { items: rows.map(toEvent), total };
  }

  async createAlert(alert: AlertRecord): Promise<{ created: boolean; alert: AlertRecord }> {
    try {
      return { created: true, alert: toAlert(await this.#db.alert.create({ data: alertRow(alert) })) };
    } catch (err) {
      if (!isUnique(err)) throw err;
      const existing = await this.#db.alert.findUnique({ where: { id: alert.id } });
      if (!existing) throw err;
      return { created: false, alert: toAlert(existing) };
    }
  }

  async acceptDelivery(delivery: HookDeliveryRecord, alert: AlertRecord, replayKey: string): Promise<{ replayed: true } | { replayed: false; created: boolean; alert: AlertRecord }> {
    // A concurrent delivery of the same alert (another delivery id) can make the alert insert fail
    // and roll the transaction back; the next try finds the alert.
    for (let tries = 0; ; tries++) {
      try {
        return await this.#db.$transaction(async (tx) => {
          await tx.hookDelivery.create({ data: { ...delivery, alertId: alert.id } });
          // the same signed body again, under a new delivery id, is a replay too
          await tx.hookDelivery.create({ data: { ...delivery, id: randomUUID(), deliveryId: replayKey, reason: `signature of delivery ${delivery.deliveryId}`, alertId: alert.id } });
          const existing = await tx.alert.findUnique({ where: { id: alert.id } });
          if (existing) return { replayed: false as const, created: false, alert: toAlert(existing) };
          return { replayed: false as const, created: true, alert: toAlert(await tx.alert.create({ data: alertRow(alert) })) };
        });
      } catch (err) {
        if (!isUnique(err) || tries >= 3) throw err;
        const seen = await this.#db.hookDelivery.findFirst({ where: { hook: delivery.hook, deliveryId: { in: [delivery.deliveryId, replayKey] } } });
        if (seen) return { replayed: true };
      }
    }
  }

  async recordRejected(delivery: HookDeliveryRecord): Promise<void> {
    await this.#db.hookDelivery.create({ data: delivery });
  }

  async getAlert(id: string): Promise<AlertRecord | null> {
    const row = await this.#db.alert.findUnique({ where: { id } });
    return row ? toAlert(row) : null;
  }

  async listAlerts(q: AlertQuery): Promise<Page<AlertRecord>> {
    const where = {
      ...(q.status ? { status: q.status } : {}),
      ...(q.severity ? { severity: q.severity } : {}),
      ...(q.assignedTo ? { assignedTo: q.assignedTo } : {}),
      ...(q.createdAfter ? { createdAt: { gt: q.createdAfter } } : {}),
      // tags are a JSON array of strings: a tag matches as its quoted JSON text
      ...(q.tags?.length ? { AND: q.tags.map((t) => ({ tags: { contains: JSON.stringify(t) } })) } : {}),
    };
    const [rows, total] = await Promise.all([
      this.#db.alert.findMany({ where, orderBy: [{ createdAt: 'desc' }, { id: 'asc' }], take: q.limit, skip: q.offset }),
      this.#db.alert.count({ where }),
    ]);
    return { items: rows.map(toAlert), total };
  }

  async updateAlert(id: string, patch: AlertPatch, now: Date): Promise<AlertRecord | null> {
    const current = await this.#db.alert.findUnique({ where: { id } });
    if (!current) return null;
    const details = patch.details ? JSON.stringify({ ...(JSON.parse(current.body) as Record<string, unknown>), ...patch.details }) : undefined;
    const row = await this.#db.alert.update({
      where: { id },
      data: {
        ...(patch.status ? { status: patch.status } : {}),
        ...(patch.severity ? { severity: patch.severity } : {}),
        ...(patch.assignedTo !== undefined ? { assignedTo: patch.assignedTo } : {}),
        ...(patch.tags ? { tags: JSON.stringify(patch.tags) } : {}),
        ...(details ? { body: details } : {}),
        updatedAt: now,
      },
    });
    return toAlert(row);
  }

  async markMatched(id: string, at: Date): Promise<void> {
    await this.#db.alert.updateMany({ where: { id, matchedAt: null }, data: { matchedAt: at } });
  }

  async unmatchedAlerts(before: Date, limit: number): Promise<AlertRecord[]> {
    const rows = await this.#db.alert.findMany({ where: { matchedAt: null, createdAt: { lt: before } }, orderBy: { createdAt: 'asc' }, take: limit });
    return rows.map(toAlert);
  }

  async createTrigger(t: TriggerRecord): Promise<TriggerRecord> {
    return this.#db.trigger.create({ data: t });
  }

  getTrigger(id: string): Promise<TriggerRecord | null> {
    return this.#db.trigger.findUnique({ where: { id } });
  }

  async listTriggers(q: { enabled?: boolean; limit: number; offset: number }): Promise<Page<TriggerRecord>> {
    const where = q.enabled === undefined ? {} : { enabled: q.enabled };
    const [items, total] = await Promise.all([
      this.#db.trigger.findMany({ where, orderBy: [{ createdAt: 'asc' }, { id: 'asc' }], take: q.limit, skip: q.offset }),
      this.#db.trigger.count({ where }),
    ]);
    return { items, total };
  }

  async updateTrigger(id: string, patch: Partial<Pick<TriggerRecord, 'name' | 'workflowKey' | 'condition' | 'enabled' | 'dedupWindowS'>>, now: Date): Promise<TriggerRecord | null> {
    const r = await this.#db.trigger.updateMany({ where: { id }, data: { ...patch, updatedAt: now } });
    return r.count ? this.getTrigger(id) : null;
  }

  async deleteTrigger(id: string): Promise<boolean> {
    return (await this.#db.trigger.deleteMany({ where: { id } })).count > 0;
  }

  async claimStart(start: AlertStartRecord): Promise<boolean> {
    try {
      await this.#db.alertStart.create({ data: start });
      return true;
    } catch (err) {
      if (isUnique(err)) return false;
      throw err;
    }
  }

  async setStartExecution(id: string, executionId: string): Promise<void> {
    await this.#db.alertStart.updateMany({ where: { id }, data: { executionId } });
  }

  async dropStart(id: string): Promise<void> {
    await this.#db.alertStart.deleteMany({ where: { id, executionId: null } });
  }

  unstartedClaims(before: Date, limit: number): Promise<AlertStartRecord[]> {
    return this.#db.alertStart.findMany({ where: { executionId: null, createdAt: { lt: before } }, orderBy: { createdAt: 'asc' }, take: limit });
  }

  startsOf(alertId: string): Promise<AlertStartRecord[]> {
    return this.#db.alertStart.findMany({ where: { alertId }, orderBy: { createdAt: 'asc' } });
  }
}
