import { createHmac, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { SoarError } from '../errors.ts';
import { compileExpression, evaluate, type CompiledExpression, type EvaluateOptions } from '../expr/jsonata.ts';
import { alertInputSchema, type AlertInput } from './model.ts';

/** The mappings that ship with the product (engine/alerts/mappings/<name>.jsonata). */
export const BUILTIN_MAPPINGS = ['generic', 'splunk', 'sentinel'] as const;

export const SIGNATURE_HEADER = 'x-soar-signature';
export const TIMESTAMP_HEADER = 'x-soar-timestamp';
export const DELIVERY_HEADER = 'x-soar-delivery';

/** An inbound webhook: POST /hooks/<name>. */
export interface HookConfig {
  name: string;
  /** HMAC-SHA256 key. */
  secret: string;
  /** The jsonata that turns the vendor's payload into an alert. */
  mapping: CompiledExpression;
  /** Remote addresses allowed to deliver (empty: any). */
  allowIps: string[];
}

const builtin = (name: string): string => readFileSync(new URL(`./mappings/${name}.jsonata`, import.meta.url), 'utf8');

function mappingOf(hook: string, spec: string | undefined): CompiledExpression {
  const text = !spec ? builtin((BUILTIN_MAPPINGS as readonly string[]).includes(hook) ? hook : 'generic') : (BUILTIN_MAPPINGS as readonly string[]).includes(spec) ? builtin(spec) : spec;
  try {
    return compileExpression(text);
  } catch (err) {
    throw new Error(`hook ${hook}: the mapping is not valid jsonata: ${(err as Error).message}`);
  }
}

/**
 * The inbound webhooks, read once at start-up: `SOAR_HOOK_<NAME>_SECRET` (required),
 * `SOAR_HOOK_<NAME>_MAPPING` (`generic`, `splunk`, `sentinel` or jsonata text; default: the built-in
 * mapping of that name, else `generic`), `SOAR_HOOK_<NAME>_ALLOW_IPS` (comma-separated), and the
 * JSON file `SOAR_HOOKS_FILE`: `{ "<name>": { "secret", "mapping", "allow_ips": [] } }`.
 * `<NAME>` is the hook name upper-cased with `-` as `_`; the URL uses it lower-cased.
 */
export function loadHooks(env: NodeJS.ProcessEnv): Map<string, HookConfig> {
  const specs = new Map<string, { secret?: string; mapping?: string; allow_ips?: string[] }>();
  if (env.SOAR_HOOKS_FILE) {
    const file = JSON.parse(readFileSync(env.SOAR_HOOKS_FILE, 'utf8')) as Record<string, { secret?: string; mapping?: string; allow_ips?: string[] }>;
    for (const [name, spec] of Object.entries(file)) specs.set(name.toLowerCase(), { ...spec });
  }
  for (const [key, value] of Object.entries(env)) {
    const m = /^SOAR_HOOK_([A-Z0-9_]+)_(SECRET|MAPPING|ALLOW_IPS)$/.exec(key);
    if (!m || value === undefined) continue;
    const name = m[1]!.toLowerCase().replace(/_/g, '-');
    const spec = specs.get(name) ?? {};
    if (m[2] === 'SECRET') spec.secret = value;
    else if (m[2] === 'MAPPING') spec.mapping = value;
    else spec.allow_ips = value.split(',').map((s) => s.trim()).filter(Boolean);
    specs.set(name, spec);
  }
  const hooks = new Map<string, HookConfig>();
  for (const [name, spec] of specs) {
    if (!spec.secret || spec.secret.length < 16) throw new Error(`hook ${name}: a secret of at least 16 characters is required (SOAR_HOOK_${name.toUpperCase().replace(/-/g, '_')}_SECRET)`);
    hooks.set(name, { name, secret: spec.secret, mapping: mappingOf(name, spec.mapping), allowIps: spec.allow_ips ?? [] });
  }
  return hooks;
}

/** `sha256=<hex>` of HMAC-SHA256(secret, timestamp + "." + raw body): what a sender puts in X-Soar-Signature. */
export function sign(secret: string, timestamp: string, body: Buffer | string): string {
  return `sha256=${createHmac('sha256', secret).update(`${timestamp}.`).update(body).digest('hex')}`;
}

const normalizeIp = (ip: string): string => (ip.startsWith('::ffff:') ? ip.slice(7) : ip);

/**
 * Checks a delivery: allowed address, a timestamp within `toleranceS` of now, and the signature of
 * timestamp and raw body (constant-time compare). Throws FORBIDDEN or UNAUTHORIZED with the reason.
 */
export function verifyDelivery(
  hook: HookConfig,
  d: { body: Buffer; signature: string | undefined; timestamp: string | undefined; deliveryId: string | undefined; remoteIp: string | null },
  now: Date,
  toleranceS: number,
): { deliveryId: string } {
  if (hook.allowIps.length && !(d.remoteIp && hook.allowIps.map(normalizeIp).includes(normalizeIp(d.remoteIp)))) {
    throw new SoarError('FORBIDDEN', `hook ${hook.name} does not accept deliveries from ${d.remoteIp ?? 'an unknown address'}`);
  }
  if (!d.signature || !d.timestamp) throw new SoarError('UNAUTHORIZED', `unsigned delivery: ${SIGNATURE_HEADER} and ${TIMESTAMP_HEADER} are required`);
  if (!d.deliveryId || d.deliveryId.length > 200) throw new SoarError('UNAUTHORIZED', `${DELIVERY_HEADER} (a unique id per delivery, at most 200 characters) is required`);
  if (!/^\d{1,12}$/.test(d.timestamp)) throw new SoarError('UNAUTHORIZED', `${TIMESTAMP_HEADER} must be Unix seconds`);
  const skew = Math.abs(now.getTime() / 1000 - Number(d.timestamp));
  if (skew > toleranceS) throw new SoarError('UNAUTHORIZED', `stale delivery: its timestamp is ${Math.round(skew)} s from now, more than ${toleranceS} s`);
  const expected = Buffer.from(sign(hook.secret, d.timestamp, d.body));
  const given = Buffer.from(d.signature.trim());
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) throw new SoarError('UNAUTHORIZED', 'bad signature: it is not the HMAC-SHA256 of timestamp + "." + body with this hook\'s secret');
  return { deliveryId: d.deliveryId };
}

/** Turns a vendor payload into an alert with the hook's mapping (400 when it yields no valid alert). */
export async function mapPayload(hook: HookConfig, payload: unknown, limits: EvaluateOptions): Promise<AlertInput> {
  let mapped: unknown;
  try {
    mapped = await evaluate(hook.mapping, payload, limits);
  } catch (err) {
    throw new SoarError('BAD_REQUEST', `the mapping of hook ${hook.name} failed on this payload: ${(err as Error).message}`);
  }
  const r = alertInputSchema.safeParse(mapped);
  if (!r.success) {
    throw new SoarError(
      'BAD_REQUEST',
      `the mapping of hook ${hook.name} did not make a valid alert of this payload`,
      r.error.issues.map((i) => ({ field: i.path.join('.') || 'alert', reason: i.message })),
    );
  }
  return r.data;
}
