import { defineActivity, type CredentialSpec } from '../define.ts';
import { HttpError } from '../http-client.ts';

/** An HTTP Event Collector token, sent as `Authorization: Splunk <token>`. */
export const hecCredential: CredentialSpec = {
  name: 'splunk-hec',
  description: 'Splunk HTTP Event Collector token (Settings > Data inputs > HTTP Event Collector)',
  fields: { token: { description: 'HEC token' } },
  apply: (c) => ({ authorization: `Splunk ${c.token}` }),
};

interface Input {
  event: unknown;
  sourcetype?: string;
  source?: string;
  index?: string;
  host?: string;
  time?: number;
  fields?: Record<string, unknown>;
}

/**
 * POST /services/collector/event. HEC answers `{ text, code }`: 0 is success; 400 (6 invalid data
 * format), 401 (2 token required), 403 (4 invalid token) fail the task; 503 (9 server busy) is retried.
 */
export default defineActivity<Input, { delivered: boolean; code: number }>({
  id: 'splunk.sendEvent',
  title: 'Splunk: send event (HEC)',
  description: 'Sends one event to the HTTP Event Collector, e.g. the playbook\'s verdict for the alert.',
  config: {
    type: 'object',
    required: ['hecUrl'],
    properties: {
      hecUrl: { type: 'string', format: 'uri', description: 'the collector, e.g. https://splunk.corp.local:8088' },
      index: { type: 'string', description: 'default index' },
      sourcetype: { type: 'string', default: 'soar:playbook' },
    },
  },
  credential: hecCredential,
  input: {
    type: 'object',
    required: ['event'],
    properties: {
      event: { title: 'Event', description: 'an object or a string' },
      sourcetype: { type: 'string', title: 'Sourcetype' },
      source: { type: 'string', title: 'Source', default: 'soar' },
      index: { type: 'string', title: 'Index' },
      host: { type: 'string', title: 'Host' },
      time: { type: 'number', title: 'Time (epoch seconds)' },
      fields: { type: 'object', title: 'Indexed fields' },
    },
  },
  output: { type: 'object', required: ['delivered', 'code'], properties: { delivered: { type: 'boolean' }, code: { type: 'integer' } } },
  retry: { attempts: 5 },
  rateLimit: { max: 600, perMs: 60_000 },
  async run(input, ctx) {
    const cfg = ctx.config as { hecUrl: string; index?: string; sourcetype?: string };
    const res = await ctx.http.request<{ text?: string; code?: number }>({
      method: 'POST',
      url: `${cfg.hecUrl.replace(/\/+$/, '')}/services/collector/event`,
      json: {
        event: input.event,
        sourcetype: input.sourcetype ?? cfg.sourcetype,
        source: input.source,
        ...((input.index ?? cfg.index) ? { index: input.index ?? cfg.index } : {}),
        ...(input.host ? { host: input.host } : {}),
        ...(input.time !== undefined ? { time: input.time } : {}),
        ...(input.fields ? { fields: input.fields } : {}),
      },
    });
    const code = res.body?.code ?? 0;
    if (code !== 0) throw new HttpError(`splunk HEC: ${res.body?.text ?? 'error'} (code ${code})`, code === 9 ? 'server' : 'client', res.status);
    return { delivered: true, code };
  },
});
