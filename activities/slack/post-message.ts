import { defineActivity } from '../define.ts';
import { HttpError } from '../http-client.ts';
import { render } from '../template.ts';
import { botCredential, config, messageInput, RETRYABLE_ERRORS } from './connector.ts';

interface Input {
  channel: string;
  text: string;
  blocks?: unknown[];
  threadTs?: string;
  data?: Record<string, unknown>;
}

interface SlackAnswer {
  ok: boolean;
  error?: string;
  channel?: string;
  ts?: string;
}

/**
 * chat.postMessage. Slack answers HTTP 200 with `{ ok: false, error }` for most failures: those are
 * classified here by their error code (invalid_auth, channel_not_found: not retryable; internal_error: retryable).
 */
export default defineActivity<Input, { channel: string; ts: string; text: string }>({
  id: 'slack.postMessage',
  title: 'Slack: post message',
  description: 'Posts a message to a channel with the bot token (chat.postMessage); the text is a handlebars template over the input.',
  config,
  credential: botCredential,
  input: {
    type: 'object',
    required: ['channel', 'text'],
    properties: {
      channel: { type: 'string', title: 'Channel', minLength: 1, description: 'channel id (C0123...) or name' },
      ...messageInput,
      threadTs: { type: 'string', title: 'Thread ts', description: 'reply in this thread' },
    },
  },
  output: { type: 'object', required: ['channel', 'ts'], properties: { channel: { type: 'string' }, ts: { type: 'string' }, text: { type: 'string' } } },
  retry: { attempts: 5 },
  rateLimit: { max: 50, perMs: 60_000 },
  async run(input, ctx) {
    const text = render(input.text, { ...input.data, ...input });
    const res = await ctx.http.request<SlackAnswer>({
      method: 'POST',
      path: '/chat.postMessage',
      headers: { 'content-type': 'application/json; charset=utf-8' },
      json: { channel: input.channel, text, ...(input.blocks ? { blocks: input.blocks } : {}), ...(input.threadTs ? { thread_ts: input.threadTs } : {}) },
    });
    if (!res.body?.ok) {
      const code = res.body?.error ?? 'unknown_error';
      throw new HttpError(`slack chat.postMessage: ${code}`, RETRYABLE_ERRORS.has(code) ? 'server' : 'client', res.status);
    }
    return { channel: res.body.channel ?? input.channel, ts: res.body.ts ?? '', text };
  },
});
