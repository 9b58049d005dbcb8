import { Router, type Request } from 'express';
import { z } from 'zod';
import { SoarError } from '../../engine/errors.ts';
import type { WorkflowRecord } from '../../engine/ports.ts';
import type { Services } from '../app.ts';
import { parse, pagination } from '../validate.ts';
import { executionStarted, executionView } from './executions.ts';

/** BullMQ's order: a lower number runs sooner. Every job carries one, so that `low` waits behind `normal`. */
const PRIORITY: Record<string, number> = { critical: 1, high: 2, medium: 3, normal: 3, low: 4 };
export const DEFAULT_PRIORITY = PRIORITY.normal!;

const executeBody = z.object({
  input_data: z.record(z.string(), z.unknown()).default({}),
  /** `critical`, `high`, `normal`/`medium`, `low`, or a number from 1 (soonest) to 1000 */
  priority: z.union([z.enum(['low', 'normal', 'medium', 'high', 'critical']), z.number().int().min(1).max(1000)]).optional(),
  async: z.boolean().default(true),
  /** with async=false: how long to wait for the end, at most the server's EXECUTE_WAIT_MS */
  wait_ms: z.number().int().min(0).optional(),
});

export function workflowSummary(w: WorkflowRecord) {
  return { id: w.id, key: w.key, name: w.name, version: w.version, created_at: w.createdAt.toISOString(), warnings: w.warnings };
}

export function workflowsRouter(s: Services): Router {
  const r = Router();

  r.post('/', async (req, res) => {
    const { workflow, warnings } = await s.catalog.deploy(bpmnOf(req));
    res.status(201).location(`${req.baseUrl}/${workflow.id}`).json({ data: { ...workflowSummary(workflow), warnings } });
  });

  r.get('/', async (req, res) => {
    const q = parse(z.object({ ...pagination, key: z.string().optional() }), req.query, 'query');
    const page = await s.store.listWorkflows({ limit: q.limit, offset: q.offset, ...(q.key ? { key: q.key } : {}) });
    res.json({
      data: page.items.map(workflowSummary),
      meta: { total: page.total, count: page.items.length, offset: q.offset, limit: q.limit },
      links: pageLinks(req, page.total, q.limit, q.offset),
    });
  });

  r.get('/:id', async (req, res) => {
    const wf = await s.catalog.resolve(req.params.id);
    res.json({ data: { ...workflowSummary(wf), xml: wf.xml } });
  });

  r.post('/:id/execute', async (req, res) => {
    const body = parse(executeBody, req.body ?? {}, 'body');
    const priority = typeof body.priority === 'string' ? (PRIORITY[body.priority] ?? DEFAULT_PRIORITY) : (body.priority ?? DEFAULT_PRIORITY);
    const { execution, workflow } = await s.executions.start(req.params.id, body.input_data, priority);
    if (body.async) {
      res.status(202).location(`/executions/${execution.id}`).json(executionStarted(execution, workflow));
      return;
    }
    const ac = new AbortController();
    res.on('close', () => ac.abort());
    const waitMs = Math.min(body.wait_ms ?? s.config.EXECUTE_WAIT_MS, s.config.EXECUTE_WAIT_MS);
    const view = await s.executions.waitForEnd(execution.id, waitMs, ac.signal);
    res.status(view.status === 'pending' || view.status === 'running' ? 202 : 200).json(executionView(view));
  });

  return r;
}

/** The BPMN of a deploy request: an XML body, or JSON `{ "bpmn": "<xml>" }`. */
function bpmnOf(req: Request): string {
  if (typeof req.body === 'string' && req.is(['application/xml', 'text/xml', 'application/bpmn+xml'])) return req.body;
  if (req.body && typeof req.body === 'object' && typeof (req.body as { bpmn?: unknown }).bpmn === 'string') {
    return (req.body as { bpmn: string }).bpmn;
  }
  if (!req.is(['application/json', 'application/xml', 'text/xml', 'application/bpmn+xml'])) {
    throw new SoarError('UNSUPPORTED_MEDIA_TYPE', 'send the BPMN as application/xml, or as JSON { "bpmn": "<xml>" }');
  }
  throw new SoarError('BAD_REQUEST', 'the request has no BPMN: send it as the XML body, or as JSON { "bpmn": "<xml>" }', [
    { field: 'bpmn', reason: 'missing' },
  ]);
}

export function pageLinks(req: Request, total: number, limit: number, offset: number) {
  const at = (o: number) => {
    const u = new URL(req.originalUrl, 'http://x');
    u.searchParams.set('limit', String(limit));
    u.searchParams.set('offset', String(o));
    return `${u.pathname}${u.search}`;
  };
  return {
    self: at(offset),
    ...(offset + limit < total ? { next: at(offset + limit) } : {}),
    ...(offset > 0 ? { prev: at(Math.max(0, offset - limit)) } : {}),
  };
}
