import { defineActivity } from '../define.ts';
import { cache, config, credential, rateLimit, report, reportSchema, type Report } from './connector.ts';

export default defineActivity<{ ip: string }, Report>({
  id: 'virustotal.lookupIp',
  title: 'VirusTotal: look up IP address',
  description: 'The VirusTotal report of an IPv4 or IPv6 address (GET /ip_addresses/{ip}).',
  config,
  credential,
  rateLimit,
  input: {
    type: 'object',
    required: ['ip'],
    properties: { ip: { type: 'string', title: 'IP address', anyOf: [{ format: 'ipv4' }, { format: 'ipv6' }] } },
  },
  output: reportSchema,
  retry: { attempts: 5 },
  timeoutMs: 20_000,
  cache: cache((i) => (typeof i.ip === 'string' ? i.ip : undefined)),
  run: (input, ctx) => report(ctx, `/ip_addresses/${encodeURIComponent(input.ip)}`, 'ip_address', input.ip, ['country', 'as_owner', 'asn', 'network', 'continent']),
});
