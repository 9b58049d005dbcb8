import { randomUUID } from 'node:crypto';
import { notFound } from './errors.ts';
import type { WorkflowCatalog } from './workflows.ts';
import type { CommandBus, ExecutionRecord, ExecutionStatus, Page, StepRecord, Store, TaskRecord, Trigger, WaitRecord, WorkflowRecord } from './ports.ts';
import { TERMINAL } from './ports.ts';

/** The engine of this process, when it has one: it starts what this process creates. */
export interface LocalEngine {
  readonly engineId: string;
  leaseUntil(): Date;
  accepting(): boolean;
  startOwned(record: ExecutionRecord): void;
}

export interface ExecutionView extends ExecutionRecord {
  workflow: Pick<WorkflowRecord, 'id' | 'key' | 'version' | 'name'>;
  steps: StepRecord[];
  progress: number;
  /** What it waits for from outside: open user tasks, messages, signals, timers. */
  waits: WaitRecord[];
  tasks: TaskRecord[];
}

/**
 * Starting and reading executions: what the API needs, usable from a process with no engine role.
 */
export class Executions {
  readonly #store: Store;
  readonly #catalog: WorkflowCatalog;
  readonly #commands: CommandBus;
  readonly #local: LocalEngine | null;

  /** With `local`, executions are started by this process's engine at once, without a command. */
  constructor(store: Store, catalog: WorkflowCatalog, commands: CommandBus, local: LocalEngine | null = null) {
    this.#store = store;
    this.#catalog = catalog;
    this.#commands = commands;
    this.#local = local;
  }

  /**
   * Creates an execution of a workflow (id, or process key for its latest version) and starts it.
   * `priority` orders its jobs in the queues: 1 runs soonest; 3 is normal.
   */
  async start(
    workflowIdOrKey: string,
    input: Record<string, unknown>,
    priority = 3,
    trigger?: Trigger,
    /** A caller that may start the same thing twice (a retry, two sweeps) names the execution: the second start finds the first. */
    id?: string,
  ): Promise<{ execution: ExecutionRecord; workflow: WorkflowRecord }> {
    const workflow = await this.#catalog.resolve(workflowIdOrKey);
    if (id) {
      const existing = await this.#store.getExecution(id);
      if (existing) return { execution: existing, workflow: (await this.#store.getWorkflow(existing.workflowId)) ?? workflow };
    }
    const local = this.#local?.accepting() ? this.#local : null;
    const execution = await this.#store.createExecution({
      id: id ?? randomUUID(),
      workflowId: workflow.id,
      input,
      priority,
      ...(trigger ? { trigger } : {}),
      ...(local ? { owner: local.engineId, leaseUntil: local.leaseUntil() } : {}),
    });
    // INVARIANT: the row is committed before the engine is told. A start that is lost (a crash, a
    // lost command) leaves a pending row that the engines' sweep adopts once its lease or grace ends.
    if (local) local.startOwned(execution);
    else await this.#commands.send({ type: 'start', executionId: execution.id });
    return { execution, workflow };
  }

  async get(id: string): Promise<ExecutionView> {
    const execution = await this.#store.getExecution(id);
    if (!execution) throw notFound('execution', id);
    const [steps, workflow, waits, tasks] = await Promise.all([
      this.#store.getSteps(id),
      this.#store.getWorkflow(execution.workflowId),
      this.#store.getWaits(id),
      this.#store.listTasks({ executionId: id, status: 'open', limit: 100, offset: 0 }),
    ]);
    const compiled = await this.#catalog.compiled(execution.workflowId).catch(() => null);
    return {
      ...execution,
      workflow: { id: execution.workflowId, key: workflow?.key ?? '', version: workflow?.version ?? 0, name: workflow?.name ?? '' },
      steps,
      waits,
      tasks: tasks.items,
      progress: progressOf(execution.status, steps, compiled?.nodeCount ?? 0),
    };
  }

  /** Waits (bounded) until the execution ends; returns it as it is then. */
  async waitForEnd(id: string, timeoutMs: number, signal?: AbortSignal): Promise<ExecutionView> {
    const deadline = Date.now() + timeoutMs;
    for (let delay = 10; ; delay = Math.min(delay * 2, 250)) {
      const e = await this.#store.getExecution(id);
      if (!e) throw notFound('execution', id);
      if (TERMINAL.has(e.status) || e.status === 'waiting' || Date.now() >= deadline || signal?.aborted) return this.get(id);
      await new Promise((r) => setTimeout(r, Math.min(delay, Math.max(0, deadline - Date.now()))));
    }
  }

  async list(q: { status?: ExecutionStatus; workflow?: string; limit: number; offset: number }): Promise<Page<ExecutionRecord>> {
    let workflowIds: string[] | undefined;
    if (q.workflow) {
      const byId = await this.#store.getWorkflow(q.workflow);
      workflowIds = byId ? [byId.id] : (await this.#store.listWorkflows({ key: q.workflow, limit: 1000, offset: 0 })).items.map((w) => w.id);
    }
    return this.#store.listExecutions({ ...(q.status ? { status: q.status } : {}), ...(workflowIds ? { workflowIds } : {}), limit: q.limit, offset: q.offset });
  }
}

/** Finished share of the process's flow nodes (100 once the execution has ended). */
function progressOf(status: ExecutionStatus, steps: StepRecord[], nodeCount: number): number {
  if (status === 'completed') return 100;
  if (!nodeCount) return 0;
  const done = new Set(steps.filter((s) => s.status === 'completed').map((s) => s.activityId)).size;
  return Math.min(99, Math.round((done / nodeCount) * 100));
}
