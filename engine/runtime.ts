import { EventEmitter } from 'node:events';
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { Engine } from 'bpmn-engine';
import { uuidFrom } from './ids.ts';
import type { Logger } from './log.ts';
import type { CompiledWorkflow, WorkflowCatalog } from './workflows.ts';
import { resultVariableOf, taskInput, taskOutput } from './io.ts';
import { BpmnDebugLogger } from './bpmn/logger.ts';
import { createScripts, pathExpressions, variablesOf, type ExpressionLimits } from './bpmn/scripting.ts';
import type { CatchPoint } from './bpmn/describe.ts';
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
  type InboxItem,
  type JobOutcome,
  type OutboxEvent,
  type StepRecord,
  type Store,
  type TaskRecord,
  type Trigger,
  type WaitRecord,
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
  /** Bounds on every jsonata expression a playbook runs. */
  expressionLimits: ExpressionLimits;
}

/** Events a process can observe about the executions it advances (hints; the database is the truth). */
export interface RuntimeEvents {
  settled: [executionId: string, status: ExecutionStatus];
  /** A commit wrote events for webhook subscribers to the outbox. */
  published: [];
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
  readonly #toFlush = new Set<Instance>();
  #flushTurn = false;
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
    await this.#o.commands.onBroadcast((cmd) => this.#onBroadcast(cmd));
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
    // Deliveries and due timers of executions held here, whose wake never arrived.
    for (const id of await this.store.findWoken(this.engineId, this.#clock.now())) {
      const hot = this.#hot.get(id);
      if (hot && !hot.disposed) await hot.wake();
      else await this.#load(id).then((inst) => inst?.wake());
    }
    for (const inst of this.#hot.values()) if (!inst.disposed) await inst.reconcile();
    for (const [jobId, { activity }] of [...this.#coldJobs]) {
      const outcome = await this.dispatcher.inspect({ jobId, activity }).catch(() => null);
      if (outcome && outcome.status !== 'pending') this.#onOutcome(jobId, outcome);
    }
  }

  async #onCommand(cmd: EngineCommand): Promise<void> {
    if (cmd.type === 'start') await this.#load(cmd.executionId);
    else if (cmd.type === 'wake') await this.wake(cmd.executionId);
  }

  /**
   * An execution has work (inbox items, a due timer): here if this process holds it or can claim
   * it; otherwise its owner is told, since only the owner may advance it.
   */
  async wake(executionId: string): Promise<void> {
    const inst = await this.#load(executionId);
    if (inst) return inst.wake();
    await this.#o.commands.broadcast({ type: 'wake', executionId, reason: 'owner' }).catch(() => {});
  }

  #onBroadcast(cmd: EngineCommand): void {
    if (cmd.type !== 'wake') return;
    const hot = this.#hot.get(cmd.executionId);
    if (hot && !hot.disposed) return void hot.wake();
    const ownedCold = [...this.#coldJobs.values()].some((j) => j.executionId === cmd.executionId);
    if (ownedCold) void this.#load(cmd.executionId).then((inst) => inst?.wake());
  }

  /** Tells the engines that an execution has work; the sweep finds it anyway if this is lost. */
  nudge(executionId: string, reason: string, at?: Date, dedupeId?: string): void {
    this.#o.commands
      .send({ type: 'wake', executionId, reason }, { ...(at ? { at } : {}), ...(dedupeId ? { dedupeId } : {}) })
      .catch((err: Error) => this.logger.warn('could not send a wake command; the sweep will find the execution', { executionId, err: err.message }));
  }

  /**
   * Creates and starts the execution a call activity calls. Its id is derived from the calling
   * step, so a parent that calls again after a crash finds the child it already started.
   */
  async startChild(parentId: string, parentStep: string, key: string, version: number | undefined, input: Record<string, unknown>, priority: number): Promise<void> {
    const id = uuidFrom(parentStep);
    if (await this.store.getExecution(id)) return;
    const wf = await this.#o.workflows.called(key, version);
    let record: ExecutionRecord;
    try {
      record = await this.store.createExecution({
        id,
        workflowId: wf.id,
        input,
        priority,
        owner: this.engineId,
        leaseUntil: this.leaseUntil(),
        parentId,
        parentStep,
        trigger: { kind: 'call', parentId, parentStep },
      });
    } catch (err) {
      if (await this.store.getExecution(id)) return; // created concurrently
      throw err;
    }
    this.startOwned(record);
  }

  /**
   * Starts every playbook whose signal start event has this name (a signal thrown by a playbook).
   * Not atomic with the commit that threw it: a crash between the two loses these starts.
   */
  async startOnSignal(name: string, payload: Record<string, unknown>): Promise<void> {
    try {
      for (const wf of await this.#o.workflows.startingOn('signal', name)) {
        const record = await this.store.createExecution({
          id: randomUUID(),
          workflowId: wf.id,
          input: payload,
          priority: 3,
          owner: this.engineId,
          leaseUntil: this.leaseUntil(),
          trigger: { kind: 'signal', name },
        });
        this.startOwned(record);
      }
    } catch (err) {
      this.logger.error('could not start the playbooks of a signal', { signal: name, err: (err as Error).message });
    }
  }

  get expressionLimits(): ExpressionLimits {
    return this.#o.expressionLimits;
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

  /**
   * @internal An instance has something to commit. Every instance that asks in one turn of the
   * event loop flushes in the same later turn (after bpmn-engine's synchronous steps and the
   * mappings resolved in between), one after the other without a pause, so that the store
   * receives their commits together and writes them as one batch.
   */
  flushSoon(inst: Instance): void {
    this.#toFlush.add(inst);
    if (this.#flushTurn) return;
    this.#flushTurn = true;
    setImmediate(() => {
      this.#flushTurn = false;
      const due = [...this.#toFlush];
      this.#toFlush.clear();
      for (const i of due) i.flushNow();
    });
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
  behaviour: Record<string, unknown>;
  /** an iteration of a multi-instance task: the collected outputs are stored at its end */
  iteration: boolean;
  /** bpmn-engine's activity and the message it executes: an error can be raised from them */
  activity: BpmnActivity;
  content: Record<string, unknown>;
}

type BpmnApi = {
  id: string;
  type: string;
  name?: string;
  executionId: string;
  content: {
    output?: unknown;
    error?: { message?: string; code?: string; source?: unknown };
    expireAt?: string | Date;
    isRootScope?: boolean;
    isMultiInstance?: boolean;
    parent?: { executionId?: string };
  };
};

/** What bpmn-engine's getPostponed() lists: activations that wait, with their own API. */
type PostponedApi = {
  id: string;
  type: string;
  executionId: string;
  signal(message?: unknown): void;
  cancel(message?: unknown): void;
  discard(): void;
  fail(error: unknown): void;
  getPostponed?(): PostponedApi[];
};

type Ended = { status: 'completed' | 'failed' | 'cancelled'; result?: unknown; error?: ExecutionError };

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
  /** Async work the engine waits on inside this process (expressions, mappings, inbox reads). */
  #busy = 0;
  readonly #pending = new Map<string, PendingTask>();
  readonly #toDispatch: DispatchRequest[] = [];
  readonly #toInspect: string[] = [];
  readonly #dirtySteps = new Map<string, StepRecord>();
  readonly #steps = new Map<string, StepRecord>();
  /** activation -> its user task */
  readonly #tasks = new Map<string, TaskRecord>();
  readonly #dirtyTasks = new Map<string, TaskRecord>();
  /** wait id -> the wait and the activation that holds it */
  readonly #waits = new Map<string, { wait: WaitRecord; activation: string }>();
  readonly #newWaits = new Map<string, WaitRecord>();
  readonly #droppedWaits = new Set<string>();
  /** inbox items applied and not committed yet; and all seen by this instance */
  #consumed: string[] = [];
  readonly #seen = new Set<string>();
  /** activation -> what an answer (task form, message payload, called result) stores as its output */
  readonly #answers = new Map<string, unknown>();
  /** cancellations of called executions, written with the next commit */
  #cancels: InboxItem[] = [];
  /** signals thrown here, for other executions and signal start events, sent with the next commit */
  #thrown: Array<{ name: string; payload: Record<string, unknown> }> = [];
  /** call activities to start once the commit that records them is written */
  #calls: Array<{ activityId: string; activation: string; stepId: string; key: string; input: Record<string, unknown>; version?: number }> = [];
  /**
   * INVARIANT: the execution's variables are this ONE object: the input to begin with, then each
   * task's output under its id (or result variable). Every expression reads it; every commit saves it.
   */
  readonly #vars: Record<string, unknown>;
  #ended: Ended | null = null;
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
    this.#vars = record.variables ?? { ...record.input };
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

  /** Counts async work the engine waits on: while any runs, the execution is not given up. */
  #track = (p: Promise<unknown>): void => {
    this.#busy++;
    p.finally(() => {
      this.#busy--;
      this.#scheduleFlush();
    }).catch(() => {});
  };

  async run(): Promise<void> {
    const compiled = this.#compiled!;
    const listener = new EventEmitter();
    listener.on('activity.start', (api: BpmnApi) => this.#onActivity(api, 'running'));
    listener.on('activity.wait', (api: BpmnApi) => {
      this.#onActivity(api, 'waiting');
      this.#onWait(api);
    });
    listener.on('activity.timer', (api: BpmnApi) => this.#onTimer(api));
    listener.on('activity.call', (api: BpmnApi) => this.#onCall(api));
    listener.on('activity.signal', (api: BpmnApi) => this.#onSignalThrown(api));
    listener.on('activity.end', (api: BpmnApi) => {
      this.#storeOutput(api);
      this.#onActivity(api, 'completed');
      this.#close(api, 'completed');
    });
    listener.on('activity.discard', (api: BpmnApi) => {
      this.#onActivity(api, 'cancelled');
      this.#close(api, 'cancelled');
    });
    listener.on('activity.error', (api: BpmnApi) => {
      this.#onActivity(api, 'failed');
      this.#close(api, 'cancelled');
    });
    // An activation that leaves without ending (interrupted, discarded) closes what it held.
    listener.on('activity.leave', (api: BpmnApi) => {
      const step = this.#steps.get(api.executionId);
      if (step && (step.status === 'running' || step.status === 'waiting')) this.#onActivity(api, 'cancelled');
      this.#close(api, 'cancelled');
    });

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
      scripts: createScripts(this.#rt.expressionLimits, this.#track, () => this.#vars),
      expressions: pathExpressions(() => this.#vars),
      // an element with nothing in flight is left out of the saved state (it recovers as new)
      settings: { enableDummyService: false, disableTrackState: true },
      Logger: BpmnDebugLogger,
      // INVARIANT: the variables live in #vars, saved in their own column; bpmn-engine gets none, so
      // its saved state does not carry the input (an alert's payload) three times over
      variables: {},
    } as unknown as ConstructorParameters<typeof Engine>[0]);
    this.#engine = engine;
    engine.on('end', () => {
      this.#closeAll();
      this.#ended = { status: 'completed', result: { ...this.#vars } };
      this.#scheduleFlush();
    });
    engine.on('error', (err: Error & { source?: { content?: { id?: string } } }) => {
      const activityId = err.source?.content?.id;
      this.#closeAll();
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
      this.#fireStart(this.#record.trigger ?? { kind: 'manual' });
    }
    this.#scheduleFlush();
    // Deliveries need a wait, task or call that a commit opened: a new execution has none yet.
    if (this.#record.state) await this.wake();
  }

  /**
   * bpmn-engine starts every start event of the process; the trigger picks the one that fires
   * (a message or signal start by name, a timer start by schedule). The others are discarded,
   * so a playbook with a message start and a timer start runs one path per trigger.
   */
  #fireStart(trigger: Trigger): void {
    const starts = this.#compiled!.shape.starts;
    const waiting = postponedOf(this.#engine).filter((a) => starts.some((s) => s.id === a.id));
    if (!waiting.length) return;
    const hasNone = starts.some((s) => s.kind === 'none');
    let chosen: string | undefined;
    if (trigger.kind === 'message' || trigger.kind === 'signal') chosen = starts.find((s) => s.kind === trigger.kind && s.name === trigger.name)?.id;
    else if (trigger.kind === 'timer') chosen = trigger.startEventId ?? starts.find((s) => s.kind === 'timer')?.id;
    else if (!hasNone) chosen = waiting[0]?.id;
    for (const api of waiting) {
      if (api.id !== chosen) api.discard();
      else if (starts.find((s) => s.id === chosen)?.kind === 'timer') api.cancel(); // a cancelled timer fires
      else api.signal({ ...this.#record.input });
    }
  }

  /** Applies what was delivered to this execution (answers, messages, called executions' ends). */
  async wake(): Promise<void> {
    if (this.disposed) return;
    const read = this.#rt.store.inbox(this.id);
    this.#track(read);
    let items: InboxItem[];
    try {
      items = await read;
    } catch (err) {
      this.#rt.logger.warn('could not read the inbox; the sweep retries', { executionId: this.id, err: (err as Error).message });
      return;
    }
    for (const item of items) {
      if (this.disposed || this.#seen.has(item.id)) continue;
      this.#seen.add(item.id);
      this.#consumed.push(item.id);
      this.#apply(item);
    }
  }

  #activationOf(stepId: string | null): string | undefined {
    if (!stepId) return undefined;
    for (const [activation, step] of this.#steps) if (step.id === stepId) return activation;
    return undefined;
  }

  #apply(item: InboxItem): void {
    const log = this.#rt.logger;
    if (item.kind === 'cancel') return this.#cancel(item.payload as { reason?: string; by?: string | null });
    const activation = this.#activationOf(item.targetStep);
    const api = activation ? findPostponed(postponedOf(this.#engine), activation) : undefined;
    if (item.kind === 'message' || item.kind === 'signal') {
      if (api && activation) {
        this.#answers.set(activation, item.payload);
        api.signal({ ...item.payload });
        return;
      }
      // the activation is unknown only when the wait was opened before a recovery and not re-announced
      const ref = activation ? undefined : this.#compiled!.shape.catches.get(item.target)?.refId;
      if (ref) return void (this.#engine!.execution as unknown as { signal(m: unknown): void }).signal({ ...item.payload, id: ref });
      log.warn(`${item.kind} delivered to an execution no longer waiting for it; dropped`, { executionId: this.id, activityId: item.target });
      return;
    }
    if (item.kind === 'child' && activation && !api && this.#behaviourOf(item.target).loopCharacteristics && postponedOf(this.#engine).some((a) => a.id === item.target)) {
      return this.#applyIterationEnd(item, activation);
    }
    if (!api || !activation) {
      log.warn(`${item.kind === 'task' ? 'task answer' : 'called execution end'} arrived for an activity no longer waiting; dropped`, {
        executionId: this.id,
        activityId: item.target,
      });
      return;
    }
    if (item.kind === 'task') {
      this.#answers.set(activation, item.payload);
      api.signal({ ...item.payload });
    } else if (item.kind === 'child') {
      const p = item.payload as { status?: string; result?: unknown; error?: ExecutionError };
      if (p.status === 'completed') {
        this.#answers.set(activation, p.result ?? null);
        api.signal({});
      } else {
        const err = Object.assign(new Error(`called execution ${p.status}: ${p.error?.message ?? 'no reason given'}`), { code: p.error?.code });
        api.fail(err);
      }
    }
  }

  /**
   * The end of the execution one iteration of a multi-instance call activity called. bpmn-engine
   * lists only the loop's root as waiting: the iteration is signalled by its execution id, with the
   * result in the message, which the loop collects (and a state saved meanwhile keeps).
   */
  #applyIterationEnd(item: InboxItem, activation: string): void {
    const p = item.payload as { status?: string; result?: unknown; error?: ExecutionError };
    const execution = this.#engine!.execution as unknown as { signal(m: unknown): void };
    if (p.status === 'completed') return execution.signal({ id: item.target, executionId: activation, result: p.result ?? null });
    const root = postponedOf(this.#engine).find((a) => a.id === item.target);
    root?.fail(Object.assign(new Error(`called execution ${p.status}: ${p.error?.message ?? 'no reason given'}`), { code: p.error?.code }));
  }

  #dispatch(activity: BpmnActivity, message: BpmnMessage, callback: PendingTask['callback']): void {
    const compiled = this.#compiled!;
    const binding = compiled.tasks.get(activity.id)!;
    const activation = message.content.executionId;
    const jobId = jobIdFor(this.id, activity.id, activation);
    const recovering = this.#recovering;
    const step = this.#step(activity.id, activity.type, activity.name, activation);
    step.activity = binding;
    step.jobId = jobId;
    this.#dirtySteps.set(step.id, step);
    const loop = activity.behaviour.loopCharacteristics as { behaviour?: { elementVariable?: string } } | undefined;
    const variables = variablesOf(this.#vars, message.content as Record<string, unknown>, loop ? (loop.behaviour?.elementVariable ?? 'item') : undefined);
    const mapped = taskInput(activity.behaviour, variables, this.#rt.expressionLimits).then(
      (input) => {
        if (this.disposed) return;
        const request: DispatchRequest = { jobId, activity: binding, executionId: this.id, activityId: activity.id, input, priority: this.#record.priority };
        this.#pending.set(jobId, {
          since: Date.now(),
          activityExecutionId: activation,
          request,
          callback,
          behaviour: activity.behaviour,
          iteration: !!loop,
          activity,
          content: message.content as Record<string, unknown>,
        });
        this.#rt.trackJob(jobId, this);
        step.input = input;
        this.#dirtySteps.set(step.id, step);
        if (recovering) this.#toInspect.push(jobId);
        else this.#toDispatch.push(request);
      },
      (err: Error) => callback(new Error(`input mapping of ${activity.id}: ${err.message}`)),
    );
    this.#track(mapped);
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
    if (outcome.status === 'failed') {
      if (this.#raiseToEventSubprocess(task, outcome.error)) return this.#scheduleFlush();
      // bpmn-elements matches `code` against an error boundary event's errorCode
      const err = Object.assign(new Error(outcome.error.message), { code: outcome.error.code });
      err.name = outcome.error.name;
      task.callback(err);
      return this.#scheduleFlush();
    }
    const variables = this.#vars;
    const mapped = taskOutput(task.behaviour, outcome.output, variables, this.#rt.expressionLimits).then(
      (vars) => {
        if (this.disposed) return;
        if (vars) Object.assign(variables, vars);
        else if (!task.iteration) variables[resultVariableOf(task.behaviour) ?? task.request.activityId] = outcome.output;
        task.callback(null, outcome.output);
      },
      (err: Error) => task.callback(new Error(`output mapping of ${task.request.activityId}: ${err.message}`)),
    );
    this.#track(mapped);
  }

  /**
   * bpmn-engine lets error event subprocesses catch thrown BPMN errors, not failed tasks. A task
   * failure that no error boundary event of the task catches, and that an error event subprocess
   * of its scope does, is thrown to that subprocess here; as the start is interrupting, everything
   * else running in the scope is discarded. The error is stored under the start event's id.
   */
  #raiseToEventSubprocess(task: PendingTask, error: { message: string; code?: string }): boolean {
    const shape = this.#compiled!.shape;
    const activityId = task.request.activityId;
    const code = error.code ?? null;
    const boundaries = shape.errorBoundaries.get(activityId) ?? [];
    if (boundaries.some((c) => c === null || c === code)) return false;
    const scope = shape.parentOf.get(activityId);
    const candidates = shape.errorSubprocesses.filter((e) => e.scopeId === scope);
    const sub = candidates.find((e) => e.code !== null && e.code === code) ?? candidates.find((e) => e.code === null);
    if (!sub) return false;
    this.#vars[sub.startId] = { code, message: error.message, activityId };
    const broker = (task.activity as unknown as { broker: { publish(exchange: string, key: string, content: unknown, props: unknown): void } }).broker;
    broker.publish('event', 'activity.throw', { ...task.content, message: { id: sub.refId ?? undefined, code }, state: 'throw' }, { type: 'throw', delegate: true });
    const scopeApis = scope === this.#compiled!.key ? postponedOf(this.#engine) : (postponedOf(this.#engine).find((a) => a.id === scope)?.getPostponed?.() ?? []);
    for (const api of scopeApis) if (api.id !== sub.subprocessId && api.id !== scope) api.discard();
    const step = this.#steps.get(task.activityExecutionId);
    if (step) {
      step.status = 'failed';
      this.#dirtySteps.set(step.id, step);
    }
    return true;
  }

  /** Stores what an activity that is not a service task produced, under its id or result variable. */
  #storeOutput(api: BpmnApi): void {
    const output = this.#vars;
    const behaviour = (this.#engine?.execution as unknown as { getActivityById(id: string): { behaviour?: Record<string, unknown> } | undefined } | undefined)
      ?.getActivityById(api.id)?.behaviour ?? {};
    const name = resultVariableOf(behaviour) ?? api.id;
    if (this.#answers.has(api.executionId)) {
      output[name] = this.#answers.get(api.executionId);
      this.#answers.delete(api.executionId);
      return;
    }
    const loop = behaviour.loopCharacteristics as { behaviour?: { extensionElements?: { values?: Array<{ $type: string; outputCollection?: string }> } } } | undefined;
    if (loop && Array.isArray(api.content.output) && api.content.isRootScope) {
      const zeebe = loop.behaviour?.extensionElements?.values?.find((v) => v.$type === 'zeebe:LoopCharacteristics');
      const outputs = api.type === 'bpmn:CallActivity' ? api.content.output.map((o: { result?: unknown } | null) => o?.result ?? null) : api.content.output;
      output[zeebe?.outputCollection ?? name] = outputs;
      return;
    }
    if (api.type === 'bpmn:ScriptTask' && !loop && api.content.output !== undefined) output[name] = api.content.output;
  }

  #onWait(api: BpmnApi): void {
    const shape = this.#compiled!.shape;
    const step = this.#step(api.id, api.type, api.name, api.executionId);
    const resolve = (v: string | undefined): string | undefined => {
      if (v === undefined) return undefined;
      const r = pathExpressions(() => this.#vars).resolveExpression(v);
      return r === undefined || r === null ? undefined : String(r);
    };
    const user = shape.userTasks.get(api.id);
    if (user && (api.type === 'bpmn:UserTask' || api.type === 'bpmn:ManualTask')) {
      if (this.#tasks.has(api.executionId)) return;
      const assignee = resolve(user.assignee);
      const task: TaskRecord = {
        id: step.id,
        executionId: this.id,
        activityId: api.id,
        name: api.name ?? null,
        status: 'open',
        assignee: assignee ?? null,
        candidateGroups: user.candidateGroups.map((g) => resolve(g) ?? g),
        candidateUsers: user.candidateUsers.map((u) => resolve(u) ?? u),
        form: user.form.length ? user.form : null,
        createdAt: step.startedAt,
        completedAt: null,
        completedBy: null,
        result: null,
      };
      this.#tasks.set(api.executionId, task);
      this.#dirtyTasks.set(task.id, task);
      return;
    }
    const c: CatchPoint | undefined = shape.catches.get(api.id);
    if (c) {
      const key = c.correlationKey ? resolve(c.correlationKey) : undefined;
      this.#openWait({ id: step.id, executionId: this.id, activityId: api.id, kind: c.kind, name: c.name, correlationKey: key ?? null, dueAt: null, createdAt: step.startedAt }, api.executionId);
    }
  }

  #onTimer(api: BpmnApi): void {
    if (!api.content.expireAt) return;
    // the timer's own execution id is `<activation>_<n>`: the wait belongs to the activation
    const m = /^(.*)_\d+$/.exec(api.executionId);
    const activation = m?.[1]?.startsWith(`${api.id}_`) ? m[1] : api.executionId;
    const step = this.#step(api.id, api.type, api.name, activation);
    this.#openWait(
      { id: step.id, executionId: this.id, activityId: api.id, kind: 'timer', name: null, correlationKey: null, dueAt: new Date(api.content.expireAt), createdAt: step.startedAt },
      activation,
    );
  }

  #openWait(wait: WaitRecord, activation: string): void {
    const known = this.#waits.get(wait.id);
    if (known && known.wait.dueAt?.getTime() === wait.dueAt?.getTime() && known.wait.correlationKey === wait.correlationKey) return;
    this.#waits.set(wait.id, { wait, activation });
    this.#droppedWaits.delete(wait.id);
    this.#newWaits.set(wait.id, wait);
  }

  /** A signal throw event: bpmn-engine delivers it inside this execution; other executions get it here. */
  #onSignalThrown(api: BpmnApi): void {
    const ref = (api.content as { message?: { id?: string; name?: string } }).message;
    const shape = this.#compiled!.shape;
    const name = ref?.name ?? [...shape.signalsByName].find(([, ids]) => ref?.id && ids.includes(ref.id))?.[0];
    if (!name) return;
    const behaviour =
      (this.#engine?.execution as unknown as { getActivityById(id: string): { behaviour?: Record<string, unknown> } | undefined } | undefined)?.getActivityById(api.id)?.behaviour ?? {};
    const thrown = taskInput(behaviour, this.#vars, this.#rt.expressionLimits).then(
      (payload) => void this.#thrown.push({ name, payload }),
      (err: Error) => this.#rt.logger.warn('signal payload mapping failed; sent without payload', { executionId: this.id, activityId: api.id, err: err.message }),
    );
    this.#track(thrown);
  }

  #onCall(api: BpmnApi): void {
    const call = this.#compiled!.shape.externalCalls.get(api.id);
    if (!call) return; // a process of the same file: bpmn-engine runs it
    const step = this.#step(api.id, api.type, api.name, api.executionId);
    step.status = 'waiting';
    this.#dirtySteps.set(step.id, step);
    // an iteration of a multi-instance call passes its item, e.g. the IOC it enriches
    const loop = this.#behaviourOf(api.id).loopCharacteristics as { behaviour?: { elementVariable?: string } } | undefined;
    const input = variablesOf(this.#vars, api.content as Record<string, unknown>, loop ? (loop.behaviour?.elementVariable ?? 'item') : undefined);
    this.#calls.push({ activityId: api.id, activation: api.executionId, stepId: step.id, key: call.key, input: { ...input }, ...(call.version !== undefined ? { version: call.version } : {}) });
  }

  #behaviourOf(activityId: string): Record<string, unknown> {
    const execution = this.#engine?.execution as unknown as { getActivityById(id: string): { behaviour?: Record<string, unknown> } | undefined } | undefined;
    return execution?.getActivityById(activityId)?.behaviour ?? {};
  }

  /** An activation ended or was discarded: its waits close, its task closes, its job is taken back. */
  #close(api: BpmnApi, how: 'completed' | 'cancelled'): void {
    const activation = api.executionId;
    for (const [id, w] of this.#waits) {
      if (w.activation !== activation) continue;
      this.#waits.delete(id);
      this.#newWaits.delete(id);
      this.#droppedWaits.add(id);
    }
    const task = this.#tasks.get(activation);
    if (task) {
      this.#tasks.delete(activation);
      task.status = how;
      if (how === 'completed') task.completedAt ??= this.#rt.clock.now();
      this.#dirtyTasks.set(task.id, task);
    }
    const step = this.#steps.get(activation);
    if (how === 'cancelled' && step?.type === 'bpmn:CallActivity' && this.#compiled?.shape.externalCalls.has(step.activityId)) {
      // the execution it called is cancelled too (written with this commit; only if still live)
      this.#cancels.push({ id: uuidFrom(`${step.id}:cancel`), executionId: uuidFrom(step.id), kind: 'cancel', target: '', targetStep: null, payload: { reason: `${step.activityId} of ${this.id} was interrupted` }, createdAt: this.#rt.clock.now() });
    }
    if (how === 'cancelled') {
      for (const [jobId, t] of this.#pending) {
        if (t.activityExecutionId !== activation) continue;
        this.#pending.delete(jobId);
        this.#rt.untrackJob(jobId);
        void this.#rt.dispatcher.cancel(t.request).catch(() => false);
      }
    }
  }

  /**
   * Cancelled by an analyst, or by the parent whose call activity was interrupted: bpmn-engine
   * stops, every open task, wait and job is closed, and called executions are cancelled in turn.
   */
  #cancel(p: { reason?: string; by?: string | null }): void {
    if (this.#ended) return;
    this.#closeAll();
    const engine = this.#engine;
    if (engine) {
      engine.removeAllListeners('end');
      engine.removeAllListeners('error');
      try {
        engine.stop();
      } catch {
        /* already stopped */
      }
    }
    this.#ended = { status: 'cancelled', result: { ...this.#vars }, error: { message: `cancelled${p.by ? ` by ${p.by}` : ''}${p.reason ? `: ${p.reason}` : ''}` } };
  }

  /** The execution ended (a terminate end event ends it without leaving its activities): close all. */
  #closeAll(): void {
    const now = this.#rt.clock.now();
    const held = new Set([
      ...this.#tasks.keys(),
      ...[...this.#waits.values()].map((w) => w.activation),
      ...[...this.#pending.values()].map((t) => t.activityExecutionId),
      ...[...this.#steps].filter(([, st]) => st.type === 'bpmn:CallActivity' && (st.status === 'running' || st.status === 'waiting')).map(([a]) => a),
    ]);
    for (const activation of held) this.#close({ executionId: activation } as BpmnApi, 'cancelled');
    for (const step of this.#steps.values()) {
      if (step.status !== 'running' && step.status !== 'waiting') continue;
      step.status = 'cancelled';
      step.endedAt = now;
      this.#dirtySteps.set(step.id, step);
    }
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
      if (status === 'completed' && api.content.output !== undefined && (this.#compiled?.tasks.has(api.id) || api.type === 'bpmn:ScriptTask')) step.output = api.content.output;
      if (status === 'completed' && step.output === null && this.#answers.has(api.executionId)) step.output = this.#answers.get(api.executionId);
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
    this.#rt.flushSoon(this);
  }

  /** @internal called by the runtime's flush turn (see Runtime.flushSoon) */
  flushNow(): void {
    this.#flushScheduled = false;
    this.#flush().catch((err: Error) => {
      // Not expected (commit errors are retried inside); drop the execution here and let its
      // lease lapse, so that it is adopted again from its last commit.
      this.#rt.logger.error('execution dropped after an unexpected error', { executionId: this.id, err: err.message });
      this.#abandon();
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
   * INVARIANT: the state that names a job, a timer or a call is committed BEFORE the job is
   * enqueued, the timer scheduled or the called execution created (outbox order). A crash between
   * the two leaves committed state that the next owner finds and acts on again, idempotently.
   */
  async #commitOnce(): Promise<void> {
    const rt = this.#rt;
    // An end is written only once nothing is in flight: a signal's payload mapping, say, finishes
    // after bpmn-engine reached the end event, and must go out with this execution's last commit.
    if (this.#ended && this.#busy > 0) return;
    // Signals thrown here go to the executions waiting for them, in this commit. Looked up first:
    // everything below is taken in one synchronous snapshot, so the state saved and the rows
    // written with it describe the same moment.
    const thrown = this.#thrown.splice(0);
    const signalled: InboxItem[] = [];
    for (const [n, sig] of thrown.entries()) {
      const waits = await rt.store.findWaits({ kind: 'signal', name: sig.name }).catch(() => []);
      for (const w of waits) {
        if (w.executionId === this.id) continue; // bpmn-engine delivered it here already
        signalled.push({ id: uuidFrom(`${this.id}:${this.#revision}:${n}:${w.id}`), executionId: w.executionId, kind: 'signal', target: w.activityId, targetStep: w.id, payload: sig.payload, createdAt: rt.clock.now() });
      }
    }
    const dispatches = this.#toDispatch.splice(0);
    const inspections = this.#toInspect.splice(0);
    const steps = [...this.#dirtySteps.values()];
    this.#dirtySteps.clear();
    const tasks = [...this.#dirtyTasks.values()];
    this.#dirtyTasks.clear();
    const waits = [...this.#newWaits.values()];
    this.#newWaits.clear();
    const dropWaits = [...this.#droppedWaits];
    this.#droppedWaits.clear();
    const consumed = this.#consumed;
    this.#consumed = [];
    const calls = this.#calls;
    this.#calls = [];
    const cancels = this.#cancels;
    this.#cancels = [];
    const ended = this.#ended;
    // Calls to start keep the execution held (running) until their children exist: given up as
    // waiting first, a crash before the child is created would leave it waiting for nothing.
    const status: ExecutionStatus = ended ? ended.status : this.#pending.size || this.#busy || calls.length ? 'running' : 'waiting';
    const release = ended !== null || status === 'waiting';
    const parent = ended && this.#record.parentId && this.#record.parentStep ? { id: this.#record.parentId, step: this.#record.parentStep } : null;
    const events = this.#eventsOf(tasks, ended);
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
        variables: this.#vars,
        ...(ended ? { result: ended.result ?? null, error: ended.error ?? null, endedAt: rt.clock.now() } : {}),
        ...(this.#startedAt ? { startedAt: this.#startedAt } : {}),
        lease: release ? 'release' : rt.leaseUntil(),
        steps: steps.map((s) => ({ ...s })),
        tasks: tasks.map((t) => ({ ...t })),
        waits,
        dropWaits,
        consumed,
        events,
        deliver: [
          ...signalled,
          ...cancels,
          ...(parent
            ? [
                {
                  id: uuidFrom(`${this.id}:end`),
                  executionId: parent.id,
                  kind: 'child' as const,
                  target: parent.step.split(':')[1] ?? '',
                  targetStep: parent.step,
                  payload: { status: ended!.status, result: ended!.result ?? null, ...(ended!.error ? { error: ended!.error } : {}) },
                  createdAt: rt.clock.now(),
                },
              ]
            : []),
        ],
      });
    } catch (err) {
      // Nothing was written: put the work back and try again shortly.
      this.#toDispatch.unshift(...dispatches);
      this.#toInspect.unshift(...inspections);
      for (const s of steps) if (!this.#dirtySteps.has(s.id)) this.#dirtySteps.set(s.id, s);
      for (const t of tasks) if (!this.#dirtyTasks.has(t.id)) this.#dirtyTasks.set(t.id, t);
      for (const w of waits) if (this.#waits.has(w.id) && !this.#newWaits.has(w.id)) this.#newWaits.set(w.id, w);
      for (const id of dropWaits) if (!this.#waits.has(id)) this.#droppedWaits.add(id);
      this.#consumed.unshift(...consumed);
      this.#calls.unshift(...calls);
      this.#thrown.unshift(...thrown);
      this.#cancels.unshift(...cancels);
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
    if (events.length) rt.emit('published');
    if (dispatches.length) await this.#enqueue(dispatches);
    for (const d of dispatches) rt.logger.debug('task dispatched', { executionId: this.id, activityId: d.activityId, jobId: d.jobId });
    if (inspections.length) await this.#inspect(inspections);
    // a recovered instance re-announces its timers: a new wake each time, as the earlier one may have come early
    for (const w of waits) if (w.kind === 'timer' && w.dueAt) rt.nudge(this.id, 'timer', w.dueAt, `${w.id}-${w.dueAt.getTime()}-${this.#revision}`);
    for (const c of calls) {
      // a call interrupted in the same turn (a terminate end, a boundary event) starts nothing
      const st = this.#steps.get(c.activation);
      if (ended || st?.status === 'cancelled' || st?.status === 'failed') continue;
      await this.#startCall(c);
    }
    if (calls.length) this.#again = true; // commit again, now that the children exist
    if (parent) rt.nudge(parent.id, 'child');
    for (const id of new Set(signalled.map((i) => i.executionId))) rt.nudge(id, 'signal');
    for (const c of cancels) rt.nudge(c.executionId, 'cancel');
    for (const sig of thrown) await rt.startOnSignal(sig.name, sig.payload);
    if (ended || status === 'waiting') {
      rt.logger.info(`execution ${status}`, { executionId: this.id, ...(ended?.error ? { error: ended.error.message } : {}) });
      rt.settled(this, status);
      this.#abandon();
    }
  }

  /**
   * What this commit tells webhook subscribers. Event ids are derived from what they report, so a
   * recovered execution that reports again makes no second delivery.
   */
  #eventsOf(tasks: TaskRecord[], ended: Ended | null): OutboxEvent[] {
    const now = this.#rt.clock.now();
    const execution = { id: this.id, workflow_id: this.#record.workflowId, workflow_key: this.#compiled?.key ?? null };
    const event = (name: string, key: string, extra: Record<string, unknown>): OutboxEvent => {
      const id = uuidFrom(`${this.id}:${key}`);
      return { id, event: name, createdAt: now, payload: { id, event: name, occurred_at: now.toISOString(), ...extra } };
    };
    const events: OutboxEvent[] = [];
    if (this.#startedAt) events.push(event('execution.started', 'started', { execution: { ...execution, status: 'running' } }));
    for (const t of tasks) {
      if (t.status !== 'open') continue;
      events.push(
        event('execution.waiting_for_approval', `task:${t.id}`, {
          execution: { ...execution, status: 'waiting' },
          task: { id: t.id, activity_id: t.activityId, name: t.name, assignee: t.assignee, candidate_groups: t.candidateGroups, links: { complete: `/tasks/${encodeURIComponent(t.id)}/complete` } },
        }),
      );
    }
    if (ended) {
      events.push(
        event(`execution.${ended.status}`, 'end', { execution: { ...execution, status: ended.status, ...(ended.error ? { error: ended.error } : {}) } }),
      );
    }
    return events;
  }

  async #startCall(c: { activityId: string; activation: string; stepId: string; key: string; input: Record<string, unknown>; version?: number }): Promise<void> {
    try {
      await this.#rt.startChild(this.id, c.stepId, c.key, c.version, c.input, this.#record.priority);
    } catch (err) {
      this.#rt.logger.error('could not start the called execution', { executionId: this.id, activityId: c.activityId, err: (err as Error).message });
      const api = findPostponed(postponedOf(this.#engine), c.activation);
      api?.fail(new Error(`could not start ${c.key}: ${(err as Error).message}`));
      this.#scheduleFlush();
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
      if (this.disposed) return;
      // busy now (a read, a mapping): try again later, or the execution would never leave memory
      if (this.#flushing || this.#flushScheduled || this.#busy) return this.#afterCommit();
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

function postponedOf(engine: InstanceType<typeof Engine> | null): PostponedApi[] {
  if (!engine) return [];
  return (engine.execution as unknown as { getPostponed(): PostponedApi[] }).getPostponed();
}

/** The waiting activation with this execution id, inside subprocesses too. */
function findPostponed(list: PostponedApi[], activation: string): PostponedApi | undefined {
  for (const api of list) {
    if (api.executionId === activation) return api;
    const inner = api.getPostponed ? findPostponed(api.getPostponed().filter((a) => a !== api), activation) : undefined;
    if (inner) return inner;
  }
  return undefined;
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

