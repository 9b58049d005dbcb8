import { EventEmitter } from 'node:events';
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { Engine } from 'bpmn-engine';
import type { Logger } from './log.ts';
import type { CompiledWorkflow, WorkflowCatalog } from './workflows.ts';
import { taskInput } from './io.ts';
import {
  systemClock,
  type Clock,
  type CommandBus,
  type DispatchRequest,
  type Dispatcher,
  type EngineCommand,
  type ExecutionError,
  type ExecutionRecord,
  type ExecutionStatus,
  type JobOutcome,
  type StepRecord,
  type Store,
} from './ports.ts';

export interface RuntimeOptions {
  store: Store;
  dispatcher: Dispatcher;
  commands: CommandBus;
  workflows: WorkflowCatalog;
  logger: Logger;
  clock?: Clock;
  engineId?: string;
  /** How long a lease lasts without renewal; a dead owner's executions are adopted after it. */
  leaseMs: number;
  /** How often live executions nobody holds are looked for. */
  sweepMs: number;
  /** How long an execution waiting on jobs stays in memory before only its job ids are kept. */
  hotIdleMs: number;
  /** A pending execution is left to its start command for this long before the sweep starts it. */
  startGraceMs: number;
}

/** Events a process can observe about the executions it advances (hints; the database is the truth). */
export interface RuntimeEvents {
  settled: [executionId: string, status: ExecutionStatus];
}

/**
 * The durable executor. Each live execution is advanced by at most one engine process at a time
 * (the lease holder); every step is committed to the store before the jobs it dispatches are
 * enqueued, so a crash anywhere loses nothing and any engine process can resume any execution.
 */
export class Runtime extends EventEmitter<RuntimeEvents> {
  readonly engineId: string;
  readonly #o: RuntimeOptions;
  readonly #clock: Clock;
  /** Executions held in memory with their bpmn-engine instance. */
  readonly #hot = new Map<string, Instance>();
  /** jobId -> instance, for the jobs hot executions wait on. */
  readonly #hotJobs = new Map<string, Instance>();
  /** jobId -> its execution and connector activity, for executions we own but evicted from memory. */
  readonly #coldJobs = new Map<string, { executionId: string; activity: string }>();
  readonly #loading = new Map<string, Promise<Instance | null>>();
  #timers: NodeJS.Timeout[] = [];
  #stopping = false;

  constructor(opts: RuntimeOptions) {
    super();
    this.#o = opts;
    this.#clock = opts.clock ?? systemClock;
    this.engineId = opts.engineId ?? `${hostname()}-${process.pid}-${randomUUID().slice(0, 8)}`;
  }

  get logger(): Logger {
    return this.#o.logger;
  }
  get store(): Store {
    return this.#o.store;
  }
  get dispatcher(): Dispatcher {
    return this.#o.dispatcher;
  }
  get hotCount(): number {
    return this.#hot.size;
  }

  /** Starts consuming engine commands and job outcomes, renewing leases and adopting orphans. */
  async start(): Promise<void> {
    this.#o.dispatcher.onOutcome((jobId, outcome) => this.#onOutcome(jobId, outcome));
    // Listen before anything is dispatched: an outcome that comes earlier is only found by inspect.
    await this.#o.dispatcher.ready();
    await this.#o.commands.consume((cmd) => this.#onCommand(cmd));
    const every = (ms: number, fn: () => Promise<unknown>) => {
      let busy = false;
      const t = setInterval(() => {
        if (busy || this.#stopping) return;
        busy = true;
        fn()
          .catch((err: Error) => this.logger.error('background task failed', { err: err.message }))
          .finally(() => (busy = false));
      }, ms);
      t.unref();
      this.#timers.push(t);
    };
    every(Math.max(50, Math.floor(this.#o.leaseMs / 3)), () => this.#renew());
    every(this.#o.sweepMs, () => this.sweep());
    every(this.#o.sweepMs, () => this.reconcile());
    await this.sweep();
    this.logger.info('engine started', { engineId: this.engineId });
  }

  /** Finishes in-flight commits and gives up every lease, so other processes can adopt at once. */
  async stop(): Promise<void> {
    this.#stopping = true;
    for (const t of this.#timers) clearInterval(t);
    this.#timers = [];
    await Promise.allSettled([...this.#loading.values()]);
    await Promise.allSettled([...this.#hot.values()].map((i) => i.idle()));
    for (const inst of this.#hot.values()) inst.dispose();
    this.#hot.clear();
    this.#hotJobs.clear();
    this.#coldJobs.clear();
    await this.store.releaseAll(this.engineId).catch(() => 0);
  }

  /** Adopts live executions that nobody holds (dead owners, released leases, lost start commands). */
  async sweep(): Promise<number> {
    const now = this.#clock.now();
    const ids = await this.store.findAdoptable(now, new Date(now.getTime() - this.#o.startGraceMs), 100);
    await Promise.all(ids.map((id) => this.#load(id)));
    return ids.length;
  }

  leaseUntil(): Date {
    return new Date(this.#clock.now().getTime() + this.#o.leaseMs);
  }

  /*
   * INVARIANT: only executions this process still tracks (in memory, or evicted with their job ids
   * kept) have their leases renewed. Anything dropped on an error path lapses and is adopted again.
   */
  async #renew(): Promise<void> {
    const ids = new Set([...this.#hot.keys(), ...[...this.#coldJobs.values()].map((j) => j.executionId), ...this.#loading.keys()]);
    if (ids.size) await this.store.renewLeases(this.engineId, [...ids], this.leaseUntil());
  }

  /**
   * Events are hints: asks the queue for the state of every job this process waits on, so a missed
   * or trimmed outcome event delays an execution by one sweep interval, never forever.
   */
  async reconcile(): Promise<void> {
    for (const inst of this.#hot.values()) if (!inst.disposed) await inst.reconcile();
    for (const [jobId, { activity }] of [...this.#coldJobs]) {
      const outcome = await this.dispatcher.inspect({ jobId, activity }).catch(() => null);
      if (outcome && outcome.status !== 'pending') this.#onOutcome(jobId, outcome);
    }
  }

  async #onCommand(cmd: EngineCommand): Promise<void> {
    if (cmd.type === 'start') await this.#load(cmd.executionId);
  }

  #onOutcome(jobId: string, outcome: JobOutcome): void {
    const inst = this.#hotJobs.get(jobId);
    if (inst) return inst.deliver(jobId, outcome);
    const cold = this.#coldJobs.get(jobId);
    // Loading drops this execution's cold job ids once it is back in memory (see #run).
    if (cold) void this.#load(cold.executionId);
  }

  /** Claims an execution and brings it into memory: started fresh, or recovered from its saved state. */
  #load(executionId: string): Promise<Instance | null> {
    const hot = this.#hot.get(executionId);
    if (hot && !hot.disposed) return Promise.resolve(hot);
    let loading = this.#loading.get(executionId);
    if (!loading) {
      loading = this.#claimAndRun(executionId)
        .catch((err: Error) => {
          this.logger.error('could not load execution', { executionId, err: err.message });
          return null;
        })
        .finally(() => this.#loading.delete(executionId));
      this.#loading.set(executionId, loading);
    }
    return loading;
  }

  /** True while this process takes new executions. */
  accepting(): boolean {
    return !this.#stopping;
  }

  /** Runs an execution this process created already owned (no claim, no command round trip). */
  startOwned(record: ExecutionRecord): void {
    const loading = this.#run(record)
      .catch((err: Error) => {
        this.logger.error('could not start execution', { executionId: record.id, err: err.message });
        return null;
      })
      .finally(() => this.#loading.delete(record.id));
    this.#loading.set(record.id, loading);
  }

  async #claimAndRun(executionId: string): Promise<Instance | null> {
    if (this.#stopping) return null;
    const record = await this.store.claim(executionId, this.engineId, this.leaseUntil(), this.#clock.now());
    if (!record) return null;
    return this.#run(record);
  }

  async #run(record: ExecutionRecord): Promise<Instance | null> {
    const executionId = record.id;
    let compiled: CompiledWorkflow;
    try {
      compiled = await this.#o.workflows.compiled(record.workflowId);
    } catch (err) {
      // A workflow that is gone fails the execution; anything else (a database blip) is retried
      // when the lease lapses, since this process no longer tracks the execution.
      if ((err as { code?: string }).code !== 'NOT_FOUND') throw err;
      const inst = new Instance(this, record, null, 0);
      await inst.fail({ message: `workflow ${record.workflowId} cannot be loaded: ${(err as Error).message}` });
      return null;
    }
    const seq = record.state ? await this.store.maxStepSeq(executionId) : 0;
    const inst = new Instance(this, record, compiled, seq);
    this.#hot.set(executionId, inst);
    for (const [jobId, cold] of this.#coldJobs) if (cold.executionId === executionId) this.#coldJobs.delete(jobId);
    try {
      await inst.run();
    } catch (err) {
      this.evict(inst, []);
      inst.dispose();
      throw err;
    }
    return inst;
  }

  /** @internal bookkeeping called by instances */
  trackJob(jobId: string, inst: Instance): void {
    this.#hotJobs.set(jobId, inst);
  }
  untrackJob(jobId: string): void {
    this.#hotJobs.delete(jobId);
  }
  evict(inst: Instance, keepJobs: Array<{ jobId: string; activity: string }>): void {
    if (this.#hot.get(inst.id) === inst) this.#hot.delete(inst.id);
    for (const jobId of inst.jobIds()) this.#hotJobs.delete(jobId);
    for (const { jobId, activity } of keepJobs) this.#coldJobs.set(jobId, { executionId: inst.id, activity });
  }
  settled(inst: Instance, status: ExecutionStatus): void {
    this.emit('settled', inst.id, status);
  }
  get hotIdleMs(): number {
    return this.#o.hotIdleMs;
  }
  get sweepMs(): number {
    return this.#o.sweepMs;
  }
  get clock(): Clock {
    return this.#clock;
  }
}

interface PendingTask {
  /** when it was dispatched (or re-found on recovery) */
  since: number;
  activityExecutionId: string;
  request: DispatchRequest;
  callback: (err: Error | null, output?: unknown) => void;
  environmentOutput: Record<string, unknown>;
}

type BpmnApi = {
  id: string;
  type: string;
  name?: string;
  executionId: string;
  content: { output?: unknown; error?: { message?: string; code?: string; source?: unknown } };
};

/** One execution in memory: its bpmn-engine instance and what has not been committed yet. */
class Instance {
  readonly id: string;
  disposed = false;
  readonly #rt: Runtime;
  readonly #compiled: CompiledWorkflow | null;
  #engine: InstanceType<typeof Engine> | null = null;
  #record: ExecutionRecord;
  #revision: number;
  #seq: number;
  #recovering = false;
  readonly #pending = new Map<string, PendingTask>();
  readonly #toDispatch: DispatchRequest[] = [];
  readonly #toInspect: string[] = [];
  readonly #dirtySteps = new Map<string, StepRecord>();
  readonly #steps = new Map<string, StepRecord>();
  #ended: { status: 'completed' | 'failed'; result?: unknown; error?: ExecutionError } | null = null;
  #flushScheduled = false;
  #flushing: Promise<void> | null = null;
  #again = false;
  #idleTimer: NodeJS.Timeout | null = null;
  #startedAt: Date | undefined;

  constructor(rt: Runtime, record: ExecutionRecord, compiled: CompiledWorkflow | null, seq: number) {
    this.#rt = rt;
    this.id = record.id;
    this.#record = record;
    this.#revision = record.revision;
    this.#compiled = compiled;
    this.#seq = seq;
  }

  jobIds(): string[] {
    return [...this.#pending.keys()];
  }

  /** Resolves once everything this instance knows has been committed. */
  async idle(): Promise<void> {
    while (this.#flushing || this.#flushScheduled) await (this.#flushing ?? new Promise((r) => setImmediate(r)));
  }

  dispose(): void {
    this.disposed = true;
    if (this.#idleTimer) clearTimeout(this.#idleTimer);
    const engine = this.#engine;
    this.#engine = null;
    if (engine) {
      engine.removeAllListeners();
      try {
        engine.stop();
      } catch {
        /* already stopped */
      }
    }
  }

  async run(): Promise<void> {
    const compiled = this.#compiled!;
    const listener = new EventEmitter();
    listener.on('activity.start', (api: BpmnApi) => this.#onActivity(api, 'running'));
    listener.on('activity.wait', (api: BpmnApi) => this.#onActivity(api, 'waiting'));
    listener.on('activity.end', (api: BpmnApi) => this.#onActivity(api, 'completed'));
    listener.on('activity.discard', (api: BpmnApi) => this.#onActivity(api, 'cancelled'));
    listener.on('activity.error', (api: BpmnApi) => this.#onActivity(api, 'failed'));

    const instance = this;
    function DispatchService(this: { activity: BpmnActivity }, activity: BpmnActivity) {
      this.activity = activity;
    }
    DispatchService.prototype.execute = function (this: { activity: BpmnActivity }, message: BpmnMessage, callback: PendingTask['callback']) {
      instance.#dispatch(this.activity, message, callback);
    };
    const extensions = {
      soarDispatch(activity: BpmnActivity) {
        if (activity.behaviour && compiled.tasks.has(activity.id)) activity.behaviour.Service = DispatchService;
      },
    };

    const engine = new Engine({
      name: this.id,
      sourceContext: compiled.sourceContext,
      extensions,
      listener,
      settings: { enableDummyService: false },
      variables: { ...this.#record.input },
    } as unknown as ConstructorParameters<typeof Engine>[0]);
    this.#engine = engine;
    engine.on('end', () => {
      this.#ended = { status: 'completed', result: outputOf(engine) };
      this.#scheduleFlush();
    });
    engine.on('error', (err: Error & { source?: { content?: { id?: string } } }) => {
      const activityId = err.source?.content?.id;
      this.#ended = { status: 'failed', error: { message: err.message, ...(activityId ? { activityId } : {}) } };
      this.#scheduleFlush();
    });

    if (this.#record.state) {
      this.#recovering = true;
      engine.recover(JSON.parse(this.#record.state));
      await engine.resume();
      this.#recovering = false;
    } else {
      this.#startedAt = this.#rt.clock.now();
      await engine.execute();
    }
    this.#scheduleFlush();
  }

  #dispatch(activity: BpmnActivity, message: BpmnMessage, callback: PendingTask['callback']): void {
    const compiled = this.#compiled!;
    const binding = compiled.tasks.get(activity.id)!;
    const jobId = jobIdFor(this.id, activity.id, message.content.executionId);
    let input: unknown;
    try {
      input = taskInput(activity.behaviour, { ...(activity.environment.variables as object), ...(activity.environment.output as object) });
    } catch (err) {
      return callback(err as Error);
    }
    const request: DispatchRequest = {
      jobId,
      activity: binding,
      executionId: this.id,
      activityId: activity.id,
      input,
      priority: this.#record.priority,
    };
    this.#pending.set(jobId, {
      since: Date.now(),
      activityExecutionId: message.content.executionId,
      request,
      callback,
      environmentOutput: activity.environment.output as Record<string, unknown>,
    });
    this.#rt.trackJob(jobId, this);
    const step = this.#step(activity.id, activity.type, activity.name, message.content.executionId);
    step.activity = binding;
    step.jobId = jobId;
    step.input = input;
    this.#dirtySteps.set(step.id, step);
    if (this.#recovering) this.#toInspect.push(jobId);
    else this.#toDispatch.push(request);
    this.#scheduleFlush();
  }

  /** Completes (or fails) the service task waiting on `jobId`. */
  deliver(jobId: string, outcome: JobOutcome): void {
    const task = this.#pending.get(jobId);
    if (!task || this.disposed) return;
    if (outcome.status === 'pending') return;
    if (outcome.status === 'missing') {
      this.#toDispatch.push(task.request);
      return this.#scheduleFlush();
    }
    this.#pending.delete(jobId);
    this.#rt.untrackJob(jobId);
    const step = this.#steps.get(task.activityExecutionId);
    if (step) {
      step.attempt = outcome.attempts;
      if (outcome.status === 'failed') {
        step.error = { message: outcome.error.message, attempts: outcome.attempts, ...(outcome.error.code ? { code: outcome.error.code } : {}) };
      }
      this.#dirtySteps.set(step.id, step);
    }
    if (outcome.status === 'completed') {
      task.environmentOutput[task.request.activityId] = outcome.output;
      task.callback(null, outcome.output);
    } else {
      // bpmn-elements matches `code` against an error boundary event's errorCode
      const err = Object.assign(new Error(outcome.error.message), { code: outcome.error.code });
      err.name = outcome.error.name;
      task.callback(err);
    }
    this.#scheduleFlush();
  }

  #onActivity(api: BpmnApi, status: StepRecord['status']): void {
    if (api.type === 'bpmn:Process') return;
    // bpmn-engine discards every activity on a path not taken: only a step that ran is recorded
    if (status === 'cancelled' && !this.#steps.has(api.executionId)) return;
    const step = this.#step(api.id, api.type, api.name, api.executionId);
    step.status = status;
    step.engineId = this.#rt.engineId;
    if (status === 'completed' || status === 'failed' || status === 'cancelled') {
      step.endedAt = this.#rt.clock.now();
      if (status === 'completed' && api.content.output !== undefined && this.#compiled?.tasks.has(api.id)) step.output = api.content.output;
      if (status === 'failed' && !step.error) step.error = { message: api.content.error?.message ?? 'failed' };
    }
    this.#dirtySteps.set(step.id, step);
  }

  /** The step of one activation; after a recovery it may exist only in the store, which keeps its seq and start. */
  #step(activityId: string, type: string, name: string | undefined, activityExecutionId: string): StepRecord {
    let step = this.#steps.get(activityExecutionId);
    if (!step) {
      step = {
        id: jobIdFor(this.id, activityId, activityExecutionId),
        executionId: this.id,
        seq: ++this.#seq,
        activityId,
        name: name ?? null,
        type,
        status: 'running',
        attempt: 1,
        activity: null,
        jobId: null,
        input: null,
        output: null,
        error: null,
        engineId: this.#rt.engineId,
        startedAt: this.#rt.clock.now(),
        endedAt: null,
      };
      this.#steps.set(activityExecutionId, step);
    }
    return step;
  }

  #scheduleFlush(): void {
    if (this.#idleTimer) {
      clearTimeout(this.#idleTimer);
      this.#idleTimer = null;
    }
    if (this.#flushScheduled || this.disposed) return;
    this.#flushScheduled = true;
    setImmediate(() => {
      this.#flushScheduled = false;
      this.#flush().catch((err: Error) => {
        // Not expected (commit errors are retried inside); drop the execution here and let its
        // lease lapse, so that it is adopted again from its last commit.
        this.#rt.logger.error('execution dropped after an unexpected error', { executionId: this.id, err: err.message });
        this.#abandon();
      });
    });
  }

  async #flush(): Promise<void> {
    if (this.#flushing) {
      this.#again = true;
      return;
    }
    this.#flushing = this.#flushLoop().finally(() => (this.#flushing = null));
    await this.#flushing;
  }

  async #flushLoop(): Promise<void> {
    do {
      this.#again = false;
      if (this.disposed) return;
      await this.#commitOnce();
    } while (this.#again && !this.disposed);
    if (!this.disposed) this.#afterCommit();
  }

  /*
   * INVARIANT: the state that names a job is committed BEFORE the job is enqueued (outbox order).
   * A crash between the two leaves a committed job id that the next owner finds missing and enqueues.
   */
  async #commitOnce(): Promise<void> {
    const rt = this.#rt;
    const dispatches = this.#toDispatch.splice(0);
    const inspections = this.#toInspect.splice(0);
    const steps = [...this.#dirtySteps.values()];
    this.#dirtySteps.clear();
    const ended = this.#ended;
    const status: ExecutionStatus = ended ? ended.status : this.#pending.size ? 'running' : 'waiting';
    const release = ended !== null || status === 'waiting';
    let state: string | null = null;
    if (!ended && this.#engine) state = serializeState(this.#engine);
    let ok: boolean;
    try {
      ok = await rt.store.commit({
        id: this.id,
        owner: rt.engineId,
        revision: this.#revision,
        status,
        state,
        ...(ended ? { result: ended.result ?? null, error: ended.error ?? null, endedAt: rt.clock.now() } : {}),
        ...(this.#startedAt ? { startedAt: this.#startedAt } : {}),
        lease: release ? 'release' : rt.leaseUntil(),
        steps: steps.map((s) => ({ ...s })),
      });
    } catch (err) {
      // Nothing was written: put the work back and try again shortly.
      this.#toDispatch.unshift(...dispatches);
      this.#toInspect.unshift(...inspections);
      for (const s of steps) if (!this.#dirtySteps.has(s.id)) this.#dirtySteps.set(s.id, s);
      rt.logger.error('commit failed, retrying', { executionId: this.id, err: (err as Error).message });
      await new Promise((r) => setTimeout(r, 500));
      this.#again = true;
      return;
    }
    if (!ok) {
      rt.logger.warn('execution taken over by another engine process; dropping it here', { executionId: this.id });
      this.#abandon();
      return;
    }
    this.#revision += 1;
    this.#startedAt = undefined;
    if (dispatches.length) await this.#enqueue(dispatches);
    for (const d of dispatches) rt.logger.debug('task dispatched', { executionId: this.id, activityId: d.activityId, jobId: d.jobId });
    if (inspections.length) await this.#inspect(inspections);
    if (ended || status === 'waiting') {
      rt.logger.info(`execution ${status}`, { executionId: this.id, ...(ended?.error ? { error: ended.error.message } : {}) });
      rt.settled(this, status);
      this.#abandon();
    }
  }

  async #enqueue(requests: DispatchRequest[]): Promise<void> {
    for (let delay = 100; ; delay = Math.min(delay * 2, 5000)) {
      try {
        return await this.#rt.dispatcher.dispatch(requests);
      } catch (err) {
        if (this.disposed) return;
        this.#rt.logger.error('enqueue failed, retrying', { executionId: this.id, err: (err as Error).message });
        await new Promise((r) => setTimeout(r, delay));
      }
    }
  }

  /** Asks the queue about every job this execution waits on (see Runtime.reconcile). */
  async reconcile(): Promise<void> {
    if (this.#flushing || this.#flushScheduled || !this.#pending.size) return;
    const before = Date.now() - this.#rt.sweepMs;
    const overdue = [...this.#pending].filter(([, t]) => t.since < before).map(([jobId]) => jobId);
    if (overdue.length) await this.#inspect(overdue);
  }

  async #inspect(jobIds: string[]): Promise<void> {
    const outcomes = await Promise.all(
      jobIds.map(async (jobId) => {
        const task = this.#pending.get(jobId);
        return task ? ([jobId, await this.#rt.dispatcher.inspect(task.request)] as const) : null;
      }),
    );
    for (const o of outcomes) if (o) this.deliver(o[0], o[1]);
  }

  #afterCommit(): void {
    if (this.disposed || this.#idleTimer) return;
    this.#idleTimer = setTimeout(() => {
      this.#idleTimer = null;
      if (this.#flushing || this.#flushScheduled || this.disposed) return;
      // Keep only the job ids: the outcome event brings the execution back from the store.
      this.#rt.evict(this, [...this.#pending.entries()].map(([jobId, t]) => ({ jobId, activity: t.request.activity })));
      this.dispose();
    }, this.#rt.hotIdleMs);
    this.#idleTimer.unref();
  }

  /** Fails an execution that cannot run at all (e.g. its workflow is gone). */
  async fail(error: ExecutionError): Promise<void> {
    this.#ended = { status: 'failed', error };
    await this.#commitOnce();
  }

  #abandon(): void {
    this.#rt.evict(this, []);
    this.dispose();
  }
}

type BpmnActivity = {
  id: string;
  type: string;
  name?: string;
  behaviour: Record<string, unknown> & { Service?: unknown };
  environment: { variables: unknown; output: unknown };
};
type BpmnMessage = { content: { executionId: string } };

/** bpmn-elements names activations `<activityId>_<random>`; keep the random part. */
function shortId(activityId: string, activityExecutionId: string): string {
  return activityExecutionId.startsWith(activityId + '_') ? activityExecutionId.slice(activityId.length + 1) : activityExecutionId;
}

/**
 * Deterministic job id `execution:activity:activation`. The activation id is stable once a saved
 * state holds it, and a job is only ever enqueued after that save, so a redelivery or a resume
 * after a crash always names the same job (BullMQ allows `:` in ids with exactly three parts).
 */
export function jobIdFor(executionId: string, activityId: string, activityExecutionId: string): string {
  return `${executionId}:${activityId}:${shortId(activityId, activityExecutionId).replace(/:/g, '_')}`;
}

function serializeState(engine: InstanceType<typeof Engine>): string {
  const state = (engine.execution as unknown as { getState(): { definitions: Array<{ source?: unknown }> } }).getState();
  // The compiled source is kept per workflow version; the state carries only the run.
  for (const d of state.definitions) delete d.source;
  return JSON.stringify(state);
}

function outputOf(engine: InstanceType<typeof Engine>): unknown {
  return { ...(engine.environment.output as Record<string, unknown>) };
}
