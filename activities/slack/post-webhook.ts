import { defineActivity } from '../define.ts';
import { render } from '../template.ts';
import { messageInput, webhookCredential } from './connector.ts';

interface Input {
  text: string;
  blocks?: unknown[];
  data?: Record<string, unknown>;
}

/**
 * An incoming webhook. Slack answers `ok` (text), or 400 invalid_payload, 403 action_prohibited,
 * 404 no_service / channel_not_found, 410 channel_is_archived: none is retried.
 */
export default defineActivity<Input, { delivered: boolean; text: string }>({
  id: 'slack.postWebhook',
  title: 'Slack: post to incoming webhook',
  description: 'Posts a message to the channel of an incoming webhook; the text is a handlebars template over the input.',
  credential: webhookCredential,
  input: { type: 'object', required: ['text'], properties: { ...messageInput } },
  output: { type: 'object', required: ['delivered'], properties: { delivered: { type: 'boolean' }, text: { type: 'string' } } },
  retry: { attempts: 5 },
  rateLimit: { max: 60, perMs: 60_000 },
  async run(input, ctx) {
    const text = render(input.text, { ...input.data, ...input });
    await ctx.http.request({ method: 'POST', url: ctx.credential!.url!, json: { text, ...(input.blocks ? { blocks: input.blocks } : {}) } });
    return { delivered: true, text };
  },
});
