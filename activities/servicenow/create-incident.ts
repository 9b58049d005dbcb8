import { defineActivity } from '../define.ts';
import { HttpError } from '../http-client.ts';
import { idempotencyTag, render } from '../template.ts';
import { authHeaders, config, credential, findIncident, incidentSchema, SEVERITY, toIncident, type Incident, type SnConfig } from './connector.ts';

interface Input {
  shortDescription: string;
  description?: string;
  severity?: 'critical' | 'high' | 'medium' | 'low';
  assignmentGroup?: string;
  fields?: Record<string, unknown>;
  data?: Record<string, unknown>;
}

/**
 * POST /api/now/table/incident. Idempotent: the incident carries correlation_id = a hash of the
 * task's idempotency key, and a retried or redelivered job finds it (GET with sysparm_query) instead
 * of opening a second one.
 */
export default defineActivity<Input, Incident & { created: boolean }, SnConfig>({
  id: 'servicenow.createIncident',
  title: 'ServiceNow: create incident',
  description: 'Opens an incident (Table API); severity maps to impact and urgency; short description and description are handlebars templates; `fields` sets any other column.',
  config,
  credential,
  input: {
    type: 'object',
    required: ['shortDescription'],
    properties: {
      shortDescription: { type: 'string', title: 'Short description', minLength: 1, maxLength: 160, description: 'handlebars template' },
      description: { type: 'string', title: 'Description', description: 'handlebars template', 'x-multiline': true },
      severity: { type: 'string', title: 'Severity', enum: ['critical', 'high', 'medium', 'low'], default: 'medium' },
      assignmentGroup: { type: 'string', title: 'Assignment group' },
      fields: { type: 'object', title: 'Other fields', description: 'column -> value, e.g. {"u_alert_id": "A-1"}' },
      data: { type: 'object', title: 'Template data' },
    },
  },
  output: { ...incidentSchema, properties: { ...(incidentSchema.properties as object), created: { type: 'boolean' } } },
  retry: { attempts: 5 },
  rateLimit: { max: 100, perMs: 60_000 },
  async run(input, ctx) {
    const correlationId = `soar-${idempotencyTag(ctx.idempotencyKey)}`;
    const existing = await findIncident(ctx, `correlation_id=${correlationId}`);
    if (existing) {
      ctx.logger.info('incident already opened by an earlier try', { number: existing.number });
      return { ...toIncident(ctx, existing), created: false };
    }
    const data = { ...input.data, ...input };
    const body: Record<string, unknown> = {
      short_description: render(input.shortDescription, data),
      ...(input.description ? { description: render(input.description, data) } : {}),
      ...SEVERITY[input.severity ?? 'medium'],
      category: ctx.config.category,
      ...(ctx.config.callerId ? { caller_id: ctx.config.callerId } : {}),
      ...((input.assignmentGroup ?? ctx.config.assignmentGroup) ? { assignment_group: input.assignmentGroup ?? ctx.config.assignmentGroup } : {}),
      ...input.fields,
      correlation_id: correlationId,
      correlation_display: 'SOAR',
    };
    const res = await ctx.http.request<{ result?: Record<string, unknown> }>({ method: 'POST', path: '/api/now/table/incident', json: body, headers: await authHeaders(ctx) });
    if (!res.body?.result) throw new HttpError('servicenow: the answer has no result', 'server', res.status);
    return { ...toIncident(ctx, res.body.result), created: true };
  },
});
