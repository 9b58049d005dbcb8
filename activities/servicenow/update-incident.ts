import { defineActivity } from '../define.ts';
import { HttpError } from '../http-client.ts';
import { render } from '../template.ts';
import { authHeaders, config, credential, incidentSchema, STATES, sysIdOf, toIncident, type Incident, type SnConfig } from './connector.ts';

interface Input {
  sysId?: string;
  number?: string;
  state?: string;
  workNotes?: string;
  comments?: string;
  closeCode?: string;
  closeNotes?: string;
  fields?: Record<string, unknown>;
  data?: Record<string, unknown>;
}

/** PATCH /api/now/table/incident/{sys_id}: a state by name or number, work notes, any other column. Setting fields twice is harmless. */
export default defineActivity<Input, Incident, SnConfig>({
  id: 'servicenow.updateIncident',
  title: 'ServiceNow: update incident',
  description: 'Updates an incident named by sys_id or number: state (new, in_progress, on_hold, resolved, closed, canceled or a number), work notes, comments, close code and notes, other fields.',
  config,
  credential,
  input: {
    type: 'object',
    anyOf: [{ required: ['sysId'] }, { required: ['number'] }],
    properties: {
      sysId: { type: 'string', title: 'sys_id', pattern: '^[0-9a-f]{32}$' },
      number: { type: 'string', title: 'Number', pattern: '^[A-Z]+[0-9]+$' },
      state: { type: 'string', title: 'State', description: 'new, in_progress, on_hold, resolved, closed, canceled, or a state value' },
      workNotes: { type: 'string', title: 'Work notes', description: 'handlebars template', 'x-multiline': true },
      comments: { type: 'string', title: 'Additional comments', description: 'handlebars template' },
      closeCode: { type: 'string', title: 'Close code' },
      closeNotes: { type: 'string', title: 'Close notes' },
      fields: { type: 'object', title: 'Other fields' },
      data: { type: 'object', title: 'Template data' },
    },
  },
  output: incidentSchema,
  retry: { attempts: 5 },
  rateLimit: { max: 100, perMs: 60_000 },
  async run(input, ctx) {
    const sysId = await sysIdOf(ctx, input);
    const data = { ...input.data, ...input };
    const body: Record<string, unknown> = {
      ...(input.state ? { state: STATES[input.state.toLowerCase()] ?? input.state } : {}),
      ...(input.workNotes ? { work_notes: render(input.workNotes, data) } : {}),
      ...(input.comments ? { comments: render(input.comments, data) } : {}),
      ...(input.closeCode ? { close_code: input.closeCode } : {}),
      ...(input.closeNotes ? { close_notes: input.closeNotes } : {}),
      ...input.fields,
    };
    const res = await ctx.http.request<{ result?: Record<string, unknown> }>({ method: 'PATCH', path: `/api/now/table/incident/${sysId}`, json: body, headers: await authHeaders(ctx) });
    if (!res.body?.result) throw new HttpError('servicenow: the answer has no result', 'server', res.status);
    return toIncident(ctx, res.body.result);
  },
});
