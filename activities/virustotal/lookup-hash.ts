import { defineActivity } from '../define.ts';
import { cache, config, credential, rateLimit, report, reportSchema, type Report } from './connector.ts';

export default defineActivity<{ hash: string }, Report>({
  id: 'virustotal.lookupHash',
  title: 'VirusTotal: look up file hash',
  description: 'The VirusTotal file report of an MD5, SHA-1 or SHA-256 hash (GET /files/{hash}); not found is an answer.',
  config,
  credential,
  rateLimit,
  input: {
    type: 'object',
    required: ['hash'],
    properties: { hash: { type: 'string', title: 'File hash', pattern: '^([A-Fa-f0-9]{32}|[A-Fa-f0-9]{40}|[A-Fa-f0-9]{64})$', description: 'MD5, SHA-1 or SHA-256' } },
  },
  output: reportSchema,
  retry: { attempts: 5 },
  timeoutMs: 20_000,
  cache: cache((i) => (typeof i.hash === 'string' ? i.hash.toLowerCase() : undefined)),
  run: (input, ctx) => report(ctx, `/files/${input.hash.toLowerCase()}`, 'file', input.hash.toLowerCase(), ['meaningful_name', 'type_description', 'size', 'sha256', 'md5', 'names', 'popular_threat_classification']),
});
