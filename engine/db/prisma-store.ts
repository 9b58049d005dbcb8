import { randomUUID } from 'node:crypto';
import type { Db } from './client.ts';
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

/** A commit whose fence did not hold: another process owns the execution now. */
class Fenced extends Error {
  override name = 'Fenced';
}

/** Prisma's error for a unique constraint that failed. */
const isUnique = (err: unknown) => (err as { code?: string }).code === 'P2002';

/** The Store on Prisma, the same code for SQLite and PostgreSQL. */
export class PrismaStore implements Store {
  readonly #db: Db;
  readonly provider: 'sqlite' | 'postgresql';
  readonly #close: () => Promise<void>;
  readonly #commits: Semaphore;

  constructor(db: Db, provider: 'sqlite' | 'postgresql', close: () => Promise<void>) {
    this.#db = db;
    this.provider = provider;
    this.#close = close;
    // Commits wait their turn here rather than in Prisma's transaction queue, whose 2 s maxWait
    // would fail them under load (and a starved lease renewal would hand executions over).
    this.#commits = new Semaphore(provider === 'sqlite' ? 2 : 12);
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
    const row = await this.#db.workflow.findUnique({ where: { id } });
    return row ? toWorkflow(row) : null;
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

  async claim(id: string, owner: string, leaseUntil: Date, now: Date): Promise<ExecutionRecord | null> {
    const { count } = await this.#db.execution.updateMany({
      where: { id, status: { in: LIVE }, OR: [{ owner: null }, { owner }, { leaseUntil: { lt: now } }] },
      data: { owner, leaseUntil },
    });
    if (count !== 1) return null;
    return this.getExecution(id);
  }

  /*
   * The hot path: one commit per step of every execution. Written as two portable SQL statements
   * (valid on SQLite and PostgreSQL) in one transaction, because Prisma's generated queries cost
   * three times as much CPU here (docs/performance.md). The schema is still Prisma's.
   */
  async commit(c: Commit): Promise<boolean> {
    const giveUp = c.lease === 'release';
    const now = new Date();
    const release = await this.#commits.acquire();
    try {
      await this.#db.$transaction(
        async (tx) => {
          // INVARIANT: owner + revision fence the write; a process that lost the lease writes nothing.
          const n = await tx.$executeRaw`
            UPDATE "Execution" SET
              "status" = ${c.status},
              "state" = ${c.state},
              "variables" = ${JSON.stringify(c.variables)},
              "revision" = ${c.revision + 1},
              "owner" = ${giveUp ? null : c.owner},
              "leaseUntil" = ${giveUp ? null : (c.lease as Date)},
              "result" = COALESCE(${c.result === undefined ? null : json(c.result)}, "result"),
              "error" = COALESCE(${c.error === undefined ? null : json(c.error)}, "error"),
              "startedAt" = COALESCE(${c.startedAt ?? null}, "startedAt"),
              "endedAt" = COALESCE(${c.endedAt ?? null}, "endedAt"),
              "updatedAt" = ${now}
            WHERE "id" = ${c.id} AND "owner" = ${c.owner} AND "revision" = ${c.revision}`;
          if (n !== 1) throw new Fenced();
          for (const s of c.steps) {
            // A recovered engine re-reports a step it does not fully know: never erase what is stored.
            await tx.$executeRaw`
              INSERT INTO "Step" ("id", "executionId", "seq", "activityId", "name", "type", "status", "attempt",
                                  "activity", "jobId", "input", "output", "error", "engineId", "startedAt", "endedAt")
              VALUES (${s.id}, ${s.executionId}, ${s.seq}, ${s.activityId}, ${s.name}, ${s.type}, ${s.status}, ${s.attempt},
                      ${s.activity}, ${s.jobId}, ${json(s.input)}, ${json(s.output)}, ${json(s.error)}, ${s.engineId}, ${s.startedAt}, ${s.endedAt})
              ON CONFLICT ("id") DO UPDATE SET
                "status" = excluded."status",
                "attempt" = excluded."attempt",
                "engineId" = excluded."engineId",
                "activity" = COALESCE(excluded."activity", "Step"."activity"),
                "jobId" = COALESCE(excluded."jobId", "Step"."jobId"),
                "input" = COALESCE(excluded."input", "Step"."input"),
                "output" = COALESCE(excluded."output", "Step"."output"),
                "error" = COALESCE(excluded."error", "Step"."error"),
                "endedAt" = COALESCE(excluded."endedAt", "Step"."endedAt")`;
          }
          for (const t of c.tasks ?? []) {
            // An answered task stays answered: a resumed engine re-reports it as open.
            await tx.$executeRaw`
              INSERT INTO "Task" ("id", "executionId", "activityId", "name", "status", "assignee", "candidateGroups",
                                  "candidateUsers", "form", "createdAt", "completedAt", "completedBy", "result")
              VALUES (${t.id}, ${t.executionId}, ${t.activityId}, ${t.name}, ${t.status}, ${t.assignee}, ${JSON.stringify(t.candidateGroups)},
                      ${JSON.stringify(t.candidateUsers)}, ${json(t.form)}, ${t.createdAt}, ${t.completedAt}, ${t.completedBy}, ${json(t.result)})
              ON CONFLICT ("id") DO UPDATE SET
                "status" = CASE WHEN excluded."status" = 'open' THEN "Task"."status" ELSE excluded."status" END,
                "completedAt" = COALESCE("Task"."completedAt", excluded."completedAt"),
                "completedBy" = COALESCE("Task"."completedBy", excluded."completedBy"),
                "result" = COALESCE("Task"."result", excluded."result")`;
          }
          for (const w of c.waits ?? []) {
            await tx.$executeRaw`
              INSERT INTO "Wait" ("id", "executionId", "activityId", "kind", "name", "correlationKey", "dueAt", "createdAt")
              VALUES (${w.id}, ${w.executionId}, ${w.activityId}, ${w.kind}, ${w.name}, ${w.correlationKey}, ${w.dueAt}, ${w.createdAt})
              ON CONFLICT ("id") DO UPDATE SET "name" = excluded."name", "correlationKey" = excluded."correlationKey", "dueAt" = excluded."dueAt"`;
          }
          for (const id of c.dropWaits ?? []) await tx.$executeRaw`DELETE FROM "Wait" WHERE "id" = ${id}`;
          for (const id of c.consumed ?? []) await tx.$executeRaw`DELETE FROM "Inbox" WHERE "id" = ${id}`;
          if (TERMINAL.has(c.status)) {
            // an ended execution waits for nothing; what arrives for it now is never applied
            await tx.$executeRaw`DELETE FROM "Wait" WHERE "executionId" = ${c.id}`;
            await tx.$executeRaw`DELETE FROM "Inbox" WHERE "executionId" = ${c.id}`;
          }
          for (const i of c.deliver ?? []) await insertInbox(tx, i);
          for (const e of c.events ?? []) {
            await tx.$executeRaw`INSERT INTO "Outbox" ("id", "event", "payload", "createdAt") VALUES (${e.id}, ${e.event}, ${JSON.stringify(e.payload)}, ${e.createdAt}) ON CONFLICT ("id") DO NOTHING`;
          }
        },
        { maxWait: 30_000, timeout: 30_000 },
      );
      return true;
    } catch (err) {
      if (err instanceof Fenced) return false;
      throw err;
    } finally {
      release();
    }
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
      for (const i of items) await insertInbox(tx, i);
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

  async fanOut(eventId: string, deliveries: WebhookDelivery[]): Promise<void> {
    await this.#db.$transaction(async (tx) => {
      for (const d of deliveries) {
        await tx.$executeRaw`
          INSERT INTO "WebhookDelivery" ("id", "subscriptionId", "event", "payload", "status", "attempts", "responseCode", "lastError", "createdAt", "deliveredAt")
          VALUES (${d.id}, ${d.subscriptionId}, ${d.event}, ${JSON.stringify(d.payload)}, ${d.status}, ${d.attempts}, ${d.responseCode}, ${d.lastError}, ${d.createdAt}, ${d.deliveredAt})
          ON CONFLICT ("id") DO NOTHING`;
      }
      await tx.outbox.deleteMany({ where: { id: eventId } });
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

  async listDeliveries(q: { subscriptionId?: string; status?: DeliveryStatus; limit: number; offset: number }): Promise<Page<WebhookDelivery>> {
    const where = { ...(q.subscriptionId ? { subscriptionId: q.subscriptionId } : {}), ...(q.status ? { status: q.status } : {}) };
    const [rows, total] = await Promise.all([
      this.#db.webhookDelivery.findMany({ where, orderBy: [{ createdAt: 'desc' }, { id: 'asc' }], take: q.limit, skip: q.offset }),
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

/**
 * Puts an item in an execution's inbox, only while the execution is live: what arrives for an
 * ended execution would never be applied, and would only make every sweep look at it.
 */
async function insertInbox(tx: Tx, i: InboxItem): Promise<void> {
  await tx.$executeRaw`
    INSERT INTO "Inbox" ("id", "executionId", "kind", "target", "targetStep", "payload", "createdAt")
    SELECT ${i.id}, ${i.executionId}, ${i.kind}, ${i.target}, ${i.targetStep}, ${JSON.stringify(i.payload)}, ${i.createdAt}
    WHERE EXISTS (SELECT 1 FROM "Execution" WHERE "id" = ${i.executionId} AND "status" IN ('pending', 'running', 'waiting'))
    ON CONFLICT ("id") DO NOTHING`;
}

/** A counting semaphore: at most `limit` holders at once, the rest wait in order. */
class Semaphore {
  #free: number;
  readonly #waiting: Array<() => void> = [];
  constructor(limit: number) {
    this.#free = limit;
  }
  async acquire(): Promise<() => void> {
    if (this.#free > 0) this.#free--;
    else await new Promise<void>((r) => this.#waiting.push(r));
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const next = this.#waiting.shift();
      if (next) next();
      else this.#free++;
    };
  }
}
