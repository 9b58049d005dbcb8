import { randomUUID } from 'node:crypto';
import { SoarError, notFound } from './errors.ts';
import type { Executions } from './executions.ts';
import { TERMINAL, type CommandBus, type InboxItem, type Page, type Store, type TaskQuery, type TaskRecord, type Trigger, type WaitKind } from './ports.ts';
import type { WorkflowCatalog } from './workflows.ts';

/** The answer of a correlation: which waiting executions got it, which executions it started. */
export interface Correlation {
  delivered: string[];
  started: string[];
}

/**
 * What reaches executions from outside while they wait: analysts' answers to user tasks, messages
 * and signals. Each is written to the execution's inbox in the database first (nothing is lost if
 * no engine runs), then the engines are told; the engine that holds the execution applies it.
 */
export class Deliveries {
  readonly #store: Store;
  readonly #catalog: WorkflowCatalog;
  readonly #executions: Executions;
  readonly #commands: CommandBus;

  constructor(store: Store, catalog: WorkflowCatalog, executions: Executions, commands: CommandBus) {
    this.#store = store;
    this.#catalog = catalog;
    this.#executions = executions;
    this.#commands = commands;
  }

  listTasks(q: TaskQuery): Promise<Page<TaskRecord>> {
    return this.#store.listTasks(q);
  }

  async getTask(id: string): Promise<TaskRecord> {
    const task = await this.#store.getTask(id);
    if (!task) throw notFound('task', id);
    return task;
  }

  /**
   * Answers an open user task with a decision and form values, recorded with who and when. A task
   * is answered once: a second answer gets CONFLICT. Required form fields must be given.
   */
  async completeTask(id: string, answer: Record<string, unknown>, by: string | null): Promise<TaskRecord> {
    const task = await this.getTask(id);
    const missing = (task.form ?? []).filter((f) => f.required && (answer[f.id] === undefined || answer[f.id] === null || answer[f.id] === ''));
    if (missing.length) {
      throw new SoarError(
        'BAD_REQUEST',
        `task ${id} needs ${missing.map((f) => f.id).join(', ')}`,
        missing.map((f) => ({ field: f.id, reason: `required by the form of ${task.activityId}` })),
      );
    }
    for (const f of task.form ?? []) {
      const v = answer[f.id];
      if (v !== undefined && f.values?.length && !f.values.some((o) => o.id === v)) {
        throw new SoarError('BAD_REQUEST', `task ${id}: ${f.id} must be one of ${f.values.map((o) => o.id).join(', ')}`, [
          { field: f.id, reason: `not one of ${f.values.map((o) => o.id).join(', ')}` },
        ]);
      }
    }
    const r = await this.#store.answerTask(id, by, answer, new Date());
    if (!r) throw notFound('task', id);
    if (!r.ok) throw new SoarError('CONFLICT', `task ${id} is ${r.task.status}${r.task.completedBy ? ` (by ${r.task.completedBy})` : ''}, not open`);
    await this.#wake(r.task.executionId, 'task');
    return r.task;
  }

  /**
   * Cancels a live execution: its open tasks, waits and jobs close, the executions it called are
   * cancelled too, and it ends as `cancelled` with who and why. Applied by the engine that holds it.
   */
  async cancel(executionId: string, by: string | null, reason: string | undefined): Promise<void> {
    const execution = await this.#store.getExecution(executionId);
    if (!execution) throw notFound('execution', executionId);
    if (TERMINAL.has(execution.status)) throw new SoarError('CONFLICT', `execution ${executionId} has ended (${execution.status})`);
    await this.#store.deliver([{ id: randomUUID(), executionId, kind: 'cancel', target: '', targetStep: null, payload: { by, ...(reason ? { reason } : {}) }, createdAt: new Date() }]);
    await this.#wake(executionId, 'cancel');
  }

  /** Sends a message to one execution, which must be waiting for it. */
  async sendMessage(executionId: string, name: string, payload: Record<string, unknown>): Promise<Correlation> {
    const execution = await this.#store.getExecution(executionId);
    if (!execution) throw notFound('execution', executionId);
    const waits = await this.#store.findWaits({ kind: 'message', name, executionId });
    if (!waits.length) throw new SoarError('CONFLICT', `execution ${executionId} is not waiting for the message ${name}`);
    await this.#deliver('message', waits, payload);
    return { delivered: [executionId], started: [] };
  }

  /**
   * Correlates a message by name (and correlation key, when given) to every execution waiting for
   * it; when none waits, starts every playbook whose message start event has that name.
   */
  async correlate(name: string, correlationKey: string | undefined, payload: Record<string, unknown>): Promise<Correlation> {
    let waits = await this.#store.findWaits({ kind: 'message', name, ...(correlationKey !== undefined ? { correlationKey } : {}) });
    if (correlationKey === undefined) {
      // a message without a key must not reach every execution subscribed by key (every open alert)
      const unkeyed = waits.filter((w) => w.correlationKey === null);
      if (waits.length && !unkeyed.length) {
        throw new SoarError('BAD_REQUEST', `the executions waiting for the message ${name} are subscribed by correlation key: give correlation_key`, [
          { field: 'correlation_key', reason: 'required for this message' },
        ]);
      }
      waits = unkeyed;
    }
    if (waits.length) {
      await this.#deliver('message', waits, payload);
      return { delivered: unique(waits.map((w) => w.executionId)), started: [] };
    }
    const started = await this.#startBy('message', name, payload);
    if (!started.length) {
      throw new SoarError('NOT_FOUND', `no execution waits for the message ${name}${correlationKey !== undefined ? ` with correlation key ${correlationKey}` : ''}, and no playbook starts on it`);
    }
    return { delivered: [], started };
  }

  /** Broadcasts a signal: every execution waiting for it gets it, every playbook starting on it starts. */
  async signal(name: string, payload: Record<string, unknown>): Promise<Correlation> {
    const waits = await this.#store.findWaits({ kind: 'signal', name });
    await this.#deliver('signal', waits, payload);
    const started = await this.#startBy('signal', name, payload);
    return { delivered: unique(waits.map((w) => w.executionId)), started };
  }

  async #deliver(kind: WaitKind & InboxItem['kind'], waits: Array<{ id: string; executionId: string; activityId: string }>, payload: Record<string, unknown>): Promise<void> {
    const now = new Date();
    await this.#store.deliver(waits.map((w) => ({ id: randomUUID(), executionId: w.executionId, kind, target: w.activityId, targetStep: w.id, payload, createdAt: now })));
    for (const id of unique(waits.map((w) => w.executionId))) await this.#wake(id, kind);
  }

  async #startBy(kind: 'message' | 'signal', name: string, payload: Record<string, unknown>): Promise<string[]> {
    const trigger: Trigger = { kind, name };
    const started: string[] = [];
    for (const wf of await this.#catalog.startingOn(kind, name)) {
      const { execution } = await this.#executions.start(wf.id, payload, 3, trigger);
      started.push(execution.id);
    }
    return started;
  }

  async #wake(executionId: string, reason: string): Promise<void> {
    // A lost wake only delays: the engines' sweep finds executions with inbox items.
    await this.#commands.send({ type: 'wake', executionId, reason }).catch(() => {});
  }
}

const unique = <T>(xs: T[]): T[] => [...new Set(xs)];
