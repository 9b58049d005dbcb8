import { defineActivity } from '../define.ts';
import { config, credential, rateLimit } from './connector.ts';

const TYPES: Record<string, string> = { sighting: '0', 'false-positive': '1', expiration: '2' };

/** POST /sightings/add: records that an indicator was seen (or was a false positive) by this source. */
export default defineActivity<{ value: string; type?: string; source?: string }, { id: string | null; value: string; type: string }>({
  id: 'misp.addSighting',
  title: 'MISP: add sighting',
  description: 'Adds a sighting (or false positive, or expiration) to every attribute with this value.',
  config,
  credential,
  rateLimit,
  input: {
    type: 'object',
    required: ['value'],
    properties: {
      value: { type: 'string', title: 'Value', minLength: 1 },
      type: { type: 'string', title: 'Sighting type', enum: ['sighting', 'false-positive', 'expiration'], default: 'sighting' },
      source: { type: 'string', title: 'Source', default: 'soar' },
    },
  },
  output: { type: 'object', required: ['value', 'type'], properties: { id: { type: ['string', 'null'] }, value: { type: 'string' }, type: { type: 'string' } } },
  retry: { attempts: 5 },
  async run(input, ctx) {
    const type = input.type ?? 'sighting';
    const res = await ctx.http.request<{ Sighting?: { id?: string } | Array<{ Sighting?: { id?: string } }> }>({
      method: 'POST',
      path: '/sightings/add',
      json: { value: input.value, type: TYPES[type], source: input.source ?? 'soar' },
    });
    const s = res.body?.Sighting;
    const id = Array.isArray(s) ? (s[0]?.Sighting?.id ?? null) : (s?.id ?? null);
    return { id: id === null ? null : String(id), value: input.value, type };
  },
});
