import { defineActivity, type CredentialSpec } from '../define.ts';
import { HttpError } from '../http-client.ts';
import { render } from '../template.ts';

export const credential: CredentialSpec = {
  name: 'teams-webhook',
  description: 'Microsoft Teams incoming webhook URL (Workflows "post to a channel when a webhook request is received", or a legacy connector)',
  fields: { url: { description: 'the webhook URL' } },
};

interface Input {
  title: string;
  text: string;
  severity?: 'critical' | 'high' | 'medium' | 'low' | 'info';
  facts?: Record<string, unknown>;
  linkUrl?: string;
  linkTitle?: string;
  data?: Record<string, unknown>;
}

const COLOR: Record<string, string> = { critical: 'Attention', high: 'Attention', medium: 'Warning', low: 'Good', info: 'Default' };

/** The message a Teams webhook takes: one Adaptive Card attachment. */
export function adaptiveCard(title: string, text: string, input: Input): Record<string, unknown> {
  const facts = Object.entries(input.facts ?? {}).map(([k, v]) => ({ title: k, value: typeof v === 'string' ? v : JSON.stringify(v) }));
  return {
    type: 'message',
    attachments: [
      {
        contentType: 'application/vnd.microsoft.card.adaptive',
        contentUrl: null,
        content: {
          $schema: 'http://adaptivecards.io/schemas/adaptive-card.json',
          type: 'AdaptiveCard',
          version: '1.4',
          body: [
            { type: 'TextBlock', text: title, weight: 'Bolder', size: 'Medium', wrap: true, color: COLOR[input.severity ?? 'info'] ?? 'Default' },
            { type: 'TextBlock', text, wrap: true },
            ...(facts.length ? [{ type: 'FactSet', facts }] : []),
          ],
          ...(input.linkUrl ? { actions: [{ type: 'Action.OpenUrl', title: input.linkTitle ?? 'Open', url: input.linkUrl }] } : {}),
        },
      },
    ],
  };
}

/**
 * Posts an Adaptive Card to a Teams incoming webhook. Legacy connectors answer 200 with the text `1`,
 * Workflows webhooks 202; a legacy connector also answers 200 with "Webhook message delivery failed
 * with error: ... HTTP error 429" when throttled, which is retried like a 429.
 */
export default defineActivity<Input, { delivered: boolean; status: number }>({
  id: 'teams.postCard',
  title: 'Microsoft Teams: post card',
  description: 'Posts an Adaptive Card (title, text, facts, a link) to a Teams channel webhook; title and text are handlebars templates.',
  credential,
  input: {
    type: 'object',
    required: ['title', 'text'],
    properties: {
      title: { type: 'string', title: 'Title', minLength: 1, description: 'handlebars template' },
      text: { type: 'string', title: 'Text', minLength: 1, description: 'handlebars template', 'x-multiline': true },
      severity: { type: 'string', title: 'Severity', enum: ['critical', 'high', 'medium', 'low', 'info'], default: 'info' },
      facts: { type: 'object', title: 'Facts', description: 'name -> value, shown as a fact set' },
      linkUrl: { type: 'string', title: 'Link URL', format: 'uri' },
      linkTitle: { type: 'string', title: 'Link title' },
      data: { type: 'object', title: 'Template data' },
    },
  },
  output: { type: 'object', required: ['delivered', 'status'], properties: { delivered: { type: 'boolean' }, status: { type: 'integer' } } },
  retry: { attempts: 5 },
  rateLimit: { max: 4, perMs: 1_000 },
  async run(input, ctx) {
    const data = { ...input.data, ...input };
    const card = adaptiveCard(render(input.title, data), render(input.text, data), input);
    const res = await ctx.http.request({ method: 'POST', url: ctx.credential!.url!, json: card });
    if (typeof res.body === 'string' && /delivery failed/i.test(res.body)) {
      const throttled = /\b429\b/.test(res.body);
      throw new HttpError(`teams webhook: ${res.body.slice(0, 160)}`, throttled ? 'rate-limited' : /\b5\d\d\b/.test(res.body) ? 'server' : 'client', res.status);
    }
    return { delivered: true, status: res.status };
  },
});
