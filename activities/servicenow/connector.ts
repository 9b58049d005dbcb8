import type { ActivityContext, CredentialSpec, JsonSchema } from '../define.ts';
import { HttpError } from '../http-client.ts';

/**
 * Basic auth with a user that has the itil role; with clientId and clientSecret set too, an OAuth2
 * password grant against /oauth_token.do instead (the token is kept in memory until it expires).
 */
export const credential: CredentialSpec = {
  name: 'servicenow',
  description: 'ServiceNow user (itil role); OAuth2 client (System OAuth > Application Registry) optional',
  fields: {
    username: { description: 'user name' },
    password: { description: 'password' },
    clientId: { description: 'OAuth2 client id (use OAuth2 instead of basic auth)', optional: true },
    clientSecret: { description: 'OAuth2 client secret', optional: true },
  },
  apply: (c): Record<string, string> => (c.clientId ? {} : { authorization: `Basic ${Buffer.from(`${c.username}:${c.password}`).toString('base64')}` }),
};

export const config: JsonSchema = {
  type: 'object',
  required: ['baseUrl'],
  properties: {
    baseUrl: { type: 'string', format: 'uri', description: 'instance URL, e.g. https://dev12345.service-now.com' },
    callerId: { type: 'string', description: 'sys_id or user name set as caller_id of new incidents' },
    assignmentGroup: { type: 'string', description: 'default assignment_group of new incidents' },
    category: { type: 'string', default: 'security' },
  },
};

export interface SnConfig {
  baseUrl: string;
  callerId?: string;
  assignmentGroup?: string;
  category?: string;
}

export type Ctx = ActivityContext<SnConfig>;

export interface Incident {
  sysId: string;
  number: string;
  state: string;
  shortDescription: string;
  link: string;
  record: Record<string, unknown>;
}

export const incidentSchema: JsonSchema = {
  type: 'object',
  required: ['sysId', 'number', 'link'],
  properties: { sysId: { type: 'string' }, number: { type: 'string' }, state: { type: 'string' }, shortDescription: { type: 'string' }, link: { type: 'string' }, record: { type: 'object' } },
};

/** Severity -> impact and urgency (ServiceNow derives the priority: 1/1 is P1 Critical ... 3/3 is P5 Planning). */
export const SEVERITY: Record<string, { impact: string; urgency: string }> = {
  critical: { impact: '1', urgency: '1' },
  high: { impact: '1', urgency: '2' },
  medium: { impact: '2', urgency: '2' },
  low: { impact: '3', urgency: '3' },
};

/** Incident states by name (the out-of-box choice values). */
export const STATES: Record<string, string> = { new: '1', in_progress: '2', on_hold: '3', resolved: '6', closed: '7', canceled: '8' };

const tokens = new Map<string, { token: string; until: number }>();

/** Authorization for OAuth2 credentials (basic auth is applied by ctx.http itself). */
export async function authHeaders(ctx: Ctx): Promise<Record<string, string>> {
  const c = ctx.credential!;
  if (!c.clientId) return {};
  const id = `${ctx.config.baseUrl}|${c.clientId}|${c.username}`;
  const known = tokens.get(id);
  if (known && known.until > Date.now()) return { authorization: `Bearer ${known.token}` };
  const res = await ctx.http.request<{ access_token?: string; expires_in?: number }>({
    method: 'POST',
    path: '/oauth_token.do',
    form: { grant_type: 'password', client_id: c.clientId, client_secret: c.clientSecret, username: c.username, password: c.password },
  });
  if (!res.body?.access_token) throw new HttpError('servicenow /oauth_token.do: no access_token in the answer', 'client', res.status);
  tokens.set(id, { token: res.body.access_token, until: Date.now() + Math.max(0, (res.body.expires_in ?? 1800) - 60) * 1000 });
  return { authorization: `Bearer ${res.body.access_token}` };
}

export function toIncident(ctx: Ctx, r: Record<string, unknown>): Incident {
  const sysId = String(r.sys_id ?? '');
  return {
    sysId,
    number: String(r.number ?? ''),
    state: String(r.state ?? ''),
    shortDescription: String(r.short_description ?? ''),
    link: `${ctx.config.baseUrl.replace(/\/+$/, '')}/nav_to.do?uri=incident.do?sys_id=${sysId}`,
    record: r,
  };
}

/** Finds one incident by an encoded query (`number=INC0010001`, `correlation_id=...`). */
export async function findIncident(ctx: Ctx, query: string): Promise<Record<string, unknown> | undefined> {
  const res = await ctx.http.request<{ result?: Array<Record<string, unknown>> }>({
    path: '/api/now/table/incident',
    query: { sysparm_query: query, sysparm_limit: 1, sysparm_exclude_reference_link: true },
    headers: await authHeaders(ctx),
  });
  return res.body?.result?.[0];
}

/** The sys_id of an incident named by sys_id or number. */
export async function sysIdOf(ctx: Ctx, input: { sysId?: string; number?: string }): Promise<string> {
  if (input.sysId) return input.sysId;
  if (!input.number) throw new HttpError('give sysId or number', 'client');
  const found = await findIncident(ctx, `number=${input.number}`);
  if (!found) throw new HttpError(`servicenow: no incident ${input.number}`, 'client', 404);
  return String(found.sys_id);
}
