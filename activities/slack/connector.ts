import type { CredentialSpec, JsonSchema } from '../define.ts';

/** A bot token (xoxb-...), sent as `Authorization: Bearer`. */
export const botCredential: CredentialSpec = {
  name: 'slack',
  description: 'Slack app bot token (OAuth & Permissions > Bot User OAuth Token), scope chat:write',
  fields: { botToken: { description: 'xoxb-... bot token' } },
  apply: (c) => ({ authorization: `Bearer ${c.botToken}` }),
};

/** An incoming webhook URL: the URL is the secret. */
export const webhookCredential: CredentialSpec = {
  name: 'slack-webhook',
  description: 'Slack incoming webhook URL (https://hooks.slack.com/services/...)',
  fields: { url: { description: 'the webhook URL' } },
};

export const config: JsonSchema = {
  type: 'object',
  properties: { baseUrl: { type: 'string', format: 'uri', default: 'https://slack.com/api' } },
};

/** Slack Web API `error` codes worth retrying; every other `ok: false` is a fault of the request or the token. */
export const RETRYABLE_ERRORS = new Set(['ratelimited', 'internal_error', 'fatal_error', 'service_unavailable', 'request_timeout']);

export const messageInput = {
  text: { type: 'string', title: 'Message', minLength: 1, description: 'handlebars template over the task input, e.g. Alert {{alert.id}}', 'x-multiline': true },
  blocks: { type: 'array', title: 'Blocks (Block Kit)', items: { type: 'object' } },
  data: { type: 'object', title: 'Template data', description: 'extra values for the template' },
} as const;
