import { bodyOf, json, standIn } from './common.ts';

export const VT_KEY = 'vt-key-0123456789abcdef';
export const MALICIOUS_SHA256 = '275a021bbfb6489e54d471899f7db9d1663fc695ec2fe2a2c4538aabf651fd0f';

/** VirusTotal API v3: x-apikey; /files/{hash}, /ip_addresses/{ip}, /domains/{d}, /urls/{id}; errors { error: { code, message } }. */
export function virustotalStandIn() {
  return standIn((req, res, url) => {
    void bodyOf;
    if (req.headers['x-apikey'] !== VT_KEY) return json(res, 401, { error: { code: 'WrongCredentialsError', message: 'Wrong API key' } });
    const m = /^\/api\/v3\/(files|ip_addresses|domains|urls)\/([^/]+)$/.exec(url.pathname);
    if (!m || req.method !== 'GET') return json(res, 404, { error: { code: 'NotFoundError', message: `Resource not found` } });
    const [, kind, id] = m;
    const type = { files: 'file', ip_addresses: 'ip_address', domains: 'domain', urls: 'url' }[kind!]!;
    const known = id === MALICIOUS_SHA256 || id === '203.0.113.66' || id === 'evil.example';
    if (kind === 'files' && !known) return json(res, 404, { error: { code: 'NotFoundError', message: `File "${id}" not found` } });
    json(res, 200, {
      data: {
        id,
        type,
        links: { self: `https://www.virustotal.com/api/v3/${kind}/${id}` },
        attributes: {
          last_analysis_stats: known ? { malicious: 52, suspicious: 1, undetected: 10, harmless: 0, timeout: 0 } : { malicious: 0, suspicious: 0, undetected: 20, harmless: 60, timeout: 0 },
          last_analysis_date: 1700000000,
          reputation: known ? -87 : 0,
          tags: known ? ['peexe', 'trojan'] : [],
          meaningful_name: 'invoice.exe',
          country: 'NL',
          as_owner: 'Example AS',
        },
      },
    });
  });
}
