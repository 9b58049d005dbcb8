import { defineActivity, type CredentialSpec } from '../define.ts';
import { HttpError } from '../http-client.ts';
import { NonRetryableError } from '../../engine/errors.ts';

export type HttpAuth = 'none' | 'basic' | 'bearer' | 'apikey';

export interface HttpInput {
  method?: string;
  url: string;
  headers?: Record<string, string> | string;
  query?: Record<string, string | number | boolean> | string;
  /** An object is sent as JSON (or as a form with bodyType `form`); a string as it is. */
  body?: unknown;
  bodyType?: 'json' | 'form' | 'text';
  /** How the request authenticates; anything but `none` names a `credential`. */
  auth?: HttpAuth;
  /** The credential `http-<credential>`: SOAR_CRED_HTTP_<CREDENTIAL>_* (see credentialSpec). */
  credential?: string;
  timeoutMs?: number | string;
  /** Fail the task on a status >= 400 (default true): 5xx and 429 are retried, other 4xx are not. */
  failOnStatus?: boolean | string;
}

/*
 * Errors name only the origin: webhook URLs (Slack, Teams) carry their secret in the path, and an
 * error reaches logs, the step record and the API. Response headers that carry credentials are
 * not kept in the output either.
 */
const SECRET_HEADERS = new Set(['set-cookie', 'authorization', 'proxy-authenticate', 'www-authenticate']);
const ERROR_STATUSES = Array.from({ length: 200 }, (_, i) => 400 + i);

export interface HttpOutput {
  status: number;
  headers: Record<string, string>;
  body: unknown;
}

const parseMaybeJson = (v: unknown): unknown => {
  if (typeof v !== 'string') return v;
  try {
    return JSON.parse(v);
  } catch {
    return v;
  }
};

/**
 * The credential of a generic request: `http-<name>`, with the fields its auth type needs and a
 * `baseUrl` it is bound to. The credential is only sent to URLs under that base, so a playbook
 * cannot hand it to another host.
 */
export function httpCredential(name: string, auth: HttpAuth): CredentialSpec | undefined {
  if (auth === 'none') return undefined;
  const fields: CredentialSpec['fields'] = { baseUrl: { description: 'the only URL prefix this credential is sent to' } };
  if (auth === 'basic') Object.assign(fields, { username: { description: 'user name' }, password: { description: 'password' } });
  if (auth === 'bearer') Object.assign(fields, { token: { description: 'bearer token' } });
  if (auth === 'apikey') Object.assign(fields, { apiKey: { description: 'API key' }, header: { description: 'header that carries it (default X-API-Key)', optional: true } });
  return { name: `http-${name}`, description: `generic HTTP ${auth} credential "${name}"`, fields };
}

export default defineActivity<HttpInput, HttpOutput>({
  id: 'core.http',
  title: 'HTTP request',
  description: 'Sends an HTTP request (JSON, form or text body; no auth, basic, bearer or API key); the response status, headers and body are the output.',
  input: {
    type: 'object',
    required: ['url'],
    properties: {
      method: { type: 'string', enum: ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD', 'get', 'post', 'put', 'patch', 'delete', 'head'], default: 'GET' },
      url: { type: 'string', format: 'uri', title: 'URL' },
      headers: { type: ['object', 'string'], additionalProperties: { type: 'string' } },
      query: { type: ['object', 'string'] },
      body: { title: 'Body' },
      bodyType: { type: 'string', enum: ['json', 'form', 'text'], default: 'json' },
      auth: { type: 'string', enum: ['none', 'basic', 'bearer', 'apikey'], default: 'none' },
      credential: { type: 'string', pattern: '^[A-Za-z0-9_-]+$', description: 'credential name: SOAR_CRED_HTTP_<NAME>_* variables' },
      timeoutMs: { type: 'integer', minimum: 1, default: 30000 },
      failOnStatus: { type: 'boolean', default: true },
    },
  },
  output: { type: 'object', required: ['status', 'headers'], properties: { status: { type: 'integer' }, headers: { type: 'object' }, body: {} } },
  credential: (input) => (input.auth && input.auth !== 'none' ? httpCredential(String(input.credential ?? ''), input.auth) : undefined),
  retry: { attempts: 3, backoffMs: 1000 },
  // calls go anywhere: a breaker or a rate limit for "core" would hold up core.noop and core.delay
  breaker: false,
  async run(input, ctx) {
    let url: URL;
    try {
      url = new URL(String(input.url));
    } catch {
      throw new NonRetryableError('url is not a valid absolute URL');
    }
    const headers: Record<string, string> = { ...((parseMaybeJson(input.headers) as Record<string, string> | undefined) ?? {}) };
    const auth = input.auth ?? 'none';
    if (auth !== 'none') {
      if (!input.credential) throw new NonRetryableError(`auth ${auth} needs a credential name`);
      const c = ctx.credential!;
      const base = c.baseUrl ?? '';
      // bound to its base URL: a credential is never sent to a host or path outside it
      if (!base || !url.href.startsWith(base)) throw new NonRetryableError(`the credential "${input.credential}" is not for ${url.origin}`);
      if (auth === 'basic') headers.Authorization = `Basic ${Buffer.from(`${c.username}:${c.password}`).toString('base64')}`;
      if (auth === 'bearer') headers.Authorization = `Bearer ${c.token}`;
      if (auth === 'apikey') headers[c.header || 'X-API-Key'] = c.apiKey ?? '';
    }
    if (!Object.keys(headers).some((h) => h.toLowerCase() === 'idempotency-key')) headers['Idempotency-Key'] = ctx.idempotencyKey;

    const method = (input.method ?? 'GET').toUpperCase();
    const hasBody = input.body !== undefined && input.body !== null && method !== 'GET' && method !== 'HEAD';
    const body = !hasBody
      ? {}
      : typeof input.body === 'string' || input.bodyType === 'text'
        ? { body: typeof input.body === 'string' ? input.body : JSON.stringify(input.body) }
        : input.bodyType === 'form'
          ? { form: input.body as Record<string, string> }
          : { json: input.body };
    const failOnStatus = input.failOnStatus !== false && input.failOnStatus !== 'false';
    try {
      const res = await ctx.http.request({
        method,
        url: url.href,
        query: (parseMaybeJson(input.query) as Record<string, string> | undefined) ?? {},
        headers,
        ...body,
        timeoutMs: Number(input.timeoutMs ?? 30_000),
        ...(failOnStatus ? {} : { accept: ERROR_STATUSES }),
      });
      return {
        status: res.status,
        headers: Object.fromEntries([...res.headers].filter(([name]) => !SECRET_HEADERS.has(name))),
        body: res.body,
      };
    } catch (err) {
      // the API's error text may echo what was sent: keep the status only
      if (err instanceof HttpError) throw new HttpError(err.message.replace(/(answered \d+).*$/s, '$1'), err.kind, err.status, err.retryAfterMs);
      throw err;
    }
  },
});
