import { existsSync } from 'node:fs';
import { readFile, readdir } from 'node:fs/promises';
import Sqlite from 'better-sqlite3';
import { PrismaPg } from '@prisma/adapter-pg';
import type { SqlMigrationAwareDriverAdapterFactory } from '@prisma/driver-adapter-utils';
import { migrationsDir, readMigrations, snapshotPath } from './migrations.ts';
import { createPgPool, ensurePgSchema, withPgAdvisoryLock } from './postgres.ts';
import { withSchemaEngine, type SchemaEngineLog } from './schema-engine.ts';
import { ensureSqliteFolder, sqliteAdapterFactory, withSqliteFileLock } from './sqlite.ts';
import { parseDatabaseUrl, type Provider } from './target.ts';

/** Options of migrate(). */
export type MigrateOptions = {
  /** PostgreSQL schema to migrate (created if missing); overrides the URL's `?schema=`. */
  schema?: string;
  /** Receives the schema engine's log lines (JSON). By default they are dropped. */
  onLog?: SchemaEngineLog;
};

/** The result of migrate(). */
export type MigrateResult = {
  /** Names of the migration folders applied by this call, oldest first; empty when up to date. */
  applied: string[];
};

/**
 * Brings the database at `url` up to date with prisma/migrations/<provider>/, in-process, through
 * Prisma's schema engine (WebAssembly) and the same driver adapters the client uses: the same
 * outcome and `_prisma_migrations` bookkeeping as `prisma migrate deploy`, without its native binary.
 *
 * Idempotent: a call on an up-to-date database applies nothing. Processes that call it at once on
 * the same database take turns (a PostgreSQL advisory lock per schema, or `<file>.lock` beside the
 * SQLite file), so the later ones find the work done. The engine has locks of its own
 * (`pg_advisory_lock(72707369)` on one pooled connection, SQLite `locking_mode=EXCLUSIVE`), but a
 * SQLite waiter gives up after the 5 s busy timeout; these make every waiter wait its turn.
 *
 * On PostgreSQL the driver adapter runs a migration.sql one statement at a time, split at every
 * `;`: a migration MUST NOT contain a `;` inside a string or a function body.
 */
export async function migrate(url: string, opts: MigrateOptions = {}): Promise<MigrateResult> {
  const target = parseDatabaseUrl(url, opts);
  const onLog = opts.onLog ?? (() => {});
  // The schema engine locks a SQLite file exclusively, which fails while another process has it
  // open: a database that is already up to date is not handed to it at all.
  if (await upToDate(target)) return { applied: [] };
  if (target.provider === 'sqlite') {
    await ensureSqliteFolder(target.file);
    return withSqliteFileLock(target.file, () => applyMigrations('sqlite', sqliteAdapterFactory(target.file), onLog));
  }
  return withPgAdvisoryLock(target, `soar-bpmn:migrate:${target.schema}`, async (client) => {
    await ensurePgSchema(client, target.schema);
    const pool = createPgPool(target, { max: 2 });
    try {
      return await applyMigrations('postgresql', new PrismaPg(pool, { schema: target.schema }), onLog);
    } finally {
      await pool.end();
    }
  });
}

async function applyMigrations(
  provider: Provider,
  adapterFactory: SqlMigrationAwareDriverAdapterFactory,
  onLog: SchemaEngineLog,
): Promise<MigrateResult> {
  const path = snapshotPath(provider);
  const [content, migrationsList] = await Promise.all([readFile(path, 'utf8'), readMigrations(provider)]);
  return withSchemaEngine({ path, content }, adapterFactory, onLog, async (engine) => {
    const result = await engine.applyMigrations({ migrationsList, filters: { externalTables: [], externalEnums: [] } });
    return { applied: result.appliedMigrationNames };
  });
}

/** True when every migration folder is recorded as applied (a plain read, no schema engine). */
async function upToDate(target: ReturnType<typeof parseDatabaseUrl>): Promise<boolean> {
  const entries = await readdir(migrationsDir(target.provider), { withFileTypes: true });
  const wanted = entries.filter((e) => e.isDirectory()).map((e) => e.name);
  const query = `SELECT migration_name FROM _prisma_migrations WHERE finished_at IS NOT NULL AND rolled_back_at IS NULL`;
  let applied: string[];
  if (target.provider === 'sqlite') {
    if (!existsSync(target.file)) return false;
    const db = new Sqlite(target.file, { readonly: true, timeout: 5000 });
    try {
      const table = db.prepare(`SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = '_prisma_migrations'`).get();
      if (!table) return false;
      applied = (db.prepare(query).all() as Array<{ migration_name: string }>).map((r) => r.migration_name);
    } finally {
      db.close();
    }
  } else {
    const pool = createPgPool(target, { max: 1 });
    try {
      const exists = await pool.query<{ t: string | null }>(`SELECT to_regclass($1) AS t`, [`"${target.schema}"._prisma_migrations`]);
      if (!exists.rows[0]?.t) return false;
      applied = (await pool.query<{ migration_name: string }>(query)).rows.map((r) => r.migration_name);
    } finally {
      await pool.end();
    }
  }
  const done = new Set(applied);
  return wanted.every((name) => done.has(name));
}
