import { Router } from 'express';
import { z } from 'zod';
import type { AlertExecution } from '../../engine/alerts/alerts.ts';
import { alertDocument, alertInputSchema, alertUpdateSchema } from '../../engine/alerts/model.ts';
import { ALERT_STATUSES, SEVERITIES, type AlertRecord, type TriggerRecord } from '../../engine/alerts/ports.ts';
import type { Services } from '../app.ts';
import { parse, pagination } from '../validate.ts';
import { pageLinks } from './workflows.ts';

const executionsView = (xs: AlertExecution[]) =>
  xs.map((x) => ({ execution_id: x.executionId || null, workflow_key: x.workflowKey, trigger_id: x.triggerId, status: x.status, links: x.executionId ? { self: `/executions/${x.executionId}` } : {} }));

const alertView = (a: AlertRecord) => ({ ...alertDocument(a), matched_at: a.matchedAt?.toISOString() ?? null });

/** `tags=a&tags=b` or `tags=a,b`. */
const tagList = z.preprocess((v) => (typeof v === 'string' ? v.split(',').map((t) => t.trim()).filter(Boolean) : v), z.array(z.string().min(1)).max(20));

/** Alerts: create (and start the matching playbooks), list, read with their executions, update one or many. */
export function alertsRouter(s: Services): Router {
  const r = Router();

  r.post('/', async (req, res) => {
    const input = parse(alertInputSchema, req.body, 'alert');
    const { created, alert } = await s.alerts.createAlert(input);
    // an alert with a known id is that alert: 200 and no new start (deduplication by id)
    res.status(created ? 201 : 200).location(`/api/v2/alerts/${alert.id}`).json({ data: alertView(alert), meta: { created }, links: { self: `/api/v2/alerts/${alert.id}` } });
  });

  r.get('/', async (req, res) => {
    const q = parse(
      z.object({
        ...pagination,
        status: z.enum(ALERT_STATUSES).optional(),
        severity: z.enum(SEVERITIES).optional(),
        assigned_to: z.string().min(1).optional(),
        created_after: z.iso.datetime({ offset: true }).optional(),
        tags: tagList.optional(),
      }),
      req.query,
      'query',
    );
    const page = await s.alerts.listAlerts({
      limit: q.limit,
      offset: q.offset,
      ...(q.status ? { status: q.status } : {}),
      ...(q.severity ? { severity: q.severity } : {}),
      ...(q.assigned_to ? { assignedTo: q.assigned_to } : {}),
      ...(q.created_after ? { createdAfter: new Date(q.created_after) } : {}),
      ...(q.tags?.length ? { tags: q.tags } : {}),
    });
    res.json({ data: page.items.map(alertView), meta: { total: page.total, count: page.items.length, offset: q.offset, limit: q.limit }, links: pageLinks(req, page.total, q.limit, q.offset) });
  });

  // before /:id, which would take "bulk" for an id
  r.patch('/bulk', async (req, res) => {
    const b = parse(z.strictObject({ alert_ids: z.array(z.string().min(1)).min(1).max(1000), updates: alertUpdateSchema }), req.body, 'bulk update');
    const { updated, errors } = await s.alerts.bulkUpdate(b.alert_ids, b.updates);
    res.json({ data: { updated_count: updated, failed_count: errors.length, errors } });
  });

  r.get('/:id', async (req, res) => {
    const { alert, executions } = await s.alerts.getAlert(req.params.id);
    res.json({ data: { ...alertView(alert), executions: executionsView(executions) } });
  });

  r.patch('/:id', async (req, res) => {
    const u = parse(alertUpdateSchema, req.body, 'alert update');
    res.json({ data: alertView(await s.alerts.updateAlert(req.params.id, u)) });
  });

  return r;
}

const triggerView = (t: TriggerRecord) => ({
  id: t.id,
  name: t.name,
  workflow_key: t.workflowKey,
  condition: t.condition,
  enabled: t.enabled,
  dedup_window_s: t.dedupWindowS,
  created_at: t.createdAt.toISOString(),
  updated_at: t.updatedAt.toISOString(),
});

const triggerFields = {
  name: z.string().min(1).max(200),
  workflow_key: z.string().min(1).max(200),
  /** jsonata over the alert document; the playbook starts when it is true. */
  condition: z.string().min(1).max(10_000),
  enabled: z.boolean(),
  dedup_window_s: z.number().int().min(0).max(365 * 24 * 3600),
};

/** Trigger rules: which alerts start which playbook. */
export function triggersRouter(s: Services): Router {
  const r = Router();

  r.post('/', async (req, res) => {
    const b = parse(z.strictObject({ ...triggerFields, enabled: triggerFields.enabled.default(true), dedup_window_s: triggerFields.dedup_window_s.default(0) }), req.body, 'trigger');
    const t = await s.alerts.createTrigger(b);
    res.status(201).location(`/api/v2/triggers/${t.id}`).json({ data: triggerView(t) });
  });

  r.get('/', async (req, res) => {
    const q = parse(z.object({ ...pagination, enabled: z.enum(['true', 'false']).optional() }), req.query, 'query');
    const page = await s.alerts.listTriggers({ limit: q.limit, offset: q.offset, ...(q.enabled ? { enabled: q.enabled === 'true' } : {}) });
    res.json({ data: page.items.map(triggerView), meta: { total: page.total, count: page.items.length, offset: q.offset, limit: q.limit }, links: pageLinks(req, page.total, q.limit, q.offset) });
  });

  r.get('/:id', async (req, res) => {
    res.json({ data: triggerView(await s.alerts.getTrigger(req.params.id)) });
  });

  r.patch('/:id', async (req, res) => {
    const b = parse(z.strictObject(triggerFields).partial(), req.body, 'trigger update');
    res.json({ data: triggerView(await s.alerts.updateTrigger(req.params.id, b)) });
  });

  r.delete('/:id', async (req, res) => {
    await s.alerts.deleteTrigger(req.params.id);
    res.status(204).end();
  });

  return r;
}
