import { randomUUID } from 'node:crypto';
import type BetterSqlite3 from 'better-sqlite3';
import type pg from 'pg';
import { sqliteConnectionOf, type Db } from './client.ts';
import { join, raw, sqltag as sql } from '@prisma/client/runtime/client';
import { TERMINAL } from '../ports.ts';
import type {
  Commit,
  DeliveryStatus,
  OutboxEvent,
  WebhookDelivery,
  WebhookSubscription,
  FormField,
  InboxItem,
  InboxKind,
  NewExecution,
  TaskQuery,
  TaskRecord,
  TaskStatus,
  Trigger,
  WaitKind,
  WaitRecord,
  ExecutionError,
  ExecutionRecord,
  ExecutionStatus,
  Page,
  Problem,
  StepRecord,
  StepStatus,
  Store,
  WorkflowRecord,
} from '../ports.ts';

/** Statuses an engine process may hold (claim, renew). */
const LIVE: ExecutionStatus[] = ['pending', 'running', 'waiting'];

const json = (v: unknown): string | null => (v === undefined || v === null ? null : JSON.stringify(v));
const parse = <T>(s: string | null): T | null => (s === null ? null : (JSON.parse(s) as T));

type WorkflowRow = { id: string; key: string; name: string; version: number; xml: string; warnings: string; createdAt: Date };
type ExecutionRow = {
  id: string;
  workflowId: string;
  status: string;
  priority: number;
  input: string;
  result: string | null;
  error: string | null;
  state: string | null;
  variables: string | null;
  revision: number;
  owner: string | null;
  leaseUntil: Date | null;
  createdAt: Date;
  startedAt: Date | null;
  endedAt: Date | null;
  updatedAt: Date;
  parentId: string | null;
  parentStep: string | null;
  trigger: string | null;
};
type StepRow = {
  id: string;
  executionId: string;
  seq: number;
  activityId: string;
  name: string | null;
  type: string;
  status: string;
  attempt: number;
  activity: string | null;
  jobId: string | null;
  input: string | null;
  output: string | null;
  error: string | null;
  engineId: string | null;
  startedAt: Date;
  endedAt: Date | null;
};

const toWorkflow = (r: WorkflowRow): WorkflowRecord => ({ ...r, warnings: parse<Problem[]>(r.warnings) ?? [] });
const toExecution = (r: ExecutionRow): ExecutionRecord => ({
  ...r,
  status: r.status as ExecutionStatus,
  input: parse<Record<string, unknown>>(r.input) ?? {},
  variables: parse<Record<string, unknown>>(r.variables),
  result: parse(r.result),
  error: parse<ExecutionError>(r.error),
  trigger: parse<Trigger>(r.trigger),
});
const toStep = (r: StepRow): StepRecord => ({
  ...r,
  status: r.status as StepStatus,
  input: parse(r.input),
  output: parse(r.output),
  error: parse<ExecutionError>(r.error),
});

type TaskRow = {
  id: string;
  executionId: string;
  activityId: string;
  name: string | null;
  status: string;
  assignee: string | null;
  candidateGroups: string;
  candidateUsers: string;
  form: string | null;
  createdAt: Date;
  completedAt: Date | null;
  completedBy: string | null;
  result: string | null;
};
const toTask = (r: TaskRow): TaskRecord => ({
  ...r,
  status: r.status as TaskStatus,
  candidateGroups: parse<string[]>(r.candidateGroups) ?? [],
  candidateUsers: parse<string[]>(r.candidateUsers) ?? [],
  form: parse<FormField[]>(r.form),
  result: parse<Record<string, unknown>>(r.result),
});
type WaitRow = Omit<WaitRecord, 'kind'> & { kind: string };
const toWait = (r: WaitRow): WaitRecord => ({ ...r, kind: r.kind as WaitKind });
type InboxRow = Omit<InboxItem, 'kind' | 'payload'> & { kind: string; payload: string };
const toInbox = (r: InboxRow): InboxItem => ({ ...r, kind: r.kind as InboxKind, payload: parse<Record<string, unknown>>(r.payload) ?? {} });
const inboxRow = (i: InboxItem) => ({ ...i, payload: JSON.stringify(i.payload) });

/** A date as Prisma's SQLite adapter stores it (its default `iso8601` format), so Prisma reads it back. */
const sqliteDate = (d: Date | null): string | null => (d === null ? null : d.toISOString().replace('Z', '+00:00'));

/* The commit's statements on SQLite (see #writeSqlite); the same SQL as the portable batch, row by row. */
const SQLITE_UPDATE = `
  UPDATE "Execution" SET "status" = ?, "state" = ?, "variables" = ?, "revision" = ?, "owner" = ?, "leaseUntil" = ?,
    "result" = COALESCE(?, "result"), "error" = COALESCE(?, "error"), "startedAt" = COALESCE(?, "startedAt"),
    "endedAt" = COALESCE(?, "endedAt"), "updatedAt" = ?
  WHERE "id" = ? AND "owner" = ? AND "revision" = ?`;
const SQLITE_CLAIM = `
  UPDATE "Execution" SET "owner" = ?, "leaseUntil" = ?, "updatedAt" = ?
  WHERE "id" = ? AND "status" IN ('pending', 'running', 'waiting') AND ("owner" IS NULL OR "owner" = ? OR "leaseUntil" < ?)
  RETURNING *`;
const EXECUTION_DATES = ['leaseUntil', 'createdAt', 'startedAt', 'endedAt', 'updatedAt'] as const;
/** A row as better-sqlite3 reads it: dates are the text Prisma's adapter stored, integers BigInt. */
type SqliteRow<T> = { [K in keyof T]: T[K] extends Date ? string : T[K] extends Date | null ? string | null : T[K] extends number ? bigint : T[K] };
/** Prisma's SQLite dates: ISO 8601 with an offset, or SQLite's own `YYYY-MM-DD HH:MM:SS` (UTC) from a column default. */
const sqliteDateOf = (text: string): Date => new Date(/[zZ]|[+-]\d\d:?\d\d$/.test(text) ? text : `${text.replace(' ', 'T')}Z`);
function fromSqlite<T>(row: SqliteRow<T>, dates: readonly (keyof T)[]): T {
  const out = { ...row } as Record<keyof T, unknown>;
  // the adapter's connection reads integers as BigInt
  for (const k in out) if (typeof out[k] === 'bigint') out[k] = Number(out[k]);
  for (const k of dates) {
    const v = out[k];
    if (typeof v === 'string') out[k] = sqliteDateOf(v);
  }
  return out as T;
}
const SQLITE_CREATE = `
  INSERT INTO "Execution" ("id", "workflowId", "status", "priority", "input", "revision", "owner", "leaseUntil",
                           "createdAt", "updatedAt", "parentId", "parentStep", "trigger")
  VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`;
/*
 * The upserts of a commit's rows, shared by both write paths (PostgreSQL batch, SQLite statements):
 * the columns, and what a row already stored keeps when a recovered engine reports it again.
 */
const STEP_COLUMNS = `"id", "executionId", "seq", "activityId", "name", "type", "status", "attempt",
  "activity", "jobId", "input", "output", "error", "engineId", "startedAt", "endedAt"`;
// A recovered engine re-reports a step it does not fully know: never erase what is stored.
const STEP_ON_CONFLICT = `ON CONFLICT ("id") DO UPDATE SET
    "status" = excluded."status",
    "attempt" = excluded."attempt",
    "engineId" = excluded."engineId",
    "activity" = COALESCE(excluded."activity", "Step"."activity"),
    "jobId" = COALESCE(excluded."jobId", "Step"."jobId"),
    "input" = COALESCE(excluded."input", "Step"."input"),
    "output" = COALESCE(excluded."output", "Step"."output"),
    "error" = COALESCE(excluded."error", "Step"."error"),
    "endedAt" = COALESCE(excluded."endedAt", "Step"."endedAt")`;
const TASK_COLUMNS = `"id", "executionId", "activityId", "name", "status", "assignee", "candidateGroups",
  "candidateUsers", "form", "createdAt", "completedAt", "completedBy", "result"`;
// An answered task stays answered: a resumed engine re-reports it as open.
const TASK_ON_CONFLICT = `ON CONFLICT ("id") DO UPDATE SET
    "status" = CASE WHEN excluded."status" = 'open' THEN "Task"."status" ELSE excluded."status" END,
    "completedAt" = COALESCE("Task"."completedAt", excluded."completedAt"),
    "completedBy" = COALESCE("Task"."completedBy", excluded."completedBy"),
    "result" = COALESCE("Task"."result", excluded."result")`;
const WAIT_COLUMNS = `"id", "executionId", "activityId", "kind", "name", "correlationKey", "dueAt", "createdAt"`;
const WAIT_ON_CONFLICT = `ON CONFLICT ("id") DO UPDATE SET "name" = excluded."name", "correlationKey" = excluded."correlationKey", "dueAt" = excluded."dueAt"`;

const SQLITE_STEP = `INSERT INTO "Step" (${STEP_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ${STEP_ON_CONFLICT}`;
const SQLITE_TASK = `INSERT INTO "Task" (${TASK_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ${TASK_ON_CONFLICT}`;
const SQLITE_WAIT = `INSERT INTO "Wait" (${WAIT_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?) ${WAIT_ON_CONFLICT}`;
// only while the execution is live (see insertInbox)
const SQLITE_INBOX = `
  INSERT INTO "Inbox" ("id", "executionId", "kind", "target", "targetStep", "payload", "createdAt")
  SELECT ?, ?, ?, ?, ?, ?, ?
  WHERE EXISTS (SELECT 1 FROM "Execution" WHERE "id" = ? AND "status" IN ('pending', 'running', 'waiting'))
  ON CONFLICT ("id") DO NOTHING`;
const SQLITE_OUTBOX = `INSERT INTO "Outbox" ("id", "event", "payload", "createdAt") VALUES (?, ?, ?, ?) ON CONFLICT ("id") DO NOTHING`;

/** A commit waiting for its batch, and its caller's answer. */
type QueuedCommit = { c: Commit; resolve: (written: boolean) => void; reject: (err: unknown) => void };

/** What a batch did: the commits written, those fenced off (neither), and those that failed, with why. */
type Written = { written: Set<string>; failed: Map<string, unknown> };

/** Most commits written in one transaction (bounded by the SQL parameters of one statement). */
const MAX_BATCH = 200;

/** Prisma's error for a unique constraint that failed. */
const isUnique = (err: unknown) => (err as { code?: string }).code === 'P2002';

/** The Store on Prisma, the same code for SQLite and PostgreSQL. */
export class PrismaStore implements Store {
  readonly #db: Db;
  readonly provider: 'sqlite' | 'postgresql';
  readonly #close: () => Promise<void>;
  /** Commits waiting for the next batch, batches being written, and how many may be at once. */
  #queued: QueuedCommit[] = [];
  #pumpScheduled = false;
  #batches = 0;
  readonly #maxBatches: number;
  /** Workflow versions read lately (immutable rows), oldest first. */
  readonly #workflows = new Map<string, WorkflowRecord>();
  /** Prepared statements of the SQLite hot path, by text. */
  readonly #statements = new WeakMap<BetterSqlite3.Database, Map<string, BetterSqlite3.Statement>>();

  /** The pool under the PostgreSQL client: commits run on it directly. */
  readonly #pg: pg.Pool | null;

  constructor(db: Db, provider: 'sqlite' | 'postgresql', close: () => Promise<void>, pgPool?: pg.Pool) {
    this.#db = db;
    this.provider = provider;
    this.#close = close;
    if (provider === 'postgresql' && !pgPool) throw new Error('PrismaStore on PostgreSQL needs the pg pool under its client');
    this.#pg = pgPool ?? null;
    // Commits wait their turn in the batch queue rather than in Prisma's transaction queue, whose
    // 2 s maxWait would fail them under load (and a starved lease renewal would hand executions
    // over). SQLite has one writer: one batch at a time; PostgreSQL writes batches side by side.
    this.#maxBatches = provider === 'sqlite' ? 1 : 4;
  }

  async createWorkflow(w: { key: string; name: string; xml: string; warnings: Problem[] }): Promise<WorkflowRecord> {
    for (let tries = 0; ; tries++) {
      const last = await this.#db.workflow.findFirst({ where: { key: w.key }, orderBy: { version: 'desc' }, select: { version: true } });
      try {
        const row = await this.#db.workflow.create({
          data: { id: randomUUID(), key: w.key, name: w.name, xml: w.xml, version: (last?.version ?? 0) + 1, warnings: JSON.stringify(w.warnings) },
        });
        return toWorkflow(row);
      } catch (err) {
        if (!isUnique(err) || tries > 20) throw err; // a concurrent deploy took that version
      }
    }
  }

  async getWorkflow(id: string): Promise<WorkflowRecord | null> {
    // A stored version never changes: every start resolves its workflow, so keep the recent ones.
    const known = this.#workflows.get(id);
    if (known) return { ...known, warnings: [...known.warnings] };
    const row = await this.#db.workflow.findUnique({ where: { id } });
    if (!row) return null;
    const wf = toWorkflow(row);
    if (this.#workflows.size >= 256) this.#workflows.delete(this.#workflows.keys().next().value!);
    this.#workflows.set(id, wf);
    return { ...wf, warnings: [...wf.warnings] };
  }

  async getLatestWorkflow(key: string): Promise<WorkflowRecord | null> {
    const row = await this.#db.workflow.findFirst({ where: { key }, orderBy: { version: 'desc' } });
    return row ? toWorkflow(row) : null;
  }

  async listWorkflows(q: { limit: number; offset: number; key?: string }): Promise<Page<WorkflowRecord>> {
    const where = q.key ? { key: q.key } : {};
    const [rows, total] = await Promise.all([
      this.#db.workflow.findMany({ where, orderBy: [{ key: 'asc' }, { version: 'desc' }], take: q.limit, skip: q.offset }),
      this.#db.workflow.count({ where }),
    ]);
    return { items: rows.map(toWorkflow), total };
  }

  async createExecution(e: NewExecution): Promise<ExecutionRecord> {
    const conn = this.provider === 'sqlite' ? await this.#idleSqlite() : null;
    if (conn) {
      // the hot path of every start: one prepared INSERT; the record is what the row now holds
      const now = new Date();
      const r: ExecutionRecord = {
        id: e.id,
        workflowId: e.workflowId,
        status: 'pending',
        priority: e.priority,
        input: JSON.parse(JSON.stringify(e.input)) as Record<string, unknown>,
        result: null,
        error: null,
        state: null,
        variables: null,
        revision: 0,
        owner: e.owner ?? null,
        leaseUntil: e.owner ? (e.leaseUntil ?? null) : null,
        createdAt: now,
        startedAt: null,
        endedAt: null,
        updatedAt: now,
        parentId: e.parentId ?? null,
        parentStep: e.parentId ? (e.parentStep ?? null) : null,
        trigger: e.trigger ? (JSON.parse(JSON.stringify(e.trigger)) as Trigger) : null,
      };
      this.#prepare(conn, SQLITE_CREATE).run(r.id, r.workflowId, r.status, r.priority, JSON.stringify(e.input), r.revision, r.owner, sqliteDate(r.leaseUntil),
        sqliteDate(now), sqliteDate(now), r.parentId, r.parentStep, json(e.trigger));
      return r;
    }
    const row = await this.#db.execution.create({
      data: {
        id: e.id,
        workflowId: e.workflowId,
        status: 'pending',
        priority: e.priority,
        input: JSON.stringify(e.input),
        ...(e.owner ? { owner: e.owner, leaseUntil: e.leaseUntil ?? null } : {}),
        ...(e.parentId ? { parentId: e.parentId, parentStep: e.parentStep ?? null } : {}),
        ...(e.trigger ? { trigger: JSON.stringify(e.trigger) } : {}),
      },
    });
    return toExecution(row);
  }

  /** The SQLite connection once no Prisma interactive transaction holds it (they span awaits), or null on PostgreSQL. */
  async #idleSqlite(): Promise<BetterSqlite3.Database | null> {
    const conn = sqliteConnectionOf(this.#db);
    for (let waited = 0; conn?.inTransaction; waited++) {
      if (waited > 30_000) throw new Error('the SQLite connection stayed in a transaction for 30 s');
      await new Promise((r) => setTimeout(r, 1));
    }
    return conn;
  }

  #prepare(conn: BetterSqlite3.Database, text: string): BetterSqlite3.Statement {
    let statements = this.#statements.get(conn);
    if (!statements) this.#statements.set(conn, (statements = new Map()));
    let s = statements.get(text);
    if (!s) statements.set(text, (s = conn.prepare(text)));
    return s;
  }

  async getExecution(id: string): Promise<ExecutionRecord | null> {
    const row = await this.#db.execution.findUnique({ where: { id } });
    return row ? toExecution(row) : null;
  }

  async getSteps(executionId: string): Promise<StepRecord[]> {
    const rows = await this.#db.step.findMany({ where: { executionId }, orderBy: { seq: 'asc' } });
    return rows.map(toStep);
  }

  async maxStepSeq(executionId: string): Promise<number> {
    const r = await this.#db.step.aggregate({ where: { executionId }, _max: { seq: true } });
    return r._max.seq ?? 0;
  }

  async listExecutions(q: { status?: ExecutionStatus; workflowIds?: string[]; limit: number; offset: number }): Promise<Page<ExecutionRecord>> {
    const where = {
      ...(q.status ? { status: q.status } : {}),
      ...(q.workflowIds ? { workflowId: { in: q.workflowIds } } : {}),
    };
    const [rows, total] = await Promise.all([
      this.#db.execution.findMany({ where, orderBy: { createdAt: 'desc' }, take: q.limit, skip: q.offset, omit: { state: true, variables: true } }),
      this.#db.execution.count({ where }),
    ]);
    return { items: rows.map((r) => toExecution({ ...r, state: null, variables: null })), total };
  }

  /** Every start and adoption claims: one statement that takes the lease and reads the row. */
  async claim(id: string, owner: string, leaseUntil: Date, now: Date): Promise<ExecutionRecord | null> {
    if (this.provider === 'sqlite') {
      const conn = await this.#idleSqlite();
      if (!conn) {
        // the client reconnects lazily: its connection is not open yet, so go through Prisma
        const { count } = await this.#db.execution.updateMany({
          where: { id, status: { in: LIVE }, OR: [{ owner: null }, { owner }, { leaseUntil: { lt: now } }] },
          data: { owner, leaseUntil },
        });
        return count === 1 ? this.getExecution(id) : null;
      }
      const row = this.#prepare(conn, SQLITE_CLAIM).get(owner, sqliteDate(leaseUntil), sqliteDate(now), id, owner, sqliteDate(now)) as SqliteRow<ExecutionRow> | undefined;
      return row ? toExecution(fromSqlite(row, EXECUTION_DATES)) : null;
    }
    const ts = pgTimestamp;
    const rows = await this.#db.$queryRaw<ExecutionRow[]>(sql`
      UPDATE "Execution" SET "owner" = ${owner}, "leaseUntil" = ${ts(leaseUntil)}, "updatedAt" = ${ts(now)}
      WHERE "id" = ${id} AND "status" IN ('pending', 'running', 'waiting')
        AND ("owner" IS NULL OR "owner" = ${owner} OR "leaseUntil" < ${ts(now)})
      RETURNING *`);
    return rows[0] ? toExecution(rows[0]) : null;
  }

  /*
   * The hot path: one commit per step of every execution. Commits are grouped: every commit that
   * arrives while a batch is being written waits for the next batch, and a batch writes all of its
   * commits in one transaction with a few multi-row statements (portable SQL, valid on SQLite and
   * PostgreSQL), because per-statement and per-transaction costs, not the rows, dominate here
   * (docs/performance.md). The Store interface is unchanged: each caller still gets its own answer.
   */
  commit(c: Commit): Promise<boolean> {
    return new Promise((resolve, reject) => {
      this.#queued.push({ c, resolve, reject });
      this.#schedule();
    });
  }

  #schedule(): void {
    if (this.#pumpScheduled) return;
    this.#pumpScheduled = true;
    // Commits made in the same turn of the event loop join one batch: the runtime flushes every
    // ready execution in one turn, so their commits are all queued before this microtask runs.
    queueMicrotask(() => {
      this.#pumpScheduled = false;
      this.#pump();
    });
  }

  #pump(): void {
    while (this.#queued.length && this.#batches < this.#maxBatches) {
      const batch: QueuedCommit[] = [];
      const ids = new Set<string>();
      const rest: QueuedCommit[] = [];
      for (const q of this.#queued) {
        // one commit per execution per batch: a second one builds on the first's revision
        if (batch.length >= MAX_BATCH || ids.has(q.c.id)) rest.push(q);
        else (batch.push(q), ids.add(q.c.id));
      }
      this.#queued = rest;
      this.#batches++;
      void this.#write(batch).finally(() => {
        this.#batches--;
        if (this.#queued.length) this.#pump();
      });
    }
  }

  /** Writes a batch; when it fails as a whole, each commit is tried alone so that one bad commit fails only itself. */
  async #write(batch: QueuedCommit[]): Promise<void> {
    const settle = (q: QueuedCommit, r: Written) => {
      const err = r.failed.get(q.c.id);
      if (err !== undefined) q.reject(err);
      else q.resolve(r.written.has(q.c.id));
    };
    try {
      const r = await this.#writeBatch(batch.map((q) => q.c));
      for (const q of batch) settle(q, r);
    } catch (err) {
      if (batch.length === 1) return batch[0]!.reject(err);
      for (const q of batch) {
        await this.#writeBatch([q.c]).then(
          (r) => settle(q, r),
          (e: unknown) => q.reject(e),
        );
      }
    }
  }

  /**
   * One transaction for several commits. Returns the ids of the commits whose fence held; the
   * others wrote nothing (their rows are only written for the ids the fenced UPDATE returned).
   */
  async #writeBatch(commits: Commit[]): Promise<Written> {
    if (this.provider === 'postgresql') return this.#writePg(commits);
    const sqlite = sqliteConnectionOf(this.#db);
    if (sqlite) return this.#writeSqlite(sqlite, commits);
    // the client reconnects lazily: its connection is not open yet, so go through Prisma
    return this.#db.$transaction((tx) => writePortable(prismaRunner(tx, 'sqlite'), commits, new Date()), { maxWait: 30_000, timeout: 30_000 });
  }

  /**
   * The batch on PostgreSQL, on a connection of the pool under the Prisma client (Prisma's
   * request pipeline was most of a commit's CPU): one transaction, a few multi-row statements.
   */
  async #writePg(commits: Commit[]): Promise<Written> {
    const client = await this.#pg!.connect();
    // INVARIANT: a checked-out client's errors are ours to handle: the pool stops listening, and
    // a connection dropped mid-batch (a restart, a failover) would otherwise be an uncaught error.
    let broken: Error | undefined;
    const onError = (err: Error) => (broken = err);
    client.on('error', onError);
    const q = (text: string, values: unknown[] = []) => client.query({ text, values: values.map(pgValue), query_timeout: PG_COMMIT_TIMEOUT_MS } as pg.QueryConfig);
    const now = new Date();
    try {
      const one = pgOneStatement(commits, now);
      // a single statement is a transaction of its own: no BEGIN/COMMIT round trips
      if (one) return { written: new Set((await q(one.text, one.values)).rows.map((r: { id: string }) => r.id)), failed: new Map() };
      await q('BEGIN');
      try {
        const written = await writePortable(pgRunner(q), commits, now);
        await q('COMMIT');
        return written;
      } catch (err) {
        await q('ROLLBACK').catch((e: Error) => (broken ??= e));
        throw err;
      }
    } catch (err) {
      // a timeout or a socket error leaves the connection in an unknown state: it is not reused
      if (isConnectionError(err)) broken ??= err as Error;
      throw err;
    } finally {
      client.off('error', onError);
      client.release(broken);
    }
  }

  /**
   * The same batch on SQLite, straight on the client's better-sqlite3 connection with prepared
   * statements: synchronous, so no other query of this process can run inside it, and each
   * commit in a savepoint of its own, so a commit that throws is rolled back alone.
   */
  async #writeSqlite(conn: BetterSqlite3.Database, commits: Commit[]): Promise<Written> {
    // A Prisma interactive transaction (e.g. answerTask) holds the connection across awaits: wait for its end.
    await this.#idleSqlite();
    const st = (text: string) => this.#prepare(conn, text);
    const now = sqliteDate(new Date());
    const one = conn.transaction((c: Commit): boolean => {
      const giveUp = c.lease === 'release';
      // INVARIANT: owner + revision fence the write; a process that lost the lease writes nothing.
      const { changes } = st(SQLITE_UPDATE).run(
        c.status,
        c.state,
        JSON.stringify(c.variables),
        c.revision + 1,
        giveUp ? null : c.owner,
        giveUp ? null : sqliteDate(c.lease as Date),
        c.result === undefined ? null : json(c.result),
        c.error === undefined ? null : json(c.error),
        sqliteDate(c.startedAt ?? null),
        sqliteDate(c.endedAt ?? null),
        now,
        c.id,
        c.owner,
        c.revision,
      );
      if (changes !== 1) return false;
      for (const s of c.steps) {
        st(SQLITE_STEP).run(s.id, s.executionId, s.seq, s.activityId, s.name, s.type, s.status, s.attempt, s.activity, s.jobId,
          json(s.input), json(s.output), json(s.error), s.engineId, sqliteDate(s.startedAt), sqliteDate(s.endedAt));
      }
      for (const t of c.tasks ?? []) {
        st(SQLITE_TASK).run(t.id, t.executionId, t.activityId, t.name, t.status, t.assignee, JSON.stringify(t.candidateGroups),
          JSON.stringify(t.candidateUsers), json(t.form), sqliteDate(t.createdAt), sqliteDate(t.completedAt), t.completedBy, json(t.result));
      }
      for (const w of c.waits ?? []) {
        st(SQLITE_WAIT).run(w.id, w.executionId, w.activityId, w.kind, w.name, w.correlationKey, sqliteDate(w.dueAt), sqliteDate(w.createdAt));
      }
      for (const id of c.dropWaits ?? []) st('DELETE FROM "Wait" WHERE "id" = ?').run(id);
      for (const id of c.consumed ?? []) st('DELETE FROM "Inbox" WHERE "id" = ?').run(id);
      if (TERMINAL.has(c.status)) {
        // an ended execution waits for nothing; what arrives for it now is never applied
        st('DELETE FROM "Wait" WHERE "executionId" = ?').run(c.id);
        st('DELETE FROM "Inbox" WHERE "executionId" = ?').run(c.id);
      }
      for (const i of c.deliver ?? []) {
        st(SQLITE_INBOX).run(i.id, i.executionId, i.kind, i.target, i.targetStep, JSON.stringify(i.payload), sqliteDate(i.createdAt), i.executionId);
      }
      for (const e of c.events ?? []) st(SQLITE_OUTBOX).run(e.id, e.event, JSON.stringify(e.payload), sqliteDate(e.createdAt));
      return true;
    });
    return conn
      .transaction((): Written => {
        const result: Written = { written: new Set(), failed: new Map() };
        for (const c of commits) {
          try {
            if (one(c)) result.written.add(c.id); // nested: a savepoint, rolled back alone when it throws
          } catch (err) {
            result.failed.set(c.id, err);
          }
        }
        return result;
      })
      .immediate();
  }

  async renewLeases(owner: string, ids: string[], leaseUntil: Date): Promise<number> {
    let total = 0;
    for (let i = 0; i < ids.length; i += 500) {
      const { count } = await this.#db.execution.updateMany({ where: { owner, id: { in: ids.slice(i, i + 500) }, status: { in: LIVE } }, data: { leaseUntil } });
      total += count;
    }
    return total;
  }

  async releaseAll(owner: string): Promise<number> {
    const { count } = await this.#db.execution.updateMany({ where: { owner }, data: { owner: null, leaseUntil: null } });
    return count;
  }

  async findAdoptable(now: Date, pendingBefore: Date, limit: number): Promise<string[]> {
    const free = [{ owner: null }, { leaseUntil: { lt: now } }];
    const woken = await this.#wokenIds(now);
    const rows = await this.#db.execution.findMany({
      where: {
        OR: [
          { status: 'running', OR: free },
          { status: 'pending', createdAt: { lt: pendingBefore }, OR: free },
          ...(woken.length ? [{ status: 'waiting', id: { in: woken }, OR: free }] : []),
        ],
      },
      select: { id: true },
      orderBy: { createdAt: 'asc' },
      take: limit,
    });
    return rows.map((r) => r.id);
  }

  async findWoken(owner: string, now: Date): Promise<string[]> {
    const woken = await this.#wokenIds(now);
    if (!woken.length) return [];
    const rows = await this.#db.execution.findMany({ where: { id: { in: woken }, owner }, select: { id: true } });
    return rows.map((r) => r.id);
  }

  /** Executions with an inbox item or a due timer (bounded: the rest come on the next sweep). */
  async #wokenIds(now: Date): Promise<string[]> {
    const [due, delivered] = await Promise.all([
      this.#db.wait.findMany({ where: { kind: 'timer', dueAt: { lte: now } }, select: { executionId: true }, distinct: ['executionId'], take: 1000 }),
      this.#db.inbox.findMany({ select: { executionId: true }, distinct: ['executionId'], take: 1000 }),
    ]);
    return [...new Set([...due, ...delivered].map((r) => r.executionId))];
  }

  async getTask(id: string): Promise<TaskRecord | null> {
    const row = await this.#db.task.findUnique({ where: { id } });
    return row ? toTask(row) : null;
  }

  async listTasks(q: TaskQuery): Promise<Page<TaskRecord>> {
    const where = {
      ...(q.status ? { status: q.status } : {}),
      ...(q.executionId ? { executionId: q.executionId } : {}),
      ...(q.assignee ? { assignee: q.assignee } : {}),
      // candidateGroups is a JSON array of strings: match the quoted name
      ...(q.candidateGroup ? { candidateGroups: { contains: JSON.stringify(q.candidateGroup) } } : {}),
    };
    const [rows, total] = await Promise.all([
      this.#db.task.findMany({ where, orderBy: { createdAt: 'asc' }, take: q.limit, skip: q.offset }),
      this.#db.task.count({ where }),
    ]);
    return { items: rows.map(toTask), total };
  }

  async answerTask(id: string, by: string | null, result: Record<string, unknown>, now: Date) {
    return this.#db.$transaction(async (tx) => {
      const { count } = await tx.task.updateMany({
        where: { id, status: 'open' },
        data: { status: 'completing', completedBy: by, completedAt: now, result: JSON.stringify(result) },
      });
      const row = await tx.task.findUnique({ where: { id } });
      if (!row) return null;
      const task = toTask(row);
      if (count !== 1) return { ok: false as const, task };
      await tx.inbox.create({
        data: inboxRow({ id: randomUUID(), executionId: task.executionId, kind: 'task', target: task.activityId, targetStep: task.id, payload: result, createdAt: now }),
      });
      return { ok: true as const, task };
    });
  }

  async deliver(items: InboxItem[]): Promise<void> {
    if (!items.length) return;
    await this.#db.$transaction(async (tx) => {
      for (const i of items) await insertInbox(prismaRunner(tx, this.provider), i);
    });
  }

  async inbox(executionId: string): Promise<InboxItem[]> {
    const rows = await this.#db.inbox.findMany({ where: { executionId }, orderBy: { createdAt: 'asc' } });
    return rows.map(toInbox);
  }

  async findWaits(q: { kind: WaitKind; name: string; correlationKey?: string; executionId?: string }): Promise<WaitRecord[]> {
    const where = {
      kind: q.kind,
      name: q.name,
      ...(q.correlationKey !== undefined ? { correlationKey: q.correlationKey } : {}),
      ...(q.executionId ? { executionId: q.executionId } : {}),
    };
    const all: WaitRecord[] = [];
    for (;;) {
      const rows = await this.#db.wait.findMany({ where, orderBy: [{ createdAt: 'asc' }, { id: 'asc' }], take: 5000, skip: all.length });
      all.push(...rows.map(toWait));
      if (rows.length < 5000) return all;
    }
  }

  async getWaits(executionId: string): Promise<WaitRecord[]> {
    const rows = await this.#db.wait.findMany({ where: { executionId }, orderBy: { createdAt: 'asc' } });
    return rows.map(toWait);
  }

  async publish(events: OutboxEvent[]): Promise<void> {
    if (events.length) await this.#db.outbox.createMany({ data: events.map((e) => ({ ...e, payload: JSON.stringify(e.payload) })) });
  }

  async outbox(limit: number): Promise<OutboxEvent[]> {
    const rows = await this.#db.outbox.findMany({ orderBy: [{ createdAt: 'asc' }, { id: 'asc' }], take: limit });
    return rows.map((r) => ({ ...r, payload: parse<Record<string, unknown>>(r.payload) ?? {} }));
  }

  async fanOut(eventIds: string[], deliveries: WebhookDelivery[]): Promise<void> {
    if (!deliveries.length) {
      await this.#db.outbox.deleteMany({ where: { id: { in: eventIds } } });
      return;
    }
    await this.#db.$transaction(async (tx) => {
      for (const d of deliveries) {
        await tx.$executeRaw`
          INSERT INTO "WebhookDelivery" ("id", "subscriptionId", "event", "payload", "status", "attempts", "responseCode", "lastError", "createdAt", "deliveredAt")
          VALUES (${d.id}, ${d.subscriptionId}, ${d.event}, ${JSON.stringify(d.payload)}, ${d.status}, ${d.attempts}, ${d.responseCode}, ${d.lastError}, ${d.createdAt}, ${d.deliveredAt})
          ON CONFLICT ("id") DO NOTHING`;
      }
      await tx.outbox.deleteMany({ where: { id: { in: eventIds } } });
    });
  }

  async createSubscription(sub: WebhookSubscription): Promise<WebhookSubscription> {
    const row = await this.#db.webhookSubscription.create({ data: { ...sub, events: JSON.stringify(sub.events) } });
    return toSubscription(row);
  }

  async listSubscriptions(): Promise<WebhookSubscription[]> {
    return (await this.#db.webhookSubscription.findMany({ orderBy: { createdAt: 'asc' } })).map(toSubscription);
  }

  async getSubscription(id: string): Promise<WebhookSubscription | null> {
    const row = await this.#db.webhookSubscription.findUnique({ where: { id } });
    return row ? toSubscription(row) : null;
  }

  async deleteSubscription(id: string): Promise<boolean> {
    const { count } = await this.#db.webhookSubscription.deleteMany({ where: { id } });
    return count === 1;
  }

  async getDelivery(id: string): Promise<WebhookDelivery | null> {
    const row = await this.#db.webhookDelivery.findUnique({ where: { id } });
    return row ? toDelivery(row) : null;
  }

  async listDeliveries(q: { subscriptionId?: string; status?: DeliveryStatus; createdBefore?: Date; limit: number; offset: number }): Promise<Page<WebhookDelivery>> {
    const where = {
      ...(q.subscriptionId ? { subscriptionId: q.subscriptionId } : {}),
      ...(q.status ? { status: q.status } : {}),
      ...(q.createdBefore ? { createdAt: { lt: q.createdBefore } } : {}),
    };
    const order = q.createdBefore ? ('asc' as const) : ('desc' as const);
    const [rows, total] = await Promise.all([
      this.#db.webhookDelivery.findMany({ where, orderBy: [{ createdAt: order }, { id: 'asc' }], take: q.limit, skip: q.offset }),
      this.#db.webhookDelivery.count({ where }),
    ]);
    return { items: rows.map(toDelivery), total };
  }

  async recordAttempt(id: string, r: { status: DeliveryStatus; attempts: number; responseCode: number | null; error: string | null; at: Date }): Promise<void> {
    await this.#db.webhookDelivery.updateMany({
      where: { id, status: { not: 'delivered' } },
      data: { status: r.status, attempts: r.attempts, responseCode: r.responseCode, lastError: r.error, ...(r.status === 'delivered' ? { deliveredAt: r.at } : {}) },
    });
  }

  async close(): Promise<void> {
    await this.#close();
  }
}

const toSubscription = (r: { id: string; url: string; events: string; secret: string; enabled: boolean; createdAt: Date }): WebhookSubscription => ({
  ...r,
  events: parse<string[]>(r.events) ?? [],
});
const toDelivery = (r: Omit<WebhookDelivery, 'payload' | 'status'> & { payload: string; status: string }): WebhookDelivery => ({
  ...r,
  status: r.status as DeliveryStatus,
  payload: parse<Record<string, unknown>>(r.payload) ?? {},
});

type Tx = Parameters<Parameters<Db['$transaction']>[0]>[0];

/** Where the portable batch runs its statements: a pg connection, or a Prisma transaction. */
type Runner = {
  query<T>(q: Sql): Promise<T[]>;
  execute(q: Sql): Promise<unknown>;
  /** A timestamp parameter, typed where PostgreSQL cannot infer it (VALUES lists, SELECT lists). */
  ts(d: Date | null): Sql;
};
type Sql = ReturnType<typeof sql>;

/** node-postgres sends a Date in local time; the columns are TIMESTAMP(3) in UTC, as Prisma keeps them. */
const pgValue = (v: unknown) => (v instanceof Date ? v.toISOString().slice(0, -1) : v);

function pgRunner(query: (text: string, values: unknown[]) => Promise<pg.QueryResult>): Runner {
  return {
    async query<T>(q: Sql) {
      return (await query(q.text, q.values)).rows as T[];
    },
    execute: (q) => query(q.text, q.values),
    ts: pgTimestamp,
  };
}

function prismaRunner(tx: Tx, provider: 'sqlite' | 'postgresql'): Runner {
  return {
    query: <T>(q: Sql) => tx.$queryRaw<T[]>(q),
    execute: (q) => tx.$executeRaw(q),
    ts: (d) => (provider === 'postgresql' ? pgTimestamp(d) : sql`${d}`),
  };
}

/** A pg error that may leave its connection unusable: not a statement's SQLSTATE (the socket's ECONNRESET, say). */
const isConnectionError = (err: unknown) => !/^[0-9A-Z]{5}$/.test(String((err as { code?: unknown }).code ?? ''));

/** How long a batch's statement may take on PostgreSQL before its connection is given up (Prisma's transactions had 30 s). */
const PG_COMMIT_TIMEOUT_MS = 30_000;

/** PostgreSQL's limit is 65535 parameters per statement; a batch above this takes the multi-statement path. */
const ONE_STATEMENT_PARAMS = 30_000;

const int = (n: number) => sql`CAST(${n} AS INTEGER)`;
/** A timestamp parameter PostgreSQL cannot type from its context (VALUES and SELECT lists). */
const pgTimestamp = (d: Date | null) => sql`CAST(${d} AS TIMESTAMP(3))`;

/**
 * The UPDATE of a batch's executions, one row each, returning the id and new status of those
 * whose fence held. `ts` types a timestamp for the database (see Runner.ts).
 *
 * INVARIANT: owner + revision fence each commit; one that lost its lease writes nothing, and its
 * failure does not touch the other commits of the batch.
 */
function fencedUpdate(commits: Commit[], now: Date, ts: (d: Date | null) => Sql): Sql {
  const rows = commits.map((c) => {
    const giveUp = c.lease === 'release';
    return sql`(${c.id}, ${c.owner}, ${int(c.revision)}, ${c.status}, ${c.state}, ${JSON.stringify(c.variables)},
      ${giveUp ? null : c.owner}, ${ts(giveUp ? null : (c.lease as Date))}, ${c.result === undefined ? null : json(c.result)},
      ${c.error === undefined ? null : json(c.error)}, ${ts(c.startedAt ?? null)}, ${ts(c.endedAt ?? null)})`;
  });
  return sql`
    UPDATE "Execution" SET
      "status" = v.column4,
      "state" = v.column5,
      "variables" = v.column6,
      "revision" = v.column3 + 1,
      "owner" = v.column7,
      "leaseUntil" = v.column8,
      "result" = COALESCE(v.column9, "Execution"."result"),
      "error" = COALESCE(v.column10, "Execution"."error"),
      "startedAt" = COALESCE(v.column11, "Execution"."startedAt"),
      "endedAt" = COALESCE(v.column12, "Execution"."endedAt"),
      "updatedAt" = ${ts(now)}
    FROM (VALUES ${join(rows)}) AS v
    WHERE "Execution"."id" = v.column1 AND "Execution"."owner" = v.column2 AND "Execution"."revision" = v.column3
    RETURNING "id", "status"`;
}

/**
 * The common batch on PostgreSQL as ONE statement: commits that write only their execution row,
 * steps and outbox events (every service task's commit, and most ends). Data-modifying CTEs, so
 * the fence works as in writePortable: the steps and events are inserted, and an ended
 * execution's waits and inbox deleted, only for the executions the fenced UPDATE returned. Null
 * when a commit writes anything else (tasks, waits, inbox items), or when the batch is too big.
 */
function pgOneStatement(commits: Commit[], now: Date): Sql | null {
  let params = 0;
  for (const c of commits) {
    if (c.tasks?.length || c.waits?.length || c.dropWaits?.length || c.consumed?.length || c.deliver?.length) return null;
    params += 12 + c.steps.length * 16 + (c.events?.length ?? 0) * 5;
  }
  if (params > ONE_STATEMENT_PARAMS) return null;
  const ts = pgTimestamp;
  const parts = [sql`u AS (${fencedUpdate(commits, now, ts)})`];
  const steps = commits.flatMap((c) => c.steps);
  if (steps.length) {
    // VALUES in a SELECT take their types from the parameters (text): cast the other columns
    const values = steps.map(
      (s) => sql`(${s.id}, ${s.executionId}, ${int(s.seq)}, ${s.activityId}, ${s.name}, ${s.type}, ${s.status}, ${int(s.attempt)},
                  ${s.activity}, ${s.jobId}, ${json(s.input)}, ${json(s.output)}, ${json(s.error)}, ${s.engineId}, ${ts(s.startedAt)}, ${ts(s.endedAt)})`,
    );
    parts.push(sql`s AS (
      INSERT INTO "Step" (${raw(STEP_COLUMNS)})
      SELECT * FROM (VALUES ${join(values)}) AS x WHERE x.column2 IN (SELECT "id" FROM u)
      ${raw(STEP_ON_CONFLICT)})`);
  }
  const events = commits.flatMap((c) => (c.events ?? []).map((e) => sql`(${e.id}, ${e.event}, ${JSON.stringify(e.payload)}, ${ts(e.createdAt)}, ${c.id})`));
  if (events.length) {
    parts.push(sql`o AS (
      INSERT INTO "Outbox" ("id", "event", "payload", "createdAt")
      SELECT y.column1, y.column2, y.column3, y.column4 FROM (VALUES ${join(events)}) AS y WHERE y.column5 IN (SELECT "id" FROM u)
      ON CONFLICT ("id") DO NOTHING)`);
  }
  if (commits.some((c) => TERMINAL.has(c.status))) {
    // an ended execution waits for nothing; what arrives for it now is never applied
    const ended = sql`SELECT "id" FROM u WHERE "status" IN (${join([...TERMINAL])})`;
    parts.push(sql`dw AS (DELETE FROM "Wait" WHERE "executionId" IN (${ended}))`, sql`di AS (DELETE FROM "Inbox" WHERE "executionId" IN (${ended}))`);
  }
  return sql`WITH ${join(parts)} SELECT "id" FROM u`;
}

/**
 * One transaction's worth of commits, in portable SQL. Returns the ids of the commits whose fence
 * held; the others wrote nothing (their rows are only written for the ids the fenced UPDATE returned).
 */
async function writePortable(run: Runner, commits: Commit[], now: Date): Promise<Written> {
  const ts = run.ts;
  const updated = await run.query<{ id: string }>(fencedUpdate(commits, now, ts));
  const ok = new Set(updated.map((r) => r.id));
  const done = commits.filter((c) => ok.has(c.id));
  const result: Written = { written: ok, failed: new Map() };
  if (!done.length) return result;

  const steps = done.flatMap((c) => c.steps);
  for (let i = 0; i < steps.length; i += 500) {
    const values = steps.slice(i, i + 500).map(
      (s) => sql`(${s.id}, ${s.executionId}, ${s.seq}, ${s.activityId}, ${s.name}, ${s.type}, ${s.status}, ${s.attempt},
                  ${s.activity}, ${s.jobId}, ${json(s.input)}, ${json(s.output)}, ${json(s.error)}, ${s.engineId}, ${s.startedAt}, ${s.endedAt})`,
    );
    await run.execute(sql`INSERT INTO "Step" (${raw(STEP_COLUMNS)}) VALUES ${join(values)} ${raw(STEP_ON_CONFLICT)}`);
  }
  for (const c of done) {
    for (const t of c.tasks ?? []) {
      await run.execute(sql`
        INSERT INTO "Task" (${raw(TASK_COLUMNS)})
        VALUES (${t.id}, ${t.executionId}, ${t.activityId}, ${t.name}, ${t.status}, ${t.assignee}, ${JSON.stringify(t.candidateGroups)},
                ${JSON.stringify(t.candidateUsers)}, ${json(t.form)}, ${t.createdAt}, ${t.completedAt}, ${t.completedBy}, ${json(t.result)})
        ${raw(TASK_ON_CONFLICT)}`);
    }
    for (const w of c.waits ?? []) {
      await run.execute(sql`
        INSERT INTO "Wait" (${raw(WAIT_COLUMNS)})
        VALUES (${w.id}, ${w.executionId}, ${w.activityId}, ${w.kind}, ${w.name}, ${w.correlationKey}, ${w.dueAt}, ${w.createdAt})
        ${raw(WAIT_ON_CONFLICT)}`);
    }
    for (const id of c.dropWaits ?? []) await run.execute(sql`DELETE FROM "Wait" WHERE "id" = ${id}`);
    for (const id of c.consumed ?? []) await run.execute(sql`DELETE FROM "Inbox" WHERE "id" = ${id}`);
  }
  const ended = done.filter((c) => TERMINAL.has(c.status)).map((c) => c.id);
  if (ended.length) {
    // an ended execution waits for nothing; what arrives for it now is never applied
    await run.execute(sql`DELETE FROM "Wait" WHERE "executionId" IN (${join(ended)})`);
    await run.execute(sql`DELETE FROM "Inbox" WHERE "executionId" IN (${join(ended)})`);
  }
  // after the deletes: a batch may end one execution and deliver to another that just ended
  for (const c of done) for (const i of c.deliver ?? []) await insertInbox(run, i);
  const events = done.flatMap((c) => c.events ?? []);
  for (let i = 0; i < events.length; i += 500) {
    const values = events.slice(i, i + 500).map((e) => sql`(${e.id}, ${e.event}, ${JSON.stringify(e.payload)}, ${e.createdAt})`);
    await run.execute(sql`INSERT INTO "Outbox" ("id", "event", "payload", "createdAt") VALUES ${join(values)} ON CONFLICT ("id") DO NOTHING`);
  }
  return result;
}

/**
 * Puts an item in an execution's inbox, only while the execution is live: what arrives for an
 * ended execution would never be applied, and would only make every sweep look at it.
 */
async function insertInbox(run: Runner, i: InboxItem): Promise<void> {
  await run.execute(sql`
    INSERT INTO "Inbox" ("id", "executionId", "kind", "target", "targetStep", "payload", "createdAt")
    SELECT ${i.id}, ${i.executionId}, ${i.kind}, ${i.target}, ${i.targetStep}, ${JSON.stringify(i.payload)}, ${run.ts(i.createdAt)}
    WHERE EXISTS (SELECT 1 FROM "Execution" WHERE "id" = ${i.executionId} AND "status" IN ('pending', 'running', 'waiting'))
    ON CONFLICT ("id") DO NOTHING`);
}
