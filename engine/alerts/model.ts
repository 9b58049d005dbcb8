import { z } from 'zod';
import { ALERT_STATUSES, SEVERITIES, type AlertRecord } from './ports.ts';

/** The event_object schema: id, timestamp and event required; severity an enum; ip fields IPv4. */
export const eventSchema = z.looseObject({
  id: z.uuid(),
  timestamp: z.iso.datetime({ offset: true }),
  source: z.looseObject({ ip: z.ipv4().optional(), hostname: z.string().optional(), mac: z.string().optional(), user: z.string().optional() }).optional(),
  destination: z.looseObject({ ip: z.ipv4().optional(), port: z.number().int().optional(), service: z.string().optional() }).optional(),
  event: z.looseObject({
    type: z.string().optional(),
    category: z.string().optional(),
    severity: z.enum(SEVERITIES).optional(),
    action: z.string().optional(),
    outcome: z.string().optional(),
  }),
  metadata: z.looseObject({ vendor: z.string().optional(), product: z.string().optional(), version: z.string().optional() }).optional(),
  enrichment: z
    .looseObject({
      geolocation: z.looseObject({ country: z.string().optional(), city: z.string().optional(), coordinates: z.array(z.number()).optional() }).optional(),
      threat_intel: z
        .looseObject({ reputation: z.string().optional(), categories: z.array(z.string()).optional(), confidence: z.number().int().min(0).max(100).optional() })
        .optional(),
    })
    .optional(),
});
export type EventDocument = z.infer<typeof eventSchema>;

/** A new alert, from the API or from a webhook's mapping. Fields not named here are kept. */
export const alertInputSchema = z.looseObject({
  id: z.string().min(1).max(200).optional(),
  title: z.string().min(1).max(1000),
  severity: z.enum(SEVERITIES),
  status: z.enum(ALERT_STATUSES).default('open'),
  source: z.string().max(200).optional(),
  assigned_to: z.string().max(200).nullable().optional(),
  tags: z.array(z.string().max(200)).max(100).default([]),
  /** What makes two alerts the same for trigger rules (default: the id). */
  dedup_key: z.string().min(1).max(500).optional(),
  description: z.string().optional(),
  notes: z.string().optional(),
  event: z.record(z.string(), z.unknown()).optional(),
  data: z.unknown().optional(),
});
export type AlertInput = z.infer<typeof alertInputSchema>;

/** PATCH /alerts/:id and the `updates` of PATCH /alerts/bulk. */
export const alertUpdateSchema = z
  .strictObject({
    status: z.enum(ALERT_STATUSES).optional(),
    severity: z.enum(SEVERITIES).optional(),
    assigned_to: z.string().max(200).nullable().optional(),
    notes: z.string().optional(),
    tags: z.array(z.string().max(200)).max(100).optional(),
  })
  .refine((u) => Object.keys(u).length > 0, 'give at least one of status, severity, assigned_to, notes, tags');
export type AlertUpdate = z.infer<typeof alertUpdateSchema>;

const CORE = new Set(['id', 'title', 'severity', 'status', 'source', 'assigned_to', 'tags', 'dedup_key']);

/** The record of a new alert from its input. */
export function alertRecord(input: AlertInput, id: string, now: Date): AlertRecord {
  const details: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(input)) if (!CORE.has(k) && v !== undefined) details[k] = v;
  return {
    id,
    title: input.title,
    severity: input.severity,
    status: input.status,
    source: input.source ?? null,
    assignedTo: input.assigned_to ?? null,
    tags: input.tags,
    dedupKey: input.dedup_key ?? id,
    details,
    createdAt: now,
    updatedAt: now,
    matchedAt: null,
  };
}

/**
 * The alert as the API shows it, and as trigger conditions and playbooks see it
 * (`{ alert: <this> }` is a started execution's input).
 */
export function alertDocument(a: AlertRecord): Record<string, unknown> {
  return {
    ...a.details,
    id: a.id,
    title: a.title,
    severity: a.severity,
    status: a.status,
    source: a.source,
    assigned_to: a.assignedTo,
    tags: a.tags,
    dedup_key: a.dedupKey,
    created_at: a.createdAt.toISOString(),
    updated_at: a.updatedAt.toISOString(),
  };
}
