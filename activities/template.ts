import { createHash } from 'node:crypto';
import { NonRetryableError } from '../engine/errors.ts';
import { renderTemplate } from '../engine/expr/template.ts';

/**
 * Message texts of the notification connectors are handlebars templates rendered with the task's
 * input: `Alert {{alert.id}} ({{alert.severity}}): {{vt.stats.malicious}} engines say malicious`.
 * The engine's template environment (engine/expr/template.ts: no prototype access, a few safe
 * helpers); plain text is not HTML-escaped, `html: true` escapes (email bodies). A template that
 * does not render fails the task, not retryably.
 */
export function render(template: string, data: unknown, opts: { html?: boolean } = {}): string {
  try {
    return renderTemplate(template, data, { escape: opts.html === true });
  } catch (err) {
    throw new NonRetryableError(`the template does not render: ${(err as Error).message.split('\n')[0]}`);
  }
}

/** A short, stable tag for an idempotency key, for APIs that take a label or a correlation id. */
export function idempotencyTag(key: string, length = 32): string {
  return createHash('sha256').update(key).digest('hex').slice(0, length);
}
