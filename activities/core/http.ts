import { defineActivity } from '../define.ts';
import { NonRetryableError, RetryableError } from '../../engine/errors.ts';

export interface HttpInput {
  method?: string;
  url: string;
  headers?: Record<string, string> | string;
  query?: Record<string, string | number | boolean> | string;
  /** An object is sent as JSON; a string as it is. */
  body?: unknown;
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

export default defineActivity<HttpInput, HttpOutput>({
  id: 'core.http',
  description: 'Sends an HTTP request; the response status, headers and body are the output.',
  input: {
    type: 'object',
    required: ['url'],
    properties: {
      method: { type: 'string', default: 'GET' },
      url: { type: 'string', format: 'uri' },
      headers: { type: 'object', additionalProperties: { type: 'string' } },
      query: { type: 'object' },
      body: {},
      timeoutMs: { type: 'integer', minimum: 1, default: 30000 },
      failOnStatus: { type: 'boolean', default: true },
    },
  },
  retry: { attempts: 3, backoffMs: 1000 },
  async run(input, ctx) {
    let url: URL;
    try {
      url = new URL(String(input.url));
    } catch {
      throw new NonRetryableError('url is not a valid absolute URL');
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new NonRetryableError(`unsupported protocol ${url.protocol}`);
    const query = parseMaybeJson(input.query) as Record<string, unknown> | undefined;
    for (const [k, v] of Object.entries(query ?? {})) url.searchParams.set(k, String(v));

    const method = (input.method ?? 'GET').toUpperCase();
    const headers = new Headers((parseMaybeJson(input.headers) as Record<string, string> | undefined) ?? {});
    if (!headers.has('idempotency-key')) headers.set('Idempotency-Key', ctx.idempotencyKey);
    let body: string | undefined;
    if (input.body !== undefined && input.body !== null && method !== 'GET' && method !== 'HEAD') {
      if (typeof input.body === 'string') body = input.body;
      else {
        body = JSON.stringify(input.body);
        if (!headers.has('content-type')) headers.set('Content-Type', 'application/json');
      }
    }
    const timeoutMs = Number(input.timeoutMs ?? 30_000);
    const signal = AbortSignal.any([ctx.signal, AbortSignal.timeout(timeoutMs)]);

    let res: Response;
    try {
      res = await fetch(url, { method, headers, body, signal, redirect: 'follow' });
    } catch (err) {
      const e = err as Error;
      if (e.name === 'TimeoutError') throw new RetryableError(`${method} ${url.origin} timed out after ${timeoutMs} ms`);
      throw new RetryableError(`${method} ${url.origin} failed: ${(e.cause as Error | undefined)?.message ?? e.message}`);
    }
    const text = await res.text();
    const type = res.headers.get('content-type') ?? '';
    const output: HttpOutput = {
      status: res.status,
      headers: Object.fromEntries([...res.headers].filter(([name]) => !SECRET_HEADERS.has(name))),
      body: type.includes('json') ? parseMaybeJson(text) : text,
    };
    const failOnStatus = input.failOnStatus !== false && input.failOnStatus !== 'false';
    if (failOnStatus && res.status >= 400) {
      const msg = `${method} ${url.origin} answered ${res.status}`;
      if (res.status >= 500 || res.status === 429 || res.status === 408) throw new RetryableError(msg);
      throw new NonRetryableError(msg);
    }
    return output;
  },
});
