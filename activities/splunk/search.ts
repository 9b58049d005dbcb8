import { defineActivity, type CredentialSpec } from '../define.ts';
import { HttpError } from '../http-client.ts';

/** A Splunk authentication token (Settings > Tokens), sent as `Authorization: Bearer`. */
export const credential: CredentialSpec = {
  name: 'splunk',
  description: 'Splunk authentication token for the REST API (management port)',
  fields: { token: { description: 'authentication token' } },
  apply: (c) => ({ authorization: `Bearer ${c.token}` }),
};

interface Input {
  query: string;
  earliestTime?: string;
  latestTime?: string;
  maxResults?: number;
}

/**
 * POST /services/search/jobs/export (output_mode=json): runs the search and streams its results as
 * one JSON object per line (`{ preview, offset, result }`); the final, non-preview results are the output.
 */
export default defineActivity<Input, { count: number; results: Array<Record<string, unknown>>; messages: string[] }>({
  id: 'splunk.search',
  title: 'Splunk: run search',
  description: 'Runs a search (SPL) over a time range and returns its results.',
  config: {
    type: 'object',
    required: ['baseUrl'],
    properties: { baseUrl: { type: 'string', format: 'uri', description: 'the management API, e.g. https://splunk.corp.local:8089' } },
  },
  credential,
  input: {
    type: 'object',
    required: ['query'],
    properties: {
      query: { type: 'string', title: 'Search (SPL)', minLength: 1, description: 'e.g. index=edr host=ws-042 | head 10', 'x-multiline': true },
      earliestTime: { type: 'string', title: 'Earliest time', default: '-24h' },
      latestTime: { type: 'string', title: 'Latest time', default: 'now' },
      maxResults: { type: 'integer', title: 'Max results', minimum: 1, maximum: 10000, default: 100 },
    },
  },
  output: {
    type: 'object',
    required: ['count', 'results'],
    properties: { count: { type: 'integer' }, results: { type: 'array', items: { type: 'object' } }, messages: { type: 'array', items: { type: 'string' } } },
  },
  retry: { attempts: 3 },
  timeoutMs: 120_000,
  async run(input, ctx) {
    const q = input.query.trim();
    const search = q.startsWith('|') || /^search\s/i.test(q) ? q : `search ${q}`;
    const max = input.maxResults ?? 100;
    const res = await ctx.http.request({
      method: 'POST',
      path: '/services/search/jobs/export',
      form: { search, output_mode: 'json', earliest_time: input.earliestTime ?? '-24h', latest_time: input.latestTime ?? 'now', count: max },
    });
    const results: Array<Record<string, unknown>> = [];
    const messages: string[] = [];
    for (const line of res.text.split('\n')) {
      if (!line.trim()) continue;
      let row: { preview?: boolean; result?: Record<string, unknown>; messages?: Array<{ type?: string; text?: string }> };
      try {
        row = JSON.parse(line) as typeof row;
      } catch {
        throw new HttpError('splunk export: a line of the answer is not JSON', 'server', res.status);
      }
      for (const m of row.messages ?? []) {
        if (m.type === 'FATAL' || m.type === 'ERROR') throw new HttpError(`splunk search: ${m.text ?? 'error'}`, 'client', res.status);
        if (m.text) messages.push(m.text);
      }
      if (row.result && row.preview !== true && results.length < max) results.push(row.result);
    }
    return { count: results.length, results, messages };
  },
});
