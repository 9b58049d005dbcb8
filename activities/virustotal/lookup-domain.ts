import { defineActivity } from '../define.ts';
import { cache, config, credential, rateLimit, report, reportSchema, type Report } from './connector.ts';

export default defineActivity<{ domain: string }, Report>({
  id: 'virustotal.lookupDomain',
  title: 'VirusTotal: look up domain',
  description: 'The VirusTotal report of a domain (GET /domains/{domain}).',
  config,
  credential,
  rateLimit,
  input: {
    type: 'object',
    required: ['domain'],
    properties: { domain: { type: 'string', title: 'Domain', format: 'hostname' } },
  },
  output: reportSchema,
  retry: { attempts: 5 },
  timeoutMs: 20_000,
  cache: cache((i) => (typeof i.domain === 'string' ? i.domain.toLowerCase() : undefined)),
  run: (input, ctx) => report(ctx, `/domains/${encodeURIComponent(input.domain.toLowerCase())}`, 'domain', input.domain.toLowerCase(), ['registrar', 'categories', 'creation_date', 'last_dns_records']),
});
