import { Router } from 'express';
import { z } from 'zod';
import { SoarError } from '../../engine/errors.ts';
import { eventSchema } from '../../engine/alerts/model.ts';
import { SEVERITIES, type EventRecord } from '../../engine/alerts/ports.ts';
import type { Services } from '../app.ts';
import { parse } from '../validate.ts';
import { pageLinks } from './workflows.ts';

/** The stored event document, as received. */
const view = (e: EventRecord) => e.body;

const MAX_BATCH = 1000;

/** Security events (the event_object schema): POST one or a batch, list with filters, get one. */
export function securityEventsRouter(s: Services): Router {
  const r = Router();

  r.post('/', async (req, res) => {
    const batch = Array.isArray(req.body);
    const docs = batch
      ? parse(z.array(eventSchema).min(1).max(MAX_BATCH), req.body, 'events')
      : [parse(eventSchema, req.body, 'event')];
    const ids = new Set<string>();
    for (const [i, d] of docs.entries()) {
      if (ids.has(d.id)) throw new SoarError('BAD_REQUEST', 'invalid events', [{ field: `${i}.id`, reason: `${d.id} is given twice in the batch` }]);
      ids.add(d.id);
    }
    const stored = await s.alerts.createEvents(docs);
    if (batch) res.status(201).json({ data: stored.map(view), meta: { count: stored.length } });
    else res.status(201).location(`/api/v2/events/${stored[0]!.id}`).json({ data: view(stored[0]!), links: { self: `/api/v2/events/${stored[0]!.id}` } });
  });

  r.get('/', async (req, res) => {
    const q = parse(
      z.object({
        limit: z.coerce.number().int().min(1).max(1000).default(100),
        offset: z.coerce.number().int().min(0).default(0),
        start_time: z.iso.datetime({ offset: true }).optional(),
        end_time: z.iso.datetime({ offset: true }).optional(),
        severity: z.enum(SEVERITIES).optional(),
        source_ip: z.ipv4().optional(),
        event_type: z.string().min(1).optional(),
      }),
      req.query,
      'query',
    );
    const page = await s.alerts.listEvents({
      limit: q.limit,
      offset: q.offset,
      ...(q.start_time ? { startTime: new Date(q.start_time) } : {}),
      ...(q.end_time ? { endTime: new Date(q.end_time) } : {}),
      ...(q.severity ? { severity: q.severity } : {}),
      ...(q.source_ip ? { sourceIp: q.source_ip } : {}),
      ...(q.event_type ? { eventType: q.event_type } : {}),
    });
    res.json({ data: page.items.map(view), meta: { total: page.total, count: page.items.length, offset: q.offset, limit: q.limit }, links: pageLinks(req, page.total, q.limit, q.offset) });
  });

  r.get('/:id', async (req, res) => {
    res.json({ data: view(await s.alerts.getEvent(req.params.id)) });
  });

  return r;
}
