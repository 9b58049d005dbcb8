import { Router } from 'express';
import { z } from 'zod';
import type { TaskRecord } from '../../engine/ports.ts';
import type { Services } from '../app.ts';
import { parse, pagination } from '../validate.ts';
import { pageLinks } from './workflows.ts';

const iso = (d: Date | null) => (d ? d.toISOString() : null);

export function taskView(t: TaskRecord) {
  return {
    task_id: t.id,
    execution_id: t.executionId,
    activity_id: t.activityId,
    name: t.name,
    status: t.status,
    assignee: t.assignee,
    candidate_groups: t.candidateGroups,
    candidate_users: t.candidateUsers,
    form: t.form ?? [],
    created_at: iso(t.createdAt),
    completed_at: iso(t.completedAt),
    completed_by: t.completedBy,
    result: t.result,
    links: { self: `/tasks/${encodeURIComponent(t.id)}`, execution: `/executions/${t.executionId}` },
  };
}

const completion = z.object({
  /** The analyst's decision, e.g. `approve` or `reject`; stored with the form fields. */
  decision: z.string().min(1).max(200).optional(),
  fields: z.record(z.string(), z.unknown()).default({}),
  /** Who answers; until authentication exists, also read from the X-User header. */
  user: z.string().min(1).max(200).optional(),
});

/** Analysts' tasks: BPMN user tasks waiting for an answer (approvals, triage decisions). */
export function tasksRouter(s: Services): Router {
  const r = Router();

  r.get('/', async (req, res) => {
    const q = parse(
      z.object({
        ...pagination,
        status: z.enum(['open', 'completing', 'completed', 'cancelled', 'all']).default('open'),
        execution_id: z.string().optional(),
        assignee: z.string().optional(),
        candidate_group: z.string().optional(),
      }),
      req.query,
      'query',
    );
    const page = await s.deliveries.listTasks({
      limit: q.limit,
      offset: q.offset,
      ...(q.status !== 'all' ? { status: q.status } : {}),
      ...(q.execution_id ? { executionId: q.execution_id } : {}),
      ...(q.assignee ? { assignee: q.assignee } : {}),
      ...(q.candidate_group ? { candidateGroup: q.candidate_group } : {}),
    });
    res.json({
      data: page.items.map(taskView),
      meta: { total: page.total, count: page.items.length, offset: q.offset, limit: q.limit },
      links: pageLinks(req, page.total, q.limit, q.offset),
    });
  });

  r.get('/:id', async (req, res) => {
    res.json({ data: taskView(await s.deliveries.getTask(req.params.id)) });
  });

  r.post('/:id/complete', async (req, res) => {
    const body = parse(completion, req.body ?? {}, 'body');
    const by = body.user ?? req.get('x-user') ?? null;
    const answer = { ...body.fields, ...(body.decision !== undefined ? { decision: body.decision } : {}) };
    const task = await s.deliveries.completeTask(req.params.id, answer, by);
    res.status(202).json({ data: taskView(task) });
  });

  return r;
}

const messageBody = z.object({
  name: z.string().min(1).max(500),
  correlation_key: z.union([z.string(), z.number()]).transform(String).optional(),
  payload: z.record(z.string(), z.unknown()).default({}),
});

/** `POST /messages` (correlate by name and key, or start on a message) and `POST /signals`. */
export function eventsRouter(s: Services): Router {
  const r = Router();
  r.post('/messages', async (req, res) => {
    const body = parse(messageBody, req.body ?? {}, 'body');
    const c = await s.deliveries.correlate(body.name, body.correlation_key, body.payload);
    res.status(202).json({ data: { delivered_to: c.delivered, started: c.started } });
  });
  r.post('/signals', async (req, res) => {
    const body = parse(messageBody.omit({ correlation_key: true }), req.body ?? {}, 'body');
    const c = await s.deliveries.signal(body.name, body.payload);
    res.status(202).json({ data: { delivered_to: c.delivered, started: c.started } });
  });
  return r;
}

/** `POST /executions/:id/messages`: a message for one execution; `POST /executions/:id/cancel`. */
export function executionMessages(s: Services): Router {
  const r = Router();
  r.post('/:id/cancel', async (req, res) => {
    const body = parse(z.object({ reason: z.string().max(1000).optional(), user: z.string().min(1).max(200).optional() }), req.body ?? {}, 'body');
    await s.deliveries.cancel(req.params.id, body.user ?? req.get('x-user') ?? null, body.reason);
    res.status(202).json({ data: { execution_id: req.params.id, status: 'cancelling' } });
  });
  r.post('/:id/messages', async (req, res) => {
    const body = parse(messageBody.omit({ correlation_key: true }), req.body ?? {}, 'body');
    const c = await s.deliveries.sendMessage(req.params.id, body.name, body.payload);
    res.status(202).json({ data: { delivered_to: c.delivered, started: c.started } });
  });
  return r;
}
