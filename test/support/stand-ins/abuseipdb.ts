import { json, standIn } from './common.ts';

export const ABUSE_KEY = 'abuseipdb-key-5e4d3c2b1a';

/** AbuseIPDB API v2: Key header; errors { errors: [{ detail, status }] }. */
export function abuseipdbStandIn() {
  return standIn((req, res, url) => {
    if (req.headers.key !== ABUSE_KEY) return json(res, 401, { errors: [{ detail: 'Authentication failed. Your API key is either missing, incorrect, or revoked.', status: 401 }] });
    if (url.pathname !== '/api/v2/check') return json(res, 404, { errors: [{ detail: 'Not Found', status: 404 }] });
    const ip = url.searchParams.get('ipAddress') ?? '';
    json(res, 200, {
      data: { ipAddress: ip, isPublic: true, ipVersion: 4, isWhitelisted: false, abuseConfidenceScore: ip === '203.0.113.66' ? 100 : 0, countryCode: 'NL', usageType: 'Data Center/Web Hosting/Transit', isp: 'Example', domain: 'example.net', totalReports: 42, numDistinctUsers: 7, lastReportedAt: '2026-11-20T10:00:00+00:00' },
    });
  });
}
