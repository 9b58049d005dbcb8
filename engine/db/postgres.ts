import pg from 'pg';

/** A PostgreSQL database target, as returned by parseDatabaseUrl. */
export type PgTarget = { connectionString: string; schema: string };

/** SQLSTATEs of a `CREATE SCHEMA IF NOT EXISTS` that lost a race with another one. */
const raceCodes = new Set(['23505', '42P06']);

/**
 * A pool whose every connection has `search_path` set to the target's schema (it is in the
 * connection string's `options`), so unqualified SQL, migrations included, lands in that schema.
 */
export function createPgPool(target: PgTarget, config: pg.PoolConfig = {}): pg.Pool {
  return new pg.Pool({ ...config, connectionString: target.connectionString });
}

/** Creates `schema` if it does not exist yet; needs the CREATE privilege only when it creates. */
export async function ensurePgSchema(client: pg.ClientBase | pg.Pool, schema: string): Promise<void> {
  const found = await client.query('SELECT 1 FROM pg_namespace WHERE nspname = $1', [schema]);
  if (found.rowCount) return;
  try {
    await client.query(`CREATE SCHEMA IF NOT EXISTS "${schema}"`);
  } catch (error) {
    if (!raceCodes.has((error as { code?: string }).code ?? '')) throw error;
  }
}

/**
 * Runs `fn` while holding a session-level advisory lock named `name` on a connection of its own,
 * so that processes starting at once against the same database take turns. The lock is released
 * when `fn` settles, or by the server if this process dies.
 */
export async function withPgAdvisoryLock<T>(target: PgTarget, name: string, fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: target.connectionString });
  await client.connect();
  try {
    await client.query('SELECT pg_advisory_lock(hashtextextended($1, 0))', [name]);
    try {
      return await fn(client);
    } finally {
      await client.query('SELECT pg_advisory_unlock(hashtextextended($1, 0))', [name]);
    }
  } finally {
    await client.end();
  }
}
