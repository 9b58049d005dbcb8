import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import { openDatabase, type Database, type Db } from '../engine/db/client.ts';
import { migrate } from '../engine/db/migrate.ts';
import { readMigrations } from '../engine/db/migrations.ts';
import type { Provider } from '../engine/db/target.ts';

const pgUrl = process.env.DATABASE_URL_PG ?? 'postgresql://postgres@127.0.0.1:5432/test';

async function migrationNames(provider: Provider): Promise<string[]> {
  return (await readMigrations(provider)).migrationDirectories.map((dir) => dir.path);
}

function uniqueViolation(error: unknown): boolean {
  return (error as { code?: unknown }).code === 'P2002';
}

async function createWorkflow(db: Db, key: string, version: number) {
  return db.workflow.create({
    data: { id: randomUUID(), key, name: `Workflow ${key}`, version, xml: '<definitions/>' },
  });
}

/**
 * The behaviour every provider must share. `fresh()` returns the URL of a new, empty database,
 * and migrate/openDatabase get `opts` with it.
 */
function describeDatabase(provider: Provider, fresh: () => Promise<{ url: string; schema?: string }>) {
  describe(`database on ${provider}`, () => {
    let target: { url: string; schema?: string };
    let database: Database | undefined;

    before(async () => {
      target = await fresh();
    });

    after(async () => {
      await database?.close();
    });

    it('migrate applies every migration, init first, on an empty database', async () => {
      const names = await migrationNames(provider);
      assert.match(names[0] ?? '', /^\d{14}_init$/);
      const { applied } = await migrate(target.url, { schema: target.schema });
      assert.deepEqual(applied, names);
    });

    it('a second migrate applies nothing', async () => {
      const { applied } = await migrate(target.url, { schema: target.schema });
      assert.deepEqual(applied, []);
    });

    it('migrate calls started at once apply each migration exactly once', async () => {
      const other = await fresh();
      const results = await Promise.all([1, 2, 3].map(() => migrate(other.url, { schema: other.schema })));
      assert.deepEqual(
        results.flatMap((result) => result.applied),
        await migrationNames(provider),
      );
    });

    it('round-trips a workflow, an execution and its steps through the client', async () => {
      database = await openDatabase(target.url, { schema: target.schema });
      assert.equal(database.provider, provider);
      const { db } = database;

      const workflow = await createWorkflow(db, `phishing-${randomUUID()}`, 1);
      assert.equal(workflow.warnings, '[]');
      assert.ok(workflow.createdAt instanceof Date);

      const startedAt = new Date('2024-05-01T10:00:00.123Z');
      const execution = await db.execution.create({
        data: {
          id: randomUUID(),
          workflowId: workflow.id,
          status: 'running',
          input: JSON.stringify({ alert: { sha256: 'ab'.repeat(32) } }),
          startedAt,
          steps: {
            create: [
              { id: randomUUID(), seq: 1, activityId: 'start', type: 'bpmn:StartEvent', status: 'completed', startedAt },
              {
                id: randomUUID(),
                seq: 2,
                activityId: 'lookup',
                type: 'bpmn:ServiceTask',
                status: 'running',
                activity: 'virustotal.lookupHash',
                jobId: 'x:lookup:1',
                startedAt,
              },
            ],
          },
        },
      });
      assert.equal(execution.revision, 0);
      assert.equal(execution.priority, 0);

      const updated = await db.execution.update({
        where: { id: execution.id, revision: 0 },
        data: { revision: { increment: 1 }, state: '{"waiting":true}' },
      });
      assert.equal(updated.revision, 1);

      const loaded = await db.execution.findUniqueOrThrow({
        where: { id: execution.id },
        include: { workflow: true, steps: { orderBy: { seq: 'asc' } } },
      });
      assert.equal(loaded.workflow.key, workflow.key);
      assert.deepEqual(JSON.parse(loaded.input), { alert: { sha256: 'ab'.repeat(32) } });
      assert.equal(loaded.state, '{"waiting":true}');
      assert.equal(loaded.startedAt?.toISOString(), startedAt.toISOString());
      assert.ok(loaded.updatedAt instanceof Date);
      assert.deepEqual(
        loaded.steps.map((step) => [step.seq, step.activityId, step.attempt, step.activity]),
        [
          [1, 'start', 1, null],
          [2, 'lookup', 1, 'virustotal.lookupHash'],
        ],
      );

      await db.execution.delete({ where: { id: execution.id } });
      assert.equal(await db.step.count({ where: { executionId: execution.id } }), 0);
    });

    it('rejects a second workflow with the same key and version', async () => {
      assert.ok(database);
      const { db } = database;
      const key = `dup-${randomUUID()}`;
      await createWorkflow(db, key, 1);
      await assert.rejects(createWorkflow(db, key, 1), uniqueViolation);
      await createWorkflow(db, key, 2);
      assert.equal(await db.workflow.count({ where: { key } }), 2);
    });
  });
}

describe('SQLite', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'soar-db-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  describeDatabase('sqlite', async () => ({ url: `file:${join(dir, randomUUID(), 'soar.db')}` }));

  it('opens its connection in WAL mode with NORMAL sync and a 5 s busy timeout', async () => {
    const url = `file:${join(dir, 'pragmas.db')}`;
    const { db, close } = await openDatabase(url);
    try {
      const [mode] = await db.$queryRawUnsafe<{ journal_mode: string }[]>('PRAGMA journal_mode');
      const [sync] = await db.$queryRawUnsafe<{ synchronous: bigint | number }[]>('PRAGMA synchronous');
      const [busy] = await db.$queryRawUnsafe<{ timeout: bigint | number }[]>('PRAGMA busy_timeout');
      assert.equal(mode?.journal_mode, 'wal');
      assert.equal(Number(sync?.synchronous), 1);
      assert.equal(Number(busy?.timeout), 5000);
    } finally {
      await close();
    }
  });
});

describe('PostgreSQL', () => {
  const admin = new pg.Client({ connectionString: pgUrl });
  const schemas: string[] = [];
  before(async () => {
    await admin.connect();
  });
  after(async () => {
    for (const schema of schemas) {
      await admin.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    }
    await admin.end();
  });

  function freshSchema(): string {
    const schema = `test_${randomUUID().replaceAll('-', '')}`;
    schemas.push(schema);
    return schema;
  }

  describeDatabase('postgresql', async () => ({ url: pgUrl, schema: freshSchema() }));

  it('keeps the tables in the chosen schema, also when it comes from ?schema= in the URL', async () => {
    const schema = freshSchema();
    const url = new URL(pgUrl);
    url.searchParams.set('schema', schema);
    const { applied } = await migrate(url.toString());
    assert.deepEqual(applied, await migrationNames('postgresql'));
    const { rows } = await admin.query<{ table_name: string }>(
      'SELECT table_name FROM information_schema.tables WHERE table_schema = $1 ORDER BY table_name',
      [schema],
    );
    assert.deepEqual(
      rows.map((row) => row.table_name),
      ['Alert', 'AlertStart', 'Event', 'Execution', 'HookDelivery', 'Inbox', 'Outbox', 'Step', 'Task', 'Trigger', 'Wait', 'WebhookDelivery', 'WebhookSubscription', 'Workflow', '_prisma_migrations'],
    );
    const { db, close } = await openDatabase(url.toString());
    try {
      await createWorkflow(db, 'in-schema', 1);
    } finally {
      await close();
    }
    const count = await admin.query(`SELECT count(*)::int AS n FROM "${schema}"."Workflow"`);
    assert.equal(count.rows[0]?.n, 1);
  });
});
