import Handlebars from 'handlebars';
import { createHash } from 'node:crypto';
import { NonRetryableError } from '../engine/errors.ts';

/*
 * Message texts of the notification connectors are handlebars templates rendered with the task's
 * input: `Alert {{alert.id}} ({{alert.severity}}): {{vt.stats.malicious}} engines say malicious`.
 * An isolated Handlebars environment: no prototype access (the 4.6+ defaults, stated here), no
 * partials, and only these helpers. Plain text is not HTML-escaped; `html: true` escapes (email bodies).
 * (engine/expr/template.ts will own templates for the engine; this one is for connector messages.)
 */
const hb = Handlebars.create();
hb.registerHelper('json', (v: unknown) => JSON.stringify(v ?? null));
hb.registerHelper('upper', (v: unknown) => String(v ?? '').toUpperCase());
hb.registerHelper('lower', (v: unknown) => String(v ?? '').toLowerCase());
hb.registerHelper('default', (v: unknown, fallback: unknown) => (v === undefined || v === null || v === '' ? fallback : v));

const compiled = new Map<string, Handlebars.TemplateDelegate>();
const MAX_COMPILED = 500;

/** Renders `template` with `data`; a template that does not compile fails the task (not retryable). */
export function render(template: string, data: unknown, opts: { html?: boolean } = {}): string {
  const id = `${opts.html ? 'h' : 't'}:${template}`;
  let fn = compiled.get(id);
  try {
    if (!fn) {
      fn = hb.compile(template, { noEscape: !opts.html, knownHelpersOnly: false, strict: false });
      if (compiled.size >= MAX_COMPILED) compiled.delete(compiled.keys().next().value!);
      compiled.set(id, fn);
    }
    return fn(data, { allowProtoPropertiesByDefault: false, allowProtoMethodsByDefault: false });
  } catch (err) {
    compiled.delete(id);
    throw new NonRetryableError(`the template does not render: ${(err as Error).message.split('\n')[0]}`);
  }
}

/** A short, stable tag for an idempotency key, for APIs that take a label or a correlation id. */
export function idempotencyTag(key: string, length = 32): string {
  return createHash('sha256').update(key).digest('hex').slice(0, length);
}
