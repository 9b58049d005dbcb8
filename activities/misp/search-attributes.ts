import { defineActivity } from '../define.ts';
import { attributeSchema, config, credential, rateLimit, toAttribute, type Attribute } from './connector.ts';

interface Input {
  value?: string;
  type?: string;
  category?: string;
  tags?: string[];
  last?: string;
  toIds?: boolean;
  publishedOnly?: boolean;
  limit?: number;
}

/** POST /attributes/restSearch (returnFormat json): the indicators MISP knows for a value, type or tag. */
export default defineActivity<Input, { count: number; attributes: Attribute[] }>({
  id: 'misp.searchAttributes',
  title: 'MISP: search attributes',
  description: 'Searches attributes (indicators) by value, type, category, tags or age (restSearch).',
  config,
  credential,
  rateLimit,
  input: {
    type: 'object',
    anyOf: [{ required: ['value'] }, { required: ['type'] }, { required: ['tags'] }],
    properties: {
      value: { type: 'string', title: 'Value', description: 'the indicator; % is a wildcard' },
      type: { type: 'string', title: 'Attribute type', description: 'ip-src, domain, sha256, ...' },
      category: { type: 'string', title: 'Category' },
      tags: { type: 'array', title: 'Tags', items: { type: 'string' } },
      last: { type: 'string', title: 'Published within', pattern: '^[0-9]+[dhm]$', description: 'e.g. 30d' },
      toIds: { type: 'boolean', title: 'IDS flag only' },
      publishedOnly: { type: 'boolean', title: 'Published events only', default: false },
      limit: { type: 'integer', title: 'Limit', minimum: 1, maximum: 1000, default: 50 },
    },
  },
  output: { type: 'object', required: ['count', 'attributes'], properties: { count: { type: 'integer' }, attributes: { type: 'array', items: attributeSchema } } },
  retry: { attempts: 5 },
  async run(input, ctx) {
    const res = await ctx.http.request<{ response?: { Attribute?: Array<Record<string, unknown>> } }>({
      method: 'POST',
      path: '/attributes/restSearch',
      json: {
        returnFormat: 'json',
        page: 1,
        limit: input.limit ?? 50,
        ...(input.value ? { value: input.value } : {}),
        ...(input.type ? { type: input.type } : {}),
        ...(input.category ? { category: input.category } : {}),
        ...(input.tags ? { tags: input.tags } : {}),
        ...(input.last ? { last: input.last } : {}),
        ...(input.toIds !== undefined ? { to_ids: input.toIds } : {}),
        ...(input.publishedOnly ? { published: true } : {}),
        includeEventUuid: true,
      },
    });
    const attributes = (res.body?.response?.Attribute ?? []).map(toAttribute);
    return { count: attributes.length, attributes };
  },
});
