import { hasNul, NUL_REFUSED } from '../validate.ts';
import express, { Router } from 'express';
import { DELIVERY_HEADER, SIGNATURE_HEADER, TIMESTAMP_HEADER, mapPayload, verifyDelivery } from '../../engine/alerts/hooks.ts';
import { SoarError } from '../../engine/errors.ts';
import type { Services } from '../app.ts';

/** How far a delivery's timestamp may be from now. */
export const HOOK_TOLERANCE_S = 300;

/**
 * Inbound webhooks: POST /hooks/:name, signed with the hook's secret (see docs/alerts.md). The body
 * is read raw: the signature is over the bytes as sent. Refusals are logged and recorded; nothing
 * is created for them.
 */
export function hooksRouter(s: Services): Router {
  const r = Router();
  r.post('/:name', express.raw({ type: () => true, limit: s.config.HTTP_BODY_LIMIT }), async (req, res) => {
    const name = req.params.name.toLowerCase();
    const hook = s.hooks.get(name);
    if (!hook) throw new SoarError('NOT_FOUND', `no webhook ${name}`);
    const remoteIp = req.socket.remoteAddress ?? null;
    const body = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
    const claimed = req.get(DELIVERY_HEADER) ?? null;
    try {
      const { deliveryId } = verifyDelivery(hook, { body, signature: req.get(SIGNATURE_HEADER), timestamp: req.get(TIMESTAMP_HEADER), deliveryId: claimed ?? undefined, remoteIp }, new Date(), HOOK_TOLERANCE_S);
      let payload: unknown;
      try {
        payload = JSON.parse(body.toString('utf8'));
      } catch (err) {
        throw new SoarError('INVALID_JSON', `the delivery is not valid JSON: ${(err as Error).message}`);
      }
      if (hasNul(payload)) throw NUL_REFUSED();
      const input = await mapPayload(hook, payload, { timeoutMs: s.config.EXPRESSION_TIMEOUT_MS, maxDepth: s.config.EXPRESSION_MAX_DEPTH });
      const r = await s.alerts.acceptDelivery({ hook: name, deliveryId, remoteIp }, input, req.get(SIGNATURE_HEADER)!.trim());
      if (r.replayed) throw new SoarError('CONFLICT', `replayed delivery: ${deliveryId}, or the same signed body, was received by hook ${name} already`);
      res.status(r.created ? 201 : 200).json({ data: { delivery_id: deliveryId, alert_id: r.alert.id, created: r.created }, links: { alert: `/api/v2/alerts/${r.alert.id}` } });
    } catch (err) {
      if (err instanceof SoarError) await s.alerts.rejectDelivery(name, claimed, `${err.code}: ${err.message}`, remoteIp);
      throw err;
    }
  });
  return r;
}
