/**
 * ctx.http: fetch with the connector's base URL, its credential headers, a per-call timeout and the
 * task's AbortSignal applied, and every failure classified the same way for every connector:
 *
 *   timeout, connection error, 5xx, 408  -> RetryableError   (counts against the circuit breaker)
 *   429                                  -> RetryableError with retryAfterMs from Retry-After
 *   400, 401, 403, 404, other 4xx        -> NonRetryableError (unless the caller accepts the status)
 *
 * Error messages name the method, the origin, the request's own path and the API's error text, never
 * the base URL's path (a webhook URL is a secret) and never a credential value (they are scrubbed).
 */

export type ErrorKind = 'timeout' | 'connection' | 'server' | 'rate-limited' | 'client';

/** A failed call. `name` is RetryableError or NonRetryableError: it is classified by name across Redis. */
export class HttpError extends Error {
  override name: 'RetryableError' | 'NonRetryableError';
  constructor(
    message: string,
    readonly kind: ErrorKind,
    readonly status?: number,
    /** From a 429's Retry-After (seconds or an HTTP date). */
    readonly retryAfterMs?: number,
    /** The response body, parsed (for handlers that map a product's error codes). */
    readonly body?: unknown,
  ) {
    super(message);
    this.name = kind === 'client' ? 'NonRetryableError' : 'RetryableError';
  }
}

export interface HttpRequest {
  method?: string;
  /** Appended to the base URL (`/files/abc`). */
  path?: string;
  /** An absolute URL instead of base URL + path. */
  url?: string;
  query?: Record<string, string | number | boolean | undefined | null>;
  headers?: Record<string, string>;
  /** Sent as application/json. */
  json?: unknown;
  /** Sent as application/x-www-form-urlencoded. */
  form?: Record<string, string | number | boolean | undefined>;
  /** Sent as it is. */
  body?: string;
  /** Statuses answered as a response instead of an error (e.g. [404] for "not found" results). */
  accept?: number[];
  timeoutMs?: number;
}

export interface HttpResponse<T = unknown> {
  status: number;
  headers: Headers;
  /** Parsed JSON when the response says so (or looks like it), else the text. */
  body: T;
  text: string;
}

export interface HttpClient {
  request<T = unknown>(req: HttpRequest): Promise<HttpResponse<T>>;
}

export interface HttpClientOptions {
  baseUrl?: string;
  headers?: Record<string, string>;
  /** Credential values: scrubbed from every error message. */
  secrets?: string[];
  signal: AbortSignal;
  timeoutMs: number;
  beforeRequest?: () => Promise<void>;
}

export function createHttpClient(o: HttpClientOptions): HttpClient {
  const scrub = scrubber(o.secrets ?? []);
  return {
    async request<T>(req: HttpRequest): Promise<HttpResponse<T>> {
      const method = (req.method ?? 'GET').toUpperCase();
      const url = buildUrl(o.baseUrl, req);
      const shown = `${method} ${url.origin}${req.url ? '' : (req.path ?? '').split('?')[0]}`;
      const headers = new Headers({ accept: 'application/json', ...o.headers, ...req.headers });
      let body: string | undefined;
      if (req.json !== undefined) {
        body = JSON.stringify(req.json);
        if (!headers.has('content-type')) headers.set('content-type', 'application/json');
      } else if (req.form) {
        body = new URLSearchParams(Object.entries(req.form).filter(([, v]) => v !== undefined).map(([k, v]): [string, string] => [k, String(v)])).toString();
        if (!headers.has('content-type')) headers.set('content-type', 'application/x-www-form-urlencoded');
      } else if (req.body !== undefined) body = req.body;

      await o.beforeRequest?.();
      const timeoutMs = req.timeoutMs ?? o.timeoutMs;
      const signal = AbortSignal.any([o.signal, AbortSignal.timeout(timeoutMs)]);
      let res: Response;
      try {
        res = await fetch(url, { method, headers, body, signal, redirect: 'follow' });
      } catch (err) {
        const e = err as Error;
        if (e.name === 'TimeoutError') throw new HttpError(`${shown} timed out after ${timeoutMs} ms`, 'timeout');
        if (e.name === 'AbortError') throw new HttpError(`${shown} was cancelled`, 'connection');
        throw new HttpError(scrub(`${shown} failed: ${(e.cause as Error | undefined)?.message ?? e.message}`), 'connection');
      }
      let text: string;
      try {
        text = await res.text();
      } catch (err) {
        throw new HttpError(`${shown}: the response broke off (${(err as Error).name})`, (err as Error).name === 'TimeoutError' ? 'timeout' : 'connection');
      }
      const parsed = parseBody(text, res.headers.get('content-type'));
      if (res.status < 400 || req.accept?.includes(res.status)) return { status: res.status, headers: res.headers, body: parsed as T, text };

      const says = apiMessage(parsed);
      const message = scrub(`${shown} answered ${res.status}${says ? `: ${says}` : ''}`);
      if (res.status === 429) throw new HttpError(message, 'rate-limited', 429, retryAfterMs(res.headers.get('retry-after')), parsed);
      if (res.status >= 500 || res.status === 408) throw new HttpError(message, 'server', res.status, undefined, parsed);
      throw new HttpError(message, 'client', res.status, undefined, parsed);
    },
  };
}

function buildUrl(baseUrl: string | undefined, req: HttpRequest): URL {
  let url: URL;
  try {
    if (req.url) url = new URL(req.url);
    else if (baseUrl) url = new URL(baseUrl.replace(/\/+$/, '') + (req.path ?? ''));
    else throw new Error('no base URL');
  } catch {
    throw new HttpError(req.url ? 'the URL is not a valid absolute URL' : 'the connector has no valid baseUrl configured', 'client');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new HttpError(`unsupported protocol ${url.protocol}`, 'client');
  for (const [k, v] of Object.entries(req.query ?? {})) if (v !== undefined && v !== null) url.searchParams.set(k, String(v));
  return url;
}

function parseBody(text: string, type: string | null): unknown {
  if (!text) return null;
  if (type?.includes('json') || /^\s*[[{]/.test(text)) {
    try {
      return JSON.parse(text);
    } catch {
      return text;
    }
  }
  return text;
}

/** Retry-After in ms: delta-seconds or an HTTP date. */
export function retryAfterMs(header: string | null, now = Date.now()): number | undefined {
  if (!header) return undefined;
  const s = Number(header.trim());
  if (Number.isFinite(s) && s >= 0) return Math.round(s * 1000);
  const at = Date.parse(header);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

/**
 * The error text of the products' error bodies: Slack `{error}`, Jira `{errorMessages, errors}`,
 * ServiceNow `{error: {message, detail}}`, VirusTotal `{error: {code, message}}`, MISP `{message}`,
 * Splunk `{text}` / `{messages: [{text}]}`, AbuseIPDB `{errors: [{detail}]}`; plain text as it is.
 */
export function apiMessage(body: unknown): string | undefined {
  if (typeof body === 'string') return body.trim().slice(0, 200) || undefined;
  if (!body || typeof body !== 'object') return undefined;
  const b = body as Record<string, unknown>;
  const err = b.error;
  if (typeof err === 'string') return err;
  if (err && typeof err === 'object') {
    const e = err as Record<string, unknown>;
    return [e.code, e.message, e.detail].filter((x) => typeof x === 'string' && x).join(': ') || undefined;
  }
  if (Array.isArray(b.errorMessages) && b.errorMessages.length) return b.errorMessages.join('; ');
  if (b.errors && typeof b.errors === 'object') {
    if (Array.isArray(b.errors)) return b.errors.map((e) => (e as { detail?: string }).detail ?? JSON.stringify(e)).join('; ') || undefined;
    const entries = Object.entries(b.errors as Record<string, unknown>);
    if (entries.length) return entries.map(([k, v]) => `${k}: ${String(v)}`).join('; ');
  }
  if (Array.isArray(b.messages) && b.messages.length) return b.messages.map((m) => (m as { text?: string }).text).filter(Boolean).join('; ') || undefined;
  if (typeof b.message === 'string') return b.message;
  if (typeof b.text === 'string') return b.text;
  return undefined;
}

/** Replaces every secret value (4+ characters) in a text with [redacted]. */
export function scrubber(secrets: string[]): (text: string) => string {
  const values = [...new Set(secrets.filter((s) => typeof s === 'string' && s.length >= 4))].sort((a, b) => b.length - a.length);
  if (!values.length) return (t) => t;
  return (text) => values.reduce((t, v) => t.split(v).join('[redacted]').split(encodeURIComponent(v)).join('[redacted]'), text);
}
