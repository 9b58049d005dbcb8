import type { ActivityContext, CachePolicy, CredentialSpec, JsonSchema, RateLimit } from '../define.ts';
import { HttpError } from '../http-client.ts';

/** VirusTotal API v3: `x-apikey` header. */
export const credential: CredentialSpec = {
  name: 'virustotal',
  description: 'VirusTotal API key (Profile > API key)',
  fields: { apiKey: { description: 'API key, sent as x-apikey' } },
  apply: (c) => ({ 'x-apikey': c.apiKey ?? '' }),
};

export const config: JsonSchema = {
  type: 'object',
  properties: { baseUrl: { type: 'string', format: 'uri', default: 'https://www.virustotal.com/api/v3' } },
};

/** The public API's quota (the integration spec: 4 requests/minute); raise it for a premium key in SOAR_CONNECTORS_FILE. */
export const rateLimit: RateLimit = { max: 4, perMs: 60_000 };

/** Lookups cached 24 h, "not found" 1 h (the integration spec). */
export function cache<I>(key: (input: I) => string | undefined): CachePolicy<I, Report> {
  return { key, ttlS: 24 * 3600, negativeTtlS: 3600, isNegative: (o) => !o.found };
}

export interface Report {
  found: boolean;
  id: string;
  type: string;
  /** malicious when any engine says so, suspicious when any suspects it, else harmless/undetected. */
  verdict: 'malicious' | 'suspicious' | 'harmless' | 'undetected' | 'unknown';
  stats: Record<string, number>;
  reputation: number | null;
  lastAnalysisDate: string | null;
  tags: string[];
  link: string;
  /** Selected attributes of the object (names as VirusTotal spells them). */
  details: Record<string, unknown>;
}

export const reportSchema: JsonSchema = {
  type: 'object',
  required: ['found', 'id', 'type', 'verdict', 'stats', 'link'],
  properties: {
    found: { type: 'boolean' },
    id: { type: 'string' },
    type: { type: 'string' },
    verdict: { type: 'string', enum: ['malicious', 'suspicious', 'harmless', 'undetected', 'unknown'] },
    stats: { type: 'object' },
    reputation: { type: ['integer', 'null'] },
    lastAnalysisDate: { type: ['string', 'null'] },
    tags: { type: 'array', items: { type: 'string' } },
    link: { type: 'string' },
    details: { type: 'object' },
  },
};

const GUI: Record<string, string> = { file: 'file', ip_address: 'ip-address', domain: 'domain', url: 'url' };

/**
 * GET one object report. 404 (`NotFoundError`) is an answer, not a failure: `found: false`, cached
 * for an hour. 401 `WrongCredentialsError` and 400s fail the task; 429 `QuotaExceededError` and 5xx are retried.
 */
export async function report(ctx: ActivityContext, path: string, type: string, id: string, keep: string[]): Promise<Report> {
  const res = await ctx.http.request<{ data?: { id: string; type: string; attributes?: Record<string, unknown> }; error?: { code?: string } }>({ path, accept: [404] });
  const link = `https://www.virustotal.com/gui/${GUI[type] ?? type}/${encodeURIComponent(id)}`;
  if (res.status === 404) {
    if (res.body?.error?.code && res.body.error.code !== 'NotFoundError') throw new HttpError(`GET ${path} answered 404: ${res.body.error.code}`, 'client', 404);
    return { found: false, id, type, verdict: 'unknown', stats: {}, reputation: null, lastAnalysisDate: null, tags: [], link, details: {} };
  }
  const data = res.body?.data;
  if (!data) throw new HttpError(`GET ${path}: the answer has no data`, 'server', res.status);
  const a = data.attributes ?? {};
  const stats = (a.last_analysis_stats ?? {}) as Record<string, number>;
  const verdict = (stats.malicious ?? 0) > 0 ? 'malicious' : (stats.suspicious ?? 0) > 0 ? 'suspicious' : (stats.harmless ?? 0) > 0 ? 'harmless' : 'undetected';
  const date = typeof a.last_analysis_date === 'number' ? new Date(a.last_analysis_date * 1000).toISOString() : null;
  return {
    found: true,
    id: data.id,
    type: data.type,
    verdict,
    stats,
    reputation: typeof a.reputation === 'number' ? a.reputation : null,
    lastAnalysisDate: date,
    tags: Array.isArray(a.tags) ? (a.tags as string[]) : [],
    link: `https://www.virustotal.com/gui/${GUI[data.type] ?? data.type}/${encodeURIComponent(data.id)}`,
    details: Object.fromEntries(keep.filter((k) => a[k] !== undefined).map((k) => [k, a[k]])),
  };
}
