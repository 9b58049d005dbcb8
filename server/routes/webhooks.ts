import { Router } from 'express';
import { z } from 'zod';
import type { WebhookDelivery, WebhookSubscription } from '../../engine/ports.ts';
import type { Services } from '../app.ts';
import { parse, pagination } from '../validate.ts';
import { pageLinks } from './workflows.ts';

const iso = (d: Date | null) => (d ? d.toISOString() : null);

/** The URL as listed: its query (which may hold a token) is not shown. */
const shownUrl = (u: string) => {
  const url = new URL(u);
  if (url.search) url.search = '?…';
  return url.toString();
};

/** A subscription as listed: never its secret. */
const view = (s: WebhookSubscription) => ({ id: s.id, url: shownUrl(s.url), events: s.events, enabled: s.enabled, created_at: iso(s.createdAt), links: { deliveries: `/webhooks/${s.id}/deliveries` } });

const deliveryView = (d: WebhookDelivery) => ({
  id: d.id,
  event: d.event,
  status: d.status,
  attempts: d.attempts,
  response_code: d.responseCode,
  last_error: d.lastError,
  created_at: iso(d.createdAt),
  delivered_at: iso(d.deliveredAt),
  payload: d.payload,
});

/** Outbound webhooks: subscriptions to execution and alert events, and their deliveries. */
export function webhooksRouter(s: Services): Router {
  const r = Router();

  r.post('/', async (req, res) => {
    const body = parse(z.object({ url: z.string().min(1).max(2000), events: z.array(z.string().min(1)).min(1).max(20) }), req.body ?? {}, 'body');
    const sub = await s.webhooks.subscribe(body);
    // the secret is shown once, here: deliveries are signed with it
    res.status(201).json({ data: { ...view(sub), secret: sub.secret } });
  });

  r.get('/', async (_req, res) => {
    res.json({ data: (await s.webhooks.list()).map(view) });
  });

  r.get('/:id', async (req, res) => {
    res.json({ data: view(await s.webhooks.get(req.params.id)) });
  });

  r.delete('/:id', async (req, res) => {
    await s.webhooks.unsubscribe(req.params.id);
    res.status(204).end();
  });

  r.get('/:id/deliveries', async (req, res) => {
    const q = parse(z.object({ ...pagination, status: z.enum(['pending', 'delivered', 'failed']).optional() }), req.query, 'query');
    const page = await s.webhooks.deliveries({ subscriptionId: req.params.id, limit: q.limit, offset: q.offset, ...(q.status ? { status: q.status } : {}) });
    res.json({ data: page.items.map(deliveryView), meta: { total: page.total, count: page.items.length, offset: q.offset, limit: q.limit }, links: pageLinks(req, page.total, q.limit, q.offset) });
  });

  return r;
}
