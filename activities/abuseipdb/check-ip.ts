import { defineActivity, type CredentialSpec } from '../define.ts';

export const credential: CredentialSpec = {
  name: 'abuseipdb',
  description: 'AbuseIPDB API key (Account > API)',
  fields: { apiKey: { description: 'API key, sent as the Key header' } },
  apply: (c) => ({ key: c.apiKey ?? '' }),
};

interface Report {
  ipAddress: string;
  abuseConfidenceScore: number;
  isPublic: boolean | null;
  isWhitelisted: boolean | null;
  countryCode: string | null;
  usageType: string | null;
  isp: string | null;
  domain: string | null;
  totalReports: number;
  numDistinctUsers: number;
  lastReportedAt: string | null;
}

/**
 * GET /api/v2/check. Errors come as `{ errors: [{ detail, status }] }`: 401 and 422 (a bad address)
 * fail the task; 429 (daily quota, with Retry-After) and 5xx are retried.
 */
export default defineActivity<{ ip: string; maxAgeInDays?: number }, Report>({
  id: 'abuseipdb.checkIp',
  title: 'AbuseIPDB: check IP',
  description: 'The abuse confidence score (0-100) and report counts of an IP address.',
  config: { type: 'object', properties: { baseUrl: { type: 'string', format: 'uri', default: 'https://api.abuseipdb.com/api/v2' } } },
  credential,
  input: {
    type: 'object',
    required: ['ip'],
    properties: {
      ip: { type: 'string', title: 'IP address', anyOf: [{ format: 'ipv4' }, { format: 'ipv6' }] },
      maxAgeInDays: { type: 'integer', title: 'Reports of the last n days', minimum: 1, maximum: 365, default: 90 },
    },
  },
  output: {
    type: 'object',
    required: ['ipAddress', 'abuseConfidenceScore', 'totalReports'],
    properties: { ipAddress: { type: 'string' }, abuseConfidenceScore: { type: 'integer' }, totalReports: { type: 'integer' } },
  },
  retry: { attempts: 5 },
  // the free plan: 1000 checks a day
  rateLimit: { max: 1000, perMs: 24 * 3600_000 },
  async run(input, ctx) {
    const res = await ctx.http.request<{ data?: Record<string, unknown> }>({ path: '/check', query: { ipAddress: input.ip, maxAgeInDays: input.maxAgeInDays ?? 90 } });
    const d = res.body?.data ?? {};
    const str = (v: unknown) => (typeof v === 'string' ? v : null);
    const bool = (v: unknown) => (typeof v === 'boolean' ? v : null);
    return {
      ipAddress: String(d.ipAddress ?? input.ip),
      abuseConfidenceScore: Number(d.abuseConfidenceScore ?? 0),
      isPublic: bool(d.isPublic),
      isWhitelisted: bool(d.isWhitelisted),
      countryCode: str(d.countryCode),
      usageType: str(d.usageType),
      isp: str(d.isp),
      domain: str(d.domain),
      totalReports: Number(d.totalReports ?? 0),
      numDistinctUsers: Number(d.numDistinctUsers ?? 0),
      lastReportedAt: str(d.lastReportedAt),
    };
  },
});
