import { defineActivity } from '../define.ts';
import { HttpError } from '../http-client.ts';
import { idempotencyTag, render } from '../template.ts';
import { config, credential, rateLimit } from './connector.ts';

interface Input {
  info: string;
  threatLevel?: 'high' | 'medium' | 'low' | 'undefined';
  analysis?: 'initial' | 'ongoing' | 'completed';
  distribution?: number;
  tags?: string[];
  attributes?: Array<{ type: string; value: string; category?: string; toIds?: boolean; comment?: string }>;
  data?: Record<string, unknown>;
}

const THREAT: Record<string, string> = { high: '1', medium: '2', low: '3', undefined: '4' };
const ANALYSIS: Record<string, string> = { initial: '0', ongoing: '1', completed: '2' };

/** A UUID (version 5 layout) derived from the task's idempotency key. */
export function uuidFor(key: string): string {
  const h = idempotencyTag(`misp-event:${key}`, 32).split('');
  h[12] = '5';
  h[16] = ((parseInt(h[16]!, 16) & 0x3) | 0x8).toString(16);
  const s = h.join('');
  return `${s.slice(0, 8)}-${s.slice(8, 12)}-${s.slice(12, 16)}-${s.slice(16, 20)}-${s.slice(20)}`;
}

/**
 * POST /events/add. Idempotent: the event's uuid is derived from the task's idempotency key; MISP
 * refuses a second event with that uuid, and a retry then reads the first (GET /events/view/{uuid}).
 */
export default defineActivity<Input, { id: string; uuid: string; info: string; created: boolean }>({
  id: 'misp.createEvent',
  title: 'MISP: create event',
  description: 'Creates an event with its threat level, analysis state, tags and attributes; info is a handlebars template.',
  config,
  credential,
  rateLimit,
  input: {
    type: 'object',
    required: ['info'],
    properties: {
      info: { type: 'string', title: 'Event info', minLength: 1, description: 'handlebars template' },
      threatLevel: { type: 'string', title: 'Threat level', enum: ['high', 'medium', 'low', 'undefined'], default: 'medium' },
      analysis: { type: 'string', title: 'Analysis', enum: ['initial', 'ongoing', 'completed'], default: 'initial' },
      distribution: { type: 'integer', title: 'Distribution', minimum: 0, maximum: 4, default: 0, description: '0: your organisation only' },
      tags: { type: 'array', title: 'Tags', items: { type: 'string' } },
      attributes: {
        type: 'array',
        title: 'Attributes',
        items: { type: 'object', required: ['type', 'value'], properties: { type: { type: 'string' }, value: { type: 'string' }, category: { type: 'string' }, toIds: { type: 'boolean' }, comment: { type: 'string' } } },
      },
      data: { type: 'object', title: 'Template data' },
    },
  },
  output: { type: 'object', required: ['id', 'uuid', 'created'], properties: { id: { type: 'string' }, uuid: { type: 'string' }, info: { type: 'string' }, created: { type: 'boolean' } } },
  retry: { attempts: 5 },
  async run(input, ctx) {
    const uuid = uuidFor(ctx.idempotencyKey);
    const info = render(input.info, { ...input.data, ...input });
    const res = await ctx.http.request<{ Event?: { id?: string; uuid?: string; info?: string }; message?: string }>({
      method: 'POST',
      path: '/events/add',
      json: {
        Event: {
          uuid,
          info,
          threat_level_id: THREAT[input.threatLevel ?? 'medium'],
          analysis: ANALYSIS[input.analysis ?? 'initial'],
          distribution: String(input.distribution ?? 0),
          ...(input.tags?.length ? { Tag: input.tags.map((name) => ({ name })) } : {}),
          ...(input.attributes?.length
            ? { Attribute: input.attributes.map((a) => ({ type: a.type, value: a.value, category: a.category, to_ids: a.toIds ?? true, comment: a.comment ?? '' })) }
            : {}),
        },
      },
      accept: [403],
    });
    if (res.status === 403) {
      if (!/already exists/i.test(res.text)) throw new HttpError(`POST /events/add answered 403: ${res.body?.message ?? 'forbidden'}`, 'client', 403);
      const seen = await ctx.http.request<{ Event?: { id?: string; uuid?: string; info?: string } }>({ path: `/events/view/${uuid}` });
      if (!seen.body?.Event?.id) throw new HttpError('misp: the event exists but cannot be read', 'server', seen.status);
      return { id: String(seen.body.Event.id), uuid, info: seen.body.Event.info ?? info, created: false };
    }
    if (!res.body?.Event?.id) throw new HttpError('misp: the answer has no Event', 'server', res.status);
    return { id: String(res.body.Event.id), uuid: res.body.Event.uuid ?? uuid, info: res.body.Event.info ?? info, created: true };
  },
});
