/**
 * What alerts, events, trigger rules and webhook deliveries need of the database. Implemented on
 * Prisma by engine/db/alerts-store.ts; kept apart from the runtime's Store (engine/ports.ts).
 */
import type { Page } from '../ports.ts';

export const SEVERITIES = ['low', 'medium', 'high', 'critical'] as const;
export type Severity = (typeof SEVERITIES)[number];
export const ALERT_STATUSES = ['open', 'acknowledged', 'closed', 'suppressed'] as const;
export type AlertStatus = (typeof ALERT_STATUSES)[number];

/** A security event (the event_object schema), with the fields it is filtered by copied out. */
export interface EventRecord {
  id: string;
  timestamp: Date;
  severity: string | null;
  eventType: string | null;
  sourceIp: string | null;
  /** The event document as received. */
  body: Record<string, unknown>;
  receivedAt: Date;
}

export interface EventQuery {
  limit: number;
  offset: number;
  startTime?: Date;
  endTime?: Date;
  severity?: string;
  sourceIp?: string;
  eventType?: string;
}

export interface AlertRecord {
  id: string;
  title: string;
  severity: Severity;
  status: AlertStatus;
  source: string | null;
  assignedTo: string | null;
  tags: string[];
  dedupKey: string;
  /** Everything else of the alert document: description, event, data, notes. */
  details: Record<string, unknown>;
  createdAt: Date;
  updatedAt: Date;
  matchedAt: Date | null;
}

export interface AlertQuery {
  limit: number;
  offset: number;
  status?: AlertStatus;
  severity?: Severity;
  assignedTo?: string;
  createdAfter?: Date;
  /** Alerts carrying every one of these tags. */
  tags?: string[];
}

export interface AlertPatch {
  status?: AlertStatus;
  severity?: Severity;
  assignedTo?: string | null;
  tags?: string[];
  details?: Record<string, unknown>;
}

/** A trigger rule: alerts for which `condition` (jsonata over the alert) is true start `workflowKey`. */
export interface TriggerRecord {
  id: string;
  name: string;
  workflowKey: string;
  condition: string;
  enabled: boolean;
  /** Alerts with one dedup key start the playbook once per window of this many seconds (0: once ever). */
  dedupWindowS: number;
  createdAt: Date;
  updatedAt: Date;
}

/** One start of a playbook by an alert; executionId is null between the claim and the start. */
export interface AlertStartRecord {
  id: string;
  alertId: string;
  triggerId: string;
  workflowKey: string;
  dedupKey: string;
  executionId: string | null;
  createdAt: Date;
}

export interface HookDeliveryRecord {
  id: string;
  hook: string;
  deliveryId: string;
  outcome: 'accepted' | 'rejected';
  reason: string | null;
  alertId: string | null;
  remoteIp: string | null;
  receivedAt: Date;
}

export interface AlertStore {
  /** Stores events; a batch is all or nothing. Throws CONFLICT naming an id that exists. */
  createEvents(events: EventRecord[]): Promise<void>;
  getEvent(id: string): Promise<EventRecord | null>;
  listEvents(q: EventQuery): Promise<Page<EventRecord>>;

  /** Creates the alert, or returns the one with its id (created: false). */
  createAlert(alert: AlertRecord): Promise<{ created: boolean; alert: AlertRecord }>;
  /**
   * Records an accepted webhook delivery and creates its alert in one transaction: a delivery id
   * seen before gives `replayed` and creates nothing.
   */
  /**
   * Records an accepted delivery with its alert. `replayKey` (derived from the signature) is kept
   * too: a delivery whose id or signature was seen is a replay.
   */
  acceptDelivery(delivery: HookDeliveryRecord, alert: AlertRecord, replayKey: string): Promise<{ replayed: true } | { replayed: false; created: boolean; alert: AlertRecord }>;
  /** Records a refused delivery, for audit (under a delivery id of its own: a forged id burns nothing). */
  recordRejected(delivery: HookDeliveryRecord): Promise<void>;
  getAlert(id: string): Promise<AlertRecord | null>;
  listAlerts(q: AlertQuery): Promise<Page<AlertRecord>>;
  updateAlert(id: string, patch: AlertPatch, now: Date): Promise<AlertRecord | null>;
  markMatched(id: string, at: Date): Promise<void>;
  /** Alerts created before `before` whose triggers have not been matched (a crash in between). */
  unmatchedAlerts(before: Date, limit: number): Promise<AlertRecord[]>;

  createTrigger(t: TriggerRecord): Promise<TriggerRecord>;
  getTrigger(id: string): Promise<TriggerRecord | null>;
  listTriggers(q: { enabled?: boolean; limit: number; offset: number }): Promise<Page<TriggerRecord>>;
  updateTrigger(id: string, patch: Partial<Pick<TriggerRecord, 'name' | 'workflowKey' | 'condition' | 'enabled' | 'dedupWindowS'>>, now: Date): Promise<TriggerRecord | null>;
  deleteTrigger(id: string): Promise<boolean>;

  /**
   * Claims the start of a trigger's playbook for a dedup key. False when it was claimed already:
   * the database's unique (triggerId, dedupKey) decides, across processes and restarts.
   */
  claimStart(start: AlertStartRecord): Promise<boolean>;
  setStartExecution(id: string, executionId: string): Promise<void>;
  dropStart(id: string): Promise<void>;
  /** Claims older than `before` whose execution was never created. */
  unstartedClaims(before: Date, limit: number): Promise<AlertStartRecord[]>;
  startsOf(alertId: string): Promise<AlertStartRecord[]>;
}
