import { Router } from 'express';
import type { Redis } from 'ioredis';
import { z } from 'zod';
import { connectorOf, type ActivityDefinition, type CredentialSpec } from '../../activities/define.ts';
import { CONNECTORS } from '../../activities/catalogue.ts';
import { credentialEnvName } from '../../activities/credentials.ts';
import { elementTemplates } from '../../activities/element-templates.ts';
import { defaultRegistry, type ActivityRegistry } from '../../activities/index.ts';
import { breakerKey, DEFAULT_BREAKER, readBreaker } from '../../activities/resilience/breaker.ts';
import { connectorEnvName, settingsSource, type SettingsSource } from '../../activities/settings.ts';
import { notFound } from '../../engine/errors.ts';
import { connectorStatusKey, type ConnectorStatus } from '../../engine/queue/worker.ts';
import type { Services } from '../app.ts';
import { parse } from '../validate.ts';

/** The system hands the router its registry and Redis; without them it lists the default registry and knows no live state. */
export type ConnectorServices = Services & { registry?: ActivityRegistry; redis?: Redis };

type Activity = ActivityDefinition<Record<string, unknown>, unknown>;

/** A credential as the API shows it: names and the variables to set, never a value. */
function credentialView(spec: CredentialSpec) {
  return {
    name: spec.name,
    description: spec.description ?? null,
    fields: Object.entries(spec.fields).map(([field, f]) => ({ name: field, description: f.description, optional: f.optional ?? false, env: credentialEnvName(spec.name, field) })),
  };
}

function activityView(a: Activity) {
  const cred = typeof a.credential === 'function' ? 'chosen by the input (see the credential property)' : a.credential ? credentialView(a.credential) : null;
  return {
    id: a.id,
    title: a.title ?? a.id,
    description: a.description,
    input: a.input ?? null,
    output: a.output ?? null,
    config: a.config ?? null,
    credential: cred,
    retry: a.retry ?? null,
    rate_limit: a.rateLimit ?? null,
    breaker: a.breaker === false ? false : { ...DEFAULT_BREAKER, ...a.breaker },
    timeout_ms: a.timeoutMs ?? null,
    cache: a.cache ? { ttl_s: a.cache.ttlS, negative_ttl_s: a.cache.negativeTtlS ?? null } : null,
  };
}

function connectorView(id: string, activities: Activity[]) {
  const configKeys = new Set(activities.flatMap((a) => Object.keys(((a.config as { properties?: object } | undefined)?.properties ?? {}) as object)));
  return {
    id,
    title: CONNECTORS[id]?.title ?? id,
    description: CONNECTORS[id]?.description ?? null,
    config_env: [...configKeys].sort().map((k) => ({ key: k, env: connectorEnvName(id, k) })),
    activities: activities.map(activityView),
  };
}

/**
 * GET /connectors                         every connector with its activities, schemas and credential names
 * GET /connectors/element-templates.json  Camunda Modeler element templates (?platform=camunda8|camunda7)
 * GET /connectors/:id                     one connector (or the connector of an activity id)
 * GET /connectors/:id/health              circuit breaker state, and whether the workers have its credentials
 */
export function connectorsRouter(s: ConnectorServices, settings: SettingsSource = settingsSource()): Router {
  const r = Router();
  const registry = s.registry ?? defaultRegistry();
  const byConnector = () => {
    const m = new Map<string, Activity[]>();
    for (const a of registry.list()) m.set(connectorOf(a.id), [...(m.get(connectorOf(a.id)) ?? []), a]);
    return m;
  };
  const find = (id: string): [string, Activity[]] => {
    const c = registry.has(id) ? connectorOf(id) : id;
    const acts = byConnector().get(c);
    if (!acts) throw notFound('connector', id);
    return [c, acts];
  };

  r.get('/', (_req, res) => {
    res.json({ data: [...byConnector()].sort(([a], [b]) => a.localeCompare(b)).map(([id, acts]) => connectorView(id, acts)) });
  });

  r.get('/element-templates.json', (req, res) => {
    const q = parse(z.object({ platform: z.enum(['camunda8', 'camunda7']).default('camunda8') }), req.query, 'query');
    res.json(elementTemplates(registry.list(), q.platform));
  });

  r.get('/:id', (req, res) => {
    const [id, acts] = find(req.params.id);
    res.json({ data: connectorView(id, acts) });
  });

  r.get('/:id/health', async (req, res) => {
    const [id, acts] = find(req.params.id);
    const declared = acts.map((a) => a.breaker).find((b) => b !== undefined);
    const overrides = settings.forConnector(id);
    const breakerOff = declared === false || overrides.breaker === false;
    const openMs = (overrides.breaker || undefined)?.openMs ?? (declared || undefined)?.openMs ?? DEFAULT_BREAKER.openMs;
    const prefix = s.config.QUEUE_PREFIX;
    const [breaker, status] = s.redis
      ? await Promise.all([breakerOff ? null : readBreaker(s.redis, breakerKey(prefix, id), openMs), s.redis.get(connectorStatusKey(prefix, id))])
      : [null, null];
    const published = status ? (JSON.parse(status) as ConnectorStatus) : null;
    const credentials = published?.credentials ?? [];
    const iso = (ms: number | null | undefined) => (typeof ms === 'number' ? new Date(ms).toISOString() : null);
    res.json({
      data: {
        id,
        // up: the breaker lets calls through and every credential is configured where the workers run
        status: breaker?.state === 'open' || credentials.some((c) => !c.configured) ? 'degraded' : published ? 'ok' : 'unknown',
        breaker: breakerOff
          ? { enabled: false }
          : breaker && { enabled: true, state: breaker.state, failures: breaker.failures, successes: breaker.successes, opened_at: iso(breaker.openedAt), half_open_at: iso(breaker.halfOpenAt) },
        credentials: credentials.map((c) => ({ name: c.name, configured: c.configured, missing_env: c.missing })),
        credentials_reported_at: published?.at ?? null,
        rate_limit: (overrides.rateLimit || undefined) ?? acts.map((a) => a.rateLimit).find(Boolean) ?? null,
      },
    });
  });

  return r;
}
