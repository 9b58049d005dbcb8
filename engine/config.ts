import { z } from 'zod';

const bool = z.enum(['true', 'false', '1', '0']).transform((v) => v === 'true' || v === '1');
const ms = z.coerce.number().int().positive();

/**
 * Every setting the product reads from the environment, with its default.
 * The README's configuration table is this schema written out; keep them together.
 */
const schema = z.object({
  PORT: z.coerce.number().int().min(0).max(65535).default(3000),
  HOST: z.string().default('0.0.0.0'),
  DATABASE_URL: z.string().default('file:./data/soar.db'),
  REDIS_URL: z.string().default('redis://127.0.0.1:6379'),
  QUEUE_PREFIX: z.string().regex(/^[A-Za-z0-9_.-]+$/, 'letters, digits, _ . - only').default('soar'),
  ROLES: z
    .string()
    .default('api,engine,worker')
    .transform((s) => s.split(',').map((r) => r.trim()).filter(Boolean))
    .pipe(z.array(z.enum(['api', 'engine', 'worker'])).min(1)),
  PLAYBOOKS_DIR: z.string().default('./playbooks'),
  DEPLOY_PLAYBOOKS: bool.default(true),
  LOG_LEVEL: z.enum(['error', 'warn', 'info', 'debug']).default('info'),
  LOG_FORMAT: z.enum(['json', 'pretty', 'auto']).default('auto'),
  ENGINE_LEASE_MS: ms.default(30_000),
  ENGINE_SWEEP_MS: ms.default(5_000),
  ENGINE_HOT_IDLE_MS: ms.default(10_000),
  ENGINE_START_GRACE_MS: ms.default(10_000),
  WORKER_CONCURRENCY: ms.default(16),
  WORKER_LOCK_MS: ms.default(30_000),
  WORKER_STALLED_INTERVAL_MS: ms.default(30_000),
  JOB_RETENTION_S: ms.default(7 * 24 * 3600),
  JOB_ATTEMPTS: ms.default(3),
  HTTP_BODY_LIMIT: z.string().default('1mb'),
  EXECUTE_WAIT_MS: ms.default(30_000),
  WEBHOOK_ATTEMPTS: ms.default(8),
  WEBHOOK_BACKOFF_MS: ms.default(1_000),
  WEBHOOK_TIMEOUT_MS: ms.default(10_000),
  EXPRESSION_TIMEOUT_MS: ms.default(1_000),
  EXPRESSION_MAX_DEPTH: ms.default(500),
  // Connectors (docs/connectors.md). SOAR_CRED_<NAME>_<FIELD> and SOAR_CONNECTOR_<CONNECTOR>_<KEY> are
  // read by the worker per connector, so they have no fixed names here.
  SOAR_SECRETS_FILE: z.string().min(1).optional(),
  SOAR_CONNECTORS_FILE: z.string().min(1).optional(),
});

export type Config = z.infer<typeof schema>;

export class ConfigError extends Error {
  override name = 'ConfigError';
}

/** Reads and validates the configuration once; a bad value names the variable. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const parsed = schema.safeParse(env);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `  ${i.path.join('.')}: ${i.message}`);
    throw new ConfigError(`invalid configuration:\n${lines.join('\n')}`);
  }
  return parsed.data;
}
