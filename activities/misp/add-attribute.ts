import { defineActivity } from '../define.ts';
import { HttpError } from '../http-client.ts';
import { attributeSchema, config, credential, rateLimit, toAttribute, type Attribute } from './connector.ts';

interface Input {
  eventId: string;
  type: string;
  value: string;
  category?: string;
  toIds?: boolean;
  comment?: string;
  distribution?: number;
}

/**
 * POST /attributes/add/{eventId}. MISP refuses a second identical attribute in an event (403 "A
 * similar attribute already exists"): a retry answers with the existing one (`created: false`).
 */
export default defineActivity<Input, Attribute & { created: boolean }>({
  id: 'misp.addAttribute',
  title: 'MISP: add attribute',
  description: 'Adds an attribute (indicator) to an event.',
  config,
  credential,
  rateLimit,
  input: {
    type: 'object',
    required: ['eventId', 'type', 'value'],
    properties: {
      eventId: { type: 'string', title: 'Event id or UUID', minLength: 1 },
      type: { type: 'string', title: 'Attribute type', description: 'ip-src, ip-dst, domain, url, md5, sha1, sha256, ...' },
      value: { type: 'string', title: 'Value', minLength: 1 },
      category: { type: 'string', title: 'Category', default: 'Network activity' },
      toIds: { type: 'boolean', title: 'IDS flag', default: true },
      comment: { type: 'string', title: 'Comment' },
      distribution: { type: 'integer', title: 'Distribution', minimum: 0, maximum: 5, default: 5, description: '5: inherit the event\'s' },
    },
  },
  output: { ...attributeSchema, properties: { ...(attributeSchema.properties as object), created: { type: 'boolean' } } },
  retry: { attempts: 5 },
  async run(input, ctx) {
    const res = await ctx.http.request<{ Attribute?: Record<string, unknown>; errors?: unknown; message?: string }>({
      method: 'POST',
      path: `/attributes/add/${encodeURIComponent(input.eventId)}`,
      json: { type: input.type, value: input.value, category: input.category, to_ids: input.toIds, comment: input.comment ?? '', distribution: String(input.distribution ?? 5) },
      accept: [403],
    });
    if (res.status === 403) {
      if (!/already exists/i.test(res.text)) throw new HttpError(`POST /attributes/add answered 403: ${res.body?.message ?? 'forbidden'}`, 'client', 403, undefined, res.body);
      const found = await ctx.http.request<{ response?: { Attribute?: Array<Record<string, unknown>> } }>({
        method: 'POST',
        path: '/attributes/restSearch',
        json: { returnFormat: 'json', eventid: input.eventId, type: input.type, value: input.value, limit: 1 },
      });
      const a = found.body?.response?.Attribute?.[0];
      if (!a) throw new HttpError('misp: the attribute exists but the search does not find it', 'server', 403);
      return { ...toAttribute(a), created: false };
    }
    if (!res.body?.Attribute) throw new HttpError('misp: the answer has no Attribute', 'server', res.status);
    return { ...toAttribute(res.body.Attribute), created: true };
  },
});
