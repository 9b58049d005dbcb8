import { randomUUID } from 'node:crypto';
import type { Db } from './client.ts';
import type {
  Commit,
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

const LIVE: ExecutionStatus[] = ['pending', 'running'];

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
  revision: number;
  owner: string | null;
  leaseUntil: Date | null;
  createdAt: Date;
  startedAt: Date | null;
  endedAt: Date | null;
  updatedAt: Date;
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
  result: parse(r.result),
  error: parse<ExecutionError>(r.error),
});
const toStep = (r: StepRow): StepRecord => ({
  ...r,
  status: r.status as StepStatus,
  input: parse(r.input),
  output: parse(r.output),
  error: parse<ExecutionError>(r.error),
});

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

  async createExecution(e: { id: string; workflowId: string; input: Record<string, unknown>; priority: number; owner?: string; leaseUntil?: Date }): Promise<ExecutionRecord> {
    const row = await this.#db.execution.create({
      data: {
        id: e.id,
        workflowId: e.workflowId,
        status: 'pending',
        priority: e.priority,
        input: JSON.stringify(e.input),
        ...(e.owner ? { owner: e.owner, leaseUntil: e.leaseUntil ?? null } : {}),
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
      this.#db.execution.findMany({ where, orderBy: { createdAt: 'desc' }, take: q.limit, skip: q.offset, omit: { state: true } }),
      this.#db.execution.count({ where }),
    ]);
    return { items: rows.map((r) => toExecution({ ...r, state: null })), total };
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
    const rows = await this.#db.execution.findMany({
      where: {
        OR: [
          { status: 'running', OR: free },
          { status: 'pending', createdAt: { lt: pendingBefore }, OR: free },
        ],
      },
      select: { id: true },
      orderBy: { createdAt: 'asc' },
      take: limit,
    });
    return rows.map((r) => r.id);
  }

  async close(): Promise<void> {
    await this.#close();
  }
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
