import { PrismaPg } from '@prisma/adapter-pg';
import type BetterSqlite3 from 'better-sqlite3';
import type pg from 'pg';
import type { PrismaClient } from '../../prisma/generated/sqlite/client.ts';
import { createPgPool, ensurePgSchema } from './postgres.ts';
import { connectionPragmas, ensureSqliteFolder, sqliteAdapterFactory } from './sqlite.ts';
import { parseDatabaseUrl, type Provider } from './target.ts';

export type { Execution, Prisma, Step, Workflow } from '../../prisma/generated/sqlite/client.ts';

/**
 * The Prisma client, whichever database is behind it.
 *
 * It is the type of the SQLite client. The PostgreSQL client is generated from the same models
 * and has the same model API, but TypeScript sees the two as unrelated types, and PostgreSQL's is
 * a superset (e.g. `mode: 'insensitive'` filters, `createMany({ skipDuplicates })`). Typing both
 * as the SQLite client keeps callers to what runs on both; openDatabase casts the other one.
 */
export type Db = PrismaClient;

/** Connections per process to PostgreSQL; the store keeps its concurrent commits below this. */
export const PG_POOL_SIZE = 16;

/** The SQLite connection under each SQLite client (see sqliteConnectionOf). */
const sqliteConnections = new WeakMap<Db, () => BetterSqlite3.Database | null>();

/**
 * The better-sqlite3 connection the Prisma client `db` runs its queries on, or null when `db`
 * talks to PostgreSQL or is not connected. It is the same connection, so statements run on it
 * synchronously (no await between them) cannot interleave with the client's, and see its data.
 * For the hot path only (engine/db/prisma-store.ts); everything else goes through Prisma.
 */
export function sqliteConnectionOf(db: Db): BetterSqlite3.Database | null {
  return sqliteConnections.get(db)?.() ?? null;
}

/** An open database: the client, which provider it talks to, and how to close it. */
export type Database = {
  db: Db;
  provider: Provider;
  /** Disconnects the client and closes its connections. */
  close(): Promise<void>;
  /** PostgreSQL: the pool the client's adapter runs on (the store's hot path uses it directly). */
  pool?: pg.Pool;
};

/**
 * Opens a Prisma client on `url`: `file:<path>` for SQLite (its folder is created, and the
 * connection gets WAL, `synchronous=NORMAL` and a 5 s busy timeout), or `postgresql://` /
 * `postgres://` for PostgreSQL, in the schema `opts.schema`, else the URL's `?schema=`, else
 * `public` (created if missing).
 *
 * It does not create tables: call migrate() first.
 */
export async function openDatabase(url: string, opts: { schema?: string } = {}): Promise<Database> {
  const target = parseDatabaseUrl(url, opts);
  if (target.provider === 'sqlite') {
    await ensureSqliteFolder(target.file);
    const { PrismaClient } = await import('../../prisma/generated/sqlite/client.ts');
    const factory = sqliteAdapterFactory(target.file);
    // The adapter keeps its better-sqlite3 connection in `client`: remember it for sqliteConnectionOf.
    let connection: BetterSqlite3.Database | null = null;
    const connect = factory.connect.bind(factory);
    factory.connect = async () => {
      const adapter = await connect();
      connection = (adapter as unknown as { client: BetterSqlite3.Database }).client;
      return adapter;
    };
    const db = new PrismaClient({ adapter: factory });
    sqliteConnections.set(db, () => (connection?.open ? connection : null));
    try {
      await db.$connect();
      for (const pragma of connectionPragmas) {
        await db.$queryRawUnsafe(pragma);
      }
    } catch (error) {
      await db.$disconnect();
      throw error;
    }
    return { db, provider: 'sqlite', close: () => db.$disconnect() };
  }

  const pool = createPgPool(target, { max: PG_POOL_SIZE });
  try {
    await ensurePgSchema(pool, target.schema);
  } catch (error) {
    await pool.end();
    throw error;
  }
  const { PrismaClient } = await import('../../prisma/generated/postgresql/client.ts');
  const db = new PrismaClient({ adapter: new PrismaPg(pool, { schema: target.schema }) }) as unknown as Db;
  return {
    db,
    provider: 'postgresql',
    pool,
    async close() {
      try {
        await db.$disconnect();
      } finally {
        await pool.end();
      }
    },
  };
}
