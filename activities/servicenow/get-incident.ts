import { defineActivity } from '../define.ts';
import { authHeaders, config, credential, findIncident, toIncident, type Incident, type SnConfig } from './connector.ts';

/** GET /api/now/table/incident/{sys_id}, or by number; "not found" is an answer (`found: false`). */
export default defineActivity<{ sysId?: string; number?: string }, { found: boolean; incident: Incident | null }, SnConfig>({
  id: 'servicenow.getIncident',
  title: 'ServiceNow: get incident',
  description: 'Reads an incident by sys_id or number.',
  config,
  credential,
  input: {
    type: 'object',
    anyOf: [{ required: ['sysId'] }, { required: ['number'] }],
    properties: { sysId: { type: 'string', title: 'sys_id', pattern: '^[0-9a-f]{32}$' }, number: { type: 'string', title: 'Number', pattern: '^[A-Z]+[0-9]+$' } },
  },
  output: { type: 'object', required: ['found'], properties: { found: { type: 'boolean' }, incident: { type: ['object', 'null'] } } },
  retry: { attempts: 5 },
  rateLimit: { max: 100, perMs: 60_000 },
  async run(input, ctx) {
    if (input.sysId) {
      const res = await ctx.http.request<{ result?: Record<string, unknown> }>({
        path: `/api/now/table/incident/${input.sysId}`,
        query: { sysparm_exclude_reference_link: true },
        headers: await authHeaders(ctx),
        accept: [404],
      });
      return res.status === 404 || !res.body?.result ? { found: false, incident: null } : { found: true, incident: toIncident(ctx, res.body.result) };
    }
    const r = await findIncident(ctx, `number=${input.number}`);
    return r ? { found: true, incident: toIncident(ctx, r) } : { found: false, incident: null };
  },
});
