import type { Logger } from '../engine/log.ts';
import { NonRetryableError } from '../engine/errors.ts';
import { createHttpClient, type HttpClient } from './http-client.ts';
import { compileSchema, type JsonSchema, type Validator } from './schema.ts';

export type { JsonSchema } from './schema.ts';

/** A resolved credential: field name -> value. Only the worker resolves one (activities/credentials.ts). */
export type Credential = Readonly<Record<string, string>>;

/**
 * A credential an activity needs. Its values come from `SOAR_CRED_<NAME>_<FIELD>` environment
 * variables or the `SOAR_SECRETS_FILE` JSON (`{ "<name>": { "<field>": "..." } }`), in the worker only:
 * never from job data, and never written to state, step output or logs.
 */
export interface CredentialSpec {
  /** e.g. `virustotal`; `-` and `.` become `_` in environment variable names. */
  name: string;
  description?: string;
  fields: Record<string, { description: string; optional?: boolean }>;
  /** How the credential goes on each request of ctx.http (headers). */
  apply?: (credential: Credential) => Record<string, string>;
}

/** Exponential backoff: initialMs * multiplier^(n-1), capped at maxMs, with jitter. A 429's Retry-After wins. */
export interface RetryPolicy {
  /** Tries in all, the first included. */
  attempts?: number;
  /** First backoff delay (default 1000). */
  backoffMs?: number;
  /** Default 2. */
  multiplier?: number;
  /** Longest backoff (default 60000). */
  maxBackoffMs?: number;
  /** Fraction of the delay taken off at random (default 0.2; 0 for none). */
  jitter?: number;
}

/** At most `max` calls to the connector's API per `perMs`, across every worker (a token bucket in Redis). */
export interface RateLimit {
  max: number;
  perMs: number;
}

/** A circuit breaker per connector, shared by every worker through Redis. */
export interface BreakerPolicy {
  /** Consecutive failures (timeouts, connection errors, 5xx) that open it (default 5). */
  failureThreshold?: number;
  /** How long it stays open before letting trial calls through (half-open; default 60000). */
  openMs?: number;
  /** Successes in half-open that close it again (default 3). */
  successThreshold?: number;
  /** While open: `fail` the attempt at once (retryable, it counts as a try) or `wait` (the job is delayed until half-open, no try spent). */
  whenOpen?: 'fail' | 'wait';
}

/** Lookups whose answers may be reused: the worker answers from Redis without calling the API. */
export interface CachePolicy<I, O> {
  /** The cache key of an input; undefined: do not cache this call. */
  key(input: I): string | undefined;
  ttlS: number;
  /** TTL of a negative answer (see isNegative), e.g. "not found". */
  negativeTtlS?: number;
  isNegative?(output: O): boolean;
}

/** What callers pass to `run`: the job's identity. The worker adds the credential, config and rate limiter. */
export interface RunContext {
  executionId: string;
  activityId: string;
  jobId: string;
  /** Stable across retries and redeliveries of the same task: send it where the API honours one. */
  idempotencyKey: string;
  /** 1 for the first try. */
  attempt: number;
  /** Aborted when the worker shuts down or the task is cancelled. */
  signal: AbortSignal;
  logger: Logger;
  /** The credential's values (resolved by the worker). */
  credential?: Credential | null;
  /** The connector's configuration (validated against `config` and given its defaults here). */
  config?: Record<string, unknown>;
  /** Called before every request of ctx.http (the worker's rate limiter); throws to refuse it. */
  beforeRequest?: () => Promise<void>;
}

/** What an activity's handler may use besides its input. Activities are pure apart from this. */
export interface ActivityContext<C = Record<string, unknown>> extends Omit<RunContext, 'credential' | 'config'> {
  credential: Credential | null;
  config: C;
  /** fetch with the connector's base URL, the credential, a per-call timeout and ctx.signal applied. */
  http: HttpClient;
}

/** What an activity file declares. */
export interface ActivitySpec<I, O, C> {
  /** `<connector>.<action>`: the connector is the queue the task is sent to. */
  id: string;
  /** A short label for people (`VirusTotal: look up file hash`); defaults to the id. */
  title?: string;
  description: string;
  /** JSON Schema of the connector's configuration (`SOAR_CONNECTOR_<CONNECTOR>_<KEY>`, or SOAR_CONNECTORS_FILE). */
  config?: JsonSchema;
  /** JSON Schema of the input: validated (with type coercion and defaults) before the handler runs. */
  input?: JsonSchema;
  /** JSON Schema of the output: checked after the handler returns. */
  output?: JsonSchema;
  /** The credential it needs: fixed, or chosen by the input (the generic HTTP activity). */
  credential?: CredentialSpec | ((input: I) => CredentialSpec | undefined);
  retry?: RetryPolicy;
  rateLimit?: RateLimit;
  /** false: no breaker (the built-in activities, whose calls go anywhere). */
  breaker?: BreakerPolicy | false;
  /** Per-call timeout of ctx.http, and of the whole handler (default 30000). */
  timeoutMs?: number;
  cache?: CachePolicy<I, O>;
  run(input: I, ctx: ActivityContext<C>): Promise<O>;
}

/** A connector action: what a service task names, and how to run it. */
export interface ActivityDefinition<I = Record<string, unknown>, O = unknown, C = Record<string, unknown>> extends Omit<ActivitySpec<I, O, C>, 'run'> {
  /** Validates the input and config, builds ctx.http, runs the handler, checks the output. */
  run(input: I, ctx: RunContext): Promise<O>;
  /** The credential this input needs, if any. */
  credentialFor(input: I): CredentialSpec | undefined;
}

const ID = /^[a-z][a-z0-9-]*\.[A-Za-z][\w.-]*$/;
const DEFAULT_TIMEOUT_MS = 30_000;

export function defineActivity<I = Record<string, unknown>, O = unknown, C = Record<string, unknown>>(spec: ActivitySpec<I, O, C>): ActivityDefinition<I, O, C> {
  if (!ID.test(spec.id)) throw new Error(`activity id ${spec.id} must look like <connector>.<action>`);
  // compiled once, at registration: a bad schema fails at start, not in the first job
  const input: Validator | null = spec.input ? compileSchema(spec.input) : null;
  const config: Validator | null = spec.config ? compileSchema(spec.config) : null;
  const output: Validator | null = spec.output ? compileSchema(spec.output) : null;
  const credentialFor = (i: I): CredentialSpec | undefined => (typeof spec.credential === 'function' ? spec.credential(i) : spec.credential);

  return {
    ...spec,
    credentialFor,
    async run(raw: I, ctx: RunContext): Promise<O> {
      const value = input ? (input.check(withoutNulls(raw), 'input') as I) : raw;
      const cfg = (config ? config.check({ ...(ctx.config ?? {}) }, 'config') : (ctx.config ?? {})) as C & { baseUrl?: string };
      const cred = credentialFor(value);
      const credential = ctx.credential ?? null;
      if (cred && !credential) throw new NonRetryableError(`${spec.id} needs the credential "${cred.name}", which is not configured`);
      const timeoutMs = spec.timeoutMs ?? DEFAULT_TIMEOUT_MS;
      const http = createHttpClient({
        ...(typeof cfg.baseUrl === 'string' ? { baseUrl: cfg.baseUrl } : {}),
        headers: cred?.apply && credential ? cred.apply(credential) : {},
        secrets: credential ? Object.values(credential) : [],
        signal: ctx.signal,
        timeoutMs,
        ...(ctx.beforeRequest ? { beforeRequest: ctx.beforeRequest } : {}),
      });
      const result = await spec.run(value, { ...ctx, credential, config: cfg, http });
      if (output) output.check(result, 'output');
      return result;
    },
  };
}

/**
 * A missing variable reference maps to null; for the schema it is an absent property (so `required`
 * names it and a default applies), not a value to coerce into "" or 0.
 */
function withoutNulls<T>(input: T): T {
  if (!input || typeof input !== 'object' || Array.isArray(input)) return input;
  return Object.fromEntries(Object.entries(input).filter(([, v]) => v !== null)) as T;
}

/** The connector (queue) an activity id belongs to: `core.http` -> `core`. */
export function connectorOf(activityId: string): string {
  const dot = activityId.indexOf('.');
  return dot < 0 ? activityId : activityId.slice(0, dot);
}
