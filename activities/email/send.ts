import nodemailer from 'nodemailer';
import { defineActivity, type CredentialSpec } from '../define.ts';
import { HttpError } from '../http-client.ts';
import { idempotencyTag, render } from '../template.ts';

export const credential: CredentialSpec = {
  name: 'smtp',
  description: 'SMTP login (leave both unset for a relay that takes mail without one)',
  fields: { username: { description: 'SMTP user', optional: true }, password: { description: 'SMTP password', optional: true } },
};

interface Config {
  host: string;
  port: number;
  secure: boolean;
  from: string;
  requireTls: boolean;
  rejectUnauthorized: boolean;
}

interface Input {
  to: string | string[];
  cc?: string | string[];
  subject: string;
  text: string;
  html?: string;
  data?: Record<string, unknown>;
}

/**
 * Sends a notification over SMTP (nodemailer). The Message-ID is derived from the task's
 * idempotency key, so a mail sent twice by a redelivered job is recognisable as one by mail clients.
 * SMTP 4xx replies and connection errors are retried; 5xx replies (535 bad login, 550 no such user) are not.
 */
export default defineActivity<Input, { messageId: string; accepted: string[]; rejected: string[] }, Config>({
  id: 'email.send',
  title: 'Email: send',
  description: 'Sends an email over SMTP; subject, text and HTML are handlebars templates over the input (HTML values escaped).',
  config: {
    type: 'object',
    required: ['host', 'from'],
    properties: {
      host: { type: 'string', description: 'SMTP server' },
      port: { type: 'integer', default: 587 },
      secure: { type: 'boolean', default: false, description: 'TLS from the start (port 465); otherwise STARTTLS when offered' },
      from: { type: 'string', description: 'sender, e.g. "SOAR <soar@corp.local>"' },
      requireTls: { type: 'boolean', default: false },
      rejectUnauthorized: { type: 'boolean', default: true },
    },
  },
  credential,
  input: {
    type: 'object',
    required: ['to', 'subject', 'text'],
    properties: {
      to: { title: 'To', anyOf: [{ type: 'string', minLength: 3 }, { type: 'array', items: { type: 'string' }, minItems: 1 }], description: 'addresses, comma-separated' },
      cc: { title: 'Cc', anyOf: [{ type: 'string' }, { type: 'array', items: { type: 'string' } }] },
      subject: { type: 'string', title: 'Subject', minLength: 1, description: 'handlebars template' },
      text: { type: 'string', title: 'Text', description: 'handlebars template', 'x-multiline': true },
      html: { type: 'string', title: 'HTML', description: 'handlebars template (values are escaped)', 'x-multiline': true },
      data: { type: 'object', title: 'Template data' },
    },
  },
  output: {
    type: 'object',
    required: ['messageId', 'accepted'],
    properties: { messageId: { type: 'string' }, accepted: { type: 'array', items: { type: 'string' } }, rejected: { type: 'array', items: { type: 'string' } } },
  },
  retry: { attempts: 5 },
  timeoutMs: 60_000,
  async run(input, ctx) {
    const c = ctx.credential ?? {};
    const transport = nodemailer.createTransport({
      host: ctx.config.host,
      port: ctx.config.port,
      secure: ctx.config.secure,
      requireTLS: ctx.config.requireTls,
      tls: { rejectUnauthorized: ctx.config.rejectUnauthorized },
      ...(c.username ? { auth: { user: c.username, pass: c.password ?? '' } } : {}),
      connectionTimeout: 15_000,
      socketTimeout: 30_000,
    });
    const onAbort = () => transport.close();
    ctx.signal.addEventListener('abort', onAbort, { once: true });
    const data = { ...input.data, ...input };
    const domain = /@([^>\s]+)/.exec(ctx.config.from)?.[1] ?? 'soar.local';
    try {
      const info = await transport.sendMail({
        from: ctx.config.from,
        to: input.to,
        ...(input.cc ? { cc: input.cc } : {}),
        subject: render(input.subject, data),
        text: render(input.text, data),
        ...(input.html ? { html: render(input.html, data, { html: true }) } : {}),
        messageId: `<soar-${idempotencyTag(ctx.idempotencyKey)}@${domain}>`,
      });
      const addr = (xs: unknown[]) => xs.map((x) => (typeof x === 'string' ? x : (x as { address: string }).address));
      return { messageId: info.messageId, accepted: addr(info.accepted), rejected: addr(info.rejected) };
    } catch (err) {
      const e = err as Error & { responseCode?: number; code?: string };
      const code = e.responseCode;
      const msg = `smtp ${ctx.config.host}:${ctx.config.port}: ${(e.message || e.code || 'failed').split('\n')[0]}`;
      if (code !== undefined && code >= 500) throw new HttpError(msg, 'client', code);
      if (e.code === 'EAUTH') throw new HttpError(msg, 'client', code);
      throw new HttpError(msg, code !== undefined ? 'server' : 'connection', code);
    } finally {
      ctx.signal.removeEventListener('abort', onAbort);
      transport.close();
    }
  },
});
