import { Router } from 'express';
import { z } from 'zod';
import type { ExecutionView } from '../../engine/executions.ts';
import type { ExecutionRecord, WorkflowRecord } from '../../engine/ports.ts';
import type { Services } from '../app.ts';
import { parse, pagination } from '../validate.ts';
import { pageLinks } from './workflows.ts';

const STATUSES = ['pending', 'running', 'waiting', 'completed', 'failed', 'cancelled'] as const;

const iso = (d: Date | null) => (d ? d.toISOString() : null);

/** The 202 answer to an execute call. */
export function executionStarted(e: ExecutionRecord, w: WorkflowRecord) {
  return {
    execution_id: e.id,
    workflow_id: w.id,
    workflow_version: w.version,
    status: e.status,
    // seconds; a rough figure until per-workflow statistics exist
    estimated_duration: 1,
    links: { self: `/executions/${e.id}` },
  };
}

function summary(e: ExecutionRecord) {
  return {
    execution_id: e.id,
    workflow_id: e.workflowId,
    status: e.status,
    start_time: iso(e.startedAt ?? e.createdAt),
    end_time: iso(e.endedAt),
    error: e.error,
  };
}

export function executionView(v: ExecutionView) {
  return {
    execution_id: v.id,
    workflow_id: v.workflowId,
    workflow_key: v.workflow.key,
    workflow_version: v.workflow.version,
    status: v.status,
    progress: v.progress,
    priority: v.priority,
    created_at: iso(v.createdAt),
    start_time: iso(v.startedAt),
    end_time: iso(v.endedAt),
    input: v.input,
    trigger: v.trigger ?? { kind: 'manual' },
    parent_execution_id: v.parentId,
    waiting_for: [
      ...v.tasks.map((t) => ({ kind: 'task', activity_id: t.activityId, task_id: t.id, name: t.name, assignee: t.assignee, candidate_groups: t.candidateGroups })),
      ...v.waits.map((w) => ({ kind: w.kind, activity_id: w.activityId, name: w.name, correlation_key: w.correlationKey, due_at: iso(w.dueAt) })),
    ],
    result: v.result,
    error: v.error,
    steps: v.steps.map((s) => ({
      activity_id: s.activityId,
      name: s.name,
      type: s.type,
      status: s.status,
      attempt: s.attempt,
      connector_activity: s.activity,
      job_id: s.jobId,
      started_at: iso(s.startedAt),
      ended_at: iso(s.endedAt),
      output: s.output,
      error: s.error,
    })),
  };
}

export function executionsRouter(s: Services): Router {
  const r = Router();

  r.get('/', async (req, res) => {
    const q = parse(z.object({ ...pagination, status: z.enum(STATUSES).optional(), workflow_id: z.string().optional() }), req.query, 'query');
    const page = await s.executions.list({
      limit: q.limit,
      offset: q.offset,
      ...(q.status ? { status: q.status } : {}),
      ...(q.workflow_id ? { workflow: q.workflow_id } : {}),
    });
    res.json({
      data: page.items.map(summary),
      meta: { total: page.total, count: page.items.length, offset: q.offset, limit: q.limit },
      links: pageLinks(req, page.total, q.limit, q.offset),
    });
  });

  r.get('/:id', async (req, res) => {
    res.json(executionView(await s.executions.get(req.params.id)));
  });

  return r;
}
