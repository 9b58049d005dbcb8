import type { CredentialSpec, JsonSchema } from '../define.ts';

/** MISP automation key, sent as the bare `Authorization` header value. */
export const credential: CredentialSpec = {
  name: 'misp',
  description: 'MISP automation key (Event Actions > Automation, or the user\'s Auth keys)',
  fields: { apiKey: { description: 'automation / auth key' } },
  apply: (c) => ({ authorization: c.apiKey ?? '' }),
};

export const config: JsonSchema = {
  type: 'object',
  required: ['baseUrl'],
  properties: { baseUrl: { type: 'string', format: 'uri', description: 'https://misp.corp.local' } },
};

export const rateLimit = { max: 120, perMs: 60_000 };

export const ATTRIBUTE_TYPES = ['ip-src', 'ip-dst', 'domain', 'hostname', 'url', 'md5', 'sha1', 'sha256', 'email-src', 'filename', 'text'];

export interface Attribute {
  id: string;
  eventId: string;
  type: string;
  category: string;
  value: string;
  toIds: boolean;
  comment: string;
  timestamp: string | null;
  eventInfo: string | null;
}

export function toAttribute(a: Record<string, unknown>): Attribute {
  const ev = a.Event as { info?: string } | undefined;
  return {
    id: String(a.id ?? ''),
    eventId: String(a.event_id ?? ''),
    type: String(a.type ?? ''),
    category: String(a.category ?? ''),
    value: String(a.value ?? ''),
    toIds: a.to_ids === true || a.to_ids === '1',
    comment: String(a.comment ?? ''),
    timestamp: a.timestamp ? new Date(Number(a.timestamp) * 1000).toISOString() : null,
    eventInfo: ev?.info ?? null,
  };
}

export const attributeSchema: JsonSchema = {
  type: 'object',
  required: ['id', 'type', 'value'],
  properties: { id: { type: 'string' }, eventId: { type: 'string' }, type: { type: 'string' }, category: { type: 'string' }, value: { type: 'string' }, toIds: { type: 'boolean' } },
};
