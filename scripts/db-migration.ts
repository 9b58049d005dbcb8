/**
 * Writes the next migration for both providers from the changes made to prisma/schema.prisma.
 *
 *   npm run db:migration -- <name>
 *
 * For each provider it regenerates prisma/generated/schema.<provider>.prisma (and the clients),
 * diffs prisma/migrations/<provider>/schema.snapshot.prisma (or an empty database, for the first
 * migration) against it with Prisma's schema engine, and writes
 * prisma/migrations/<provider>/<timestamp>_<name>/migration.sql plus the new snapshot.
 *
 * The diff needs no shadow database. Opening the schema engine on PostgreSQL does run one
 * read-only query, so a PostgreSQL server must be reachable at DATABASE_URL_PG
 * (default postgresql://postgres@127.0.0.1:5432/test); SQLite uses an in-memory database.
 *
 * The snapshot MUST stay the schema the latest migration was made from: edit migrations only
 * through this script, or edit the snapshot to match.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PrismaBetterSqlite3 } from '@prisma/adapter-better-sqlite3';
import { PrismaPg } from '@prisma/adapter-pg';
import type { SqlMigrationAwareDriverAdapterFactory } from '@prisma/driver-adapter-utils';
import type { DiffTarget } from '@prisma/schema-engine-wasm';
import { migrationLockfile, migrationsDir, snapshotPath } from '../engine/db/migrations.ts';
import type { Provider } from '../engine/db/target.ts';
import { withSchemaEngine } from '../engine/db/schema-engine.ts';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const defaultPgUrl = 'postgresql://postgres@127.0.0.1:5432/test';

function usage(message: string): never {
  console.error(`${message}\nUsage: npm run db:migration -- <name>   (letters, digits and _)`);
  process.exit(2);
}

function migrationName(): string {
  const raw = process.argv[2];
  if (!raw) usage('Missing the migration name.');
  const name = raw.trim().toLowerCase().replace(/[^a-z0-9_]+/g, '_').replace(/^_+|_+$/g, '');
  if (!name) usage(`Invalid migration name: ${raw}`);
  return name;
}

/** UTC `YYYYMMDDHHMMSS`, the prefix Prisma gives migration folders. */
function timestamp(now = new Date()): string {
  return now.toISOString().replace(/[-:T]/g, '').slice(0, 14);
}

function regenerate(): void {
  const result = spawnSync(process.execPath, [join(root, 'scripts', 'prisma-generate.mjs')], { cwd: root, stdio: 'inherit' });
  if (result.status !== 0) throw new Error('scripts/prisma-generate.mjs failed');
}

function adapterFor(provider: Provider): SqlMigrationAwareDriverAdapterFactory {
  return provider === 'sqlite'
    ? new PrismaBetterSqlite3({ url: ':memory:' })
    : new PrismaPg({ connectionString: process.env.DATABASE_URL_PG ?? defaultPgUrl });
}

/**
 * Drops `CREATE SCHEMA` statements: a diff from empty emits one for the connection's schema, but
 * migrations run under the `search_path` that engine/db/migrate.ts sets (it creates the schema
 * itself), so they MUST NOT name a schema.
 */
function withoutCreateSchema(sql: string): string {
  return sql.replace(/^-- CreateSchema\r?\nCREATE SCHEMA IF NOT EXISTS "[^"]*";\r?\n(\r?\n)?/gm, '');
}

function isEmpty(sql: string): boolean {
  return sql.split('\n').every((line) => line.trim() === '' || line.trim().startsWith('--'));
}

async function diff(provider: Provider): Promise<{ sql: string; schema: string } | undefined> {
  const schemaPath = join(root, 'prisma', 'generated', `schema.${provider}.prisma`);
  const schema = readFileSync(schemaPath, 'utf8');
  const snapshot = snapshotPath(provider);
  const from: DiffTarget = existsSync(snapshot)
    ? { tag: 'schemaDatamodel', files: [{ path: snapshot, content: readFileSync(snapshot, 'utf8') }] }
    : { tag: 'empty' };
  const logs: string[] = [];
  try {
    const result = await withSchemaEngine({ path: schemaPath, content: schema }, adapterFor(provider), (line) => logs.push(line), (engine) =>
      engine.diff({
        from,
        to: { tag: 'schemaDatamodel', files: [{ path: schemaPath, content: schema }] },
        script: true,
        exitCode: null,
        filters: { externalTables: [], externalEnums: [] },
      }),
    );
    const sql = withoutCreateSchema(result.stdout ?? '');
    return isEmpty(sql) ? undefined : { sql, schema };
  } catch (error) {
    if (logs.length > 0) console.error(logs.join(''));
    throw error;
  }
}

async function main(): Promise<void> {
  const name = migrationName();
  regenerate();
  const folder = `${timestamp()}_${name}`;
  const providers: Provider[] = ['sqlite', 'postgresql'];
  const diffs = await Promise.all(providers.map(async (provider) => [provider, await diff(provider)] as const));
  if (diffs.every(([, d]) => d === undefined)) {
    console.log('No schema changes: no migration written.');
    return;
  }
  for (const [provider, d] of diffs) {
    if (!d) {
      console.log(`${provider}: no changes`);
      continue;
    }
    const dir = migrationsDir(provider);
    mkdirSync(join(dir, folder), { recursive: true });
    writeFileSync(join(dir, folder, 'migration.sql'), d.sql);
    writeFileSync(snapshotPath(provider), d.schema);
    writeFileSync(join(dir, 'migration_lock.toml'), migrationLockfile(provider));
    console.log(`${provider}: wrote ${relative(root, join(dir, folder, 'migration.sql'))}`);
  }
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
