import { defineActivity } from '../define.ts';
import { cache, config, credential, rateLimit, report, reportSchema, type Report } from './connector.ts';

/** VirusTotal's URL identifier: the URL in unpadded base64url. */
export const urlId = (url: string) => Buffer.from(url).toString('base64url');

export default defineActivity<{ url: string }, Report>({
  id: 'virustotal.lookupUrl',
  title: 'VirusTotal: look up URL',
  description: 'The VirusTotal report of a URL (GET /urls/{base64url of the URL}); it is not submitted for scanning.',
  config,
  credential,
  rateLimit,
  input: {
    type: 'object',
    required: ['url'],
    properties: { url: { type: 'string', title: 'URL', format: 'uri' } },
  },
  output: reportSchema,
  retry: { attempts: 5 },
  timeoutMs: 20_000,
  cache: cache((i) => (typeof i.url === 'string' ? i.url : undefined)),
  run: (input, ctx) => report(ctx, `/urls/${urlId(input.url)}`, 'url', urlId(input.url), ['url', 'final_url', 'title', 'categories', 'last_http_response_code']),
});
