/**
 * The small interfaces the durable runtime talks through. The runtime knows nothing of
 * Prisma, BullMQ or HTTP: adapters implement these (engine/db/prisma-store.ts, engine/queue/*).
 */

export type ExecutionStatus = 'pending' | 'running' | 'waiting' | 'completed' | 'failed' | 'cancelled';
export const TERMINAL: ReadonlySet<ExecutionStatus> = new Set(['completed', 'failed', 'cancelled']);

export type StepStatus = 'running' | 'waiting' | 'completed' | 'failed' | 'cancelled';

export interface Problem {
  element: string;
  reason: string;
  line?: number;
  column?: number;
}

export interface WorkflowRecord {
  id: string;
  key: string;
  name: string;
  version: number;
  xml: string;
  warnings: Problem[];
  createdAt: Date;
}

export interface ExecutionError {
  message: string;
  code?: string;
  activityId?: string;
  attempts?: number;
}

export interface ExecutionRecord {
  id: string;
  workflowId: string;
  status: ExecutionStatus;
  priority: number;
  input: Record<string, unknown>;
  result: unknown;
  error: ExecutionError | null;
  /** bpmn-engine state (JSON, without the BPMN source); null before start and after the end. */
  state: string | null;
  /** The execution's variables: its input, then every task's output (null before start). */
  variables: Record<string, unknown> | null;
  /** Fencing token: every commit increments it, and a commit names the revision it builds on. */
  revision: number;
  owner: string | null;
  leaseUntil: Date | null;
  createdAt: Date;
  startedAt: Date | null;
  endedAt: Date | null;
  updatedAt: Date;
  /** Set when a call activity of another execution started this one. */
  parentId: string | null;
  /** The step (activation) of the parent's call activity that waits on this execution. */
  parentStep: string | null;
  trigger: Trigger | null;
}

/** What started an execution; it picks the start event that fires. */
export type Trigger =
  | { kind: 'manual' }
  | { kind: 'message'; name: string }
  | { kind: 'signal'; name: string }
  | { kind: 'timer'; startEventId?: string }
  | { kind: 'call'; parentId: string; parentStep: string }
  /** An alert matched a trigger rule (engine/alerts/): the none start event fires, else the first. */
  | { kind: 'alert'; alertId: string; triggerId: string };

export interface StepRecord {
  id: string;
  executionId: string;
  seq: number;
  activityId: string;
  name: string | null;
  type: string;
  status: StepStatus;
  attempt: number;
  activity: string | null;
  jobId: string | null;
  input: unknown;
  output: unknown;
  error: ExecutionError | null;
  engineId: string | null;
  startedAt: Date;
  endedAt: Date | null;
}

export type TaskStatus = 'open' | 'completing' | 'completed' | 'cancelled';

/** A form field a user task declares (camunda:formData, or zeebe:properties). */
export interface FormField {
  id: string;
  label?: string;
  type?: string;
  required?: boolean;
  values?: Array<{ id: string; name?: string }>;
}

/** An analyst's task: a BPMN user task waiting for an answer. */
export interface TaskRecord {
  /** The step id of the user task activation. */
  id: string;
  executionId: string;
  activityId: string;
  name: string | null;
  status: TaskStatus;
  assignee: string | null;
  candidateGroups: string[];
  candidateUsers: string[];
  form: FormField[] | null;
  createdAt: Date;
  completedAt: Date | null;
  completedBy: string | null;
  result: Record<string, unknown> | null;
}

export type WaitKind = 'message' | 'signal' | 'timer';

/** An open wait of an execution on something from outside. */
export interface WaitRecord {
  /** The step id of the waiting activation. */
  id: string;
  executionId: string;
  activityId: string;
  kind: WaitKind;
  name: string | null;
  correlationKey: string | null;
  dueAt: Date | null;
  createdAt: Date;
}

export type InboxKind = 'task' | 'message' | 'signal' | 'child' | 'cancel';

/** Something delivered to an execution, applied (and deleted) by the commit that applies it. */
export interface InboxItem {
  id: string;
  executionId: string;
  kind: InboxKind;
  /** The activity id, or for messages and signals the BPMN message/signal element id. */
  target: string;
  /** The activation (step id) it is for, when known. */
  targetStep: string | null;
  payload: Record<string, unknown>;
  createdAt: Date;
}

/** One atomic write of an execution's progress, fenced by owner and revision. */
export interface Commit {
  id: string;
  owner: string;
  /** The revision this commit builds on; the stored one becomes revision + 1. */
  revision: number;
  status: ExecutionStatus;
  state: string | null;
  /** The variables as of this commit. */
  variables: Record<string, unknown>;
  result?: unknown;
  error?: ExecutionError | null;
  startedAt?: Date;
  endedAt?: Date;
  /** Keep the lease until this time, or give the execution up (owner = null). */
  lease: Date | 'release';
  steps: StepRecord[];
  /** User tasks opened or closed (inserted when new; an update never reopens a task). */
  tasks?: TaskRecord[];
  /** Waits opened (or moved, e.g. a timer rescheduled). */
  waits?: WaitRecord[];
  /** Ids of waits that closed. */
  dropWaits?: string[];
  /** Inbox items this commit applied: deleted with it. */
  consumed?: string[];
  /** Items for other executions (a called execution's end, for its parent). */
  deliver?: InboxItem[];
  /** Events for webhook subscribers, written with the change they report (outbox). */
  events?: OutboxEvent[];
}

/** Something subscribers hear about: `execution.started`, `task.created`, `alert.updated`... */
export interface OutboxEvent {
  id: string;
  event: string;
  payload: Record<string, unknown>;
  createdAt: Date;
}

export interface WebhookSubscription {
  id: string;
  url: string;
  /** Event names, or `*` for all. */
  events: string[];
  secret: string;
  enabled: boolean;
  createdAt: Date;
}

export type DeliveryStatus = 'pending' | 'delivered' | 'failed';

export interface WebhookDelivery {
  id: string;
  subscriptionId: string;
  event: string;
  payload: Record<string, unknown>;
  status: DeliveryStatus;
  attempts: number;
  responseCode: number | null;
  lastError: string | null;
  createdAt: Date;
  deliveredAt: Date | null;
}

/** Webhook subscriptions, their deliveries, and the outbox they are made from. */
export interface WebhookStore {
  /** Writes events outside a commit (e.g. an alert change). */
  publish(events: OutboxEvent[]): Promise<void>;
  /** The oldest events not fanned out yet. */
  outbox(limit: number): Promise<OutboxEvent[]>;
  /** Creates the deliveries of these events and removes them from the outbox, in one transaction. */
  fanOut(eventIds: string[], deliveries: WebhookDelivery[]): Promise<void>;
  createSubscription(s: WebhookSubscription): Promise<WebhookSubscription>;
  listSubscriptions(): Promise<WebhookSubscription[]>;
  getSubscription(id: string): Promise<WebhookSubscription | null>;
  deleteSubscription(id: string): Promise<boolean>;
  getDelivery(id: string): Promise<WebhookDelivery | null>;
  /** Newest first; with `createdBefore`, the oldest first (deliveries to re-queue). */
  listDeliveries(q: { subscriptionId?: string; status?: DeliveryStatus; createdBefore?: Date; limit: number; offset: number }): Promise<Page<WebhookDelivery>>;
  recordAttempt(id: string, r: { status: DeliveryStatus; attempts: number; responseCode: number | null; error: string | null; at: Date }): Promise<void>;
}

export interface Page<T> {
  items: T[];
  total: number;
}

export interface NewExecution {
  id: string;
  workflowId: string;
  input: Record<string, unknown>;
  priority: number;
  owner?: string;
  leaseUntil?: Date;
  parentId?: string;
  parentStep?: string;
  trigger?: Trigger;
}

export interface TaskQuery {
  status?: TaskStatus;
  executionId?: string;
  assignee?: string;
  /** Tasks offered to this group. */
  candidateGroup?: string;
  limit: number;
  offset: number;
}

export interface Store extends WebhookStore {
  readonly provider: 'sqlite' | 'postgresql';
  /** Stores the next version of the process `key`. */
  createWorkflow(w: { key: string; name: string; xml: string; warnings: Problem[] }): Promise<WorkflowRecord>;
  getWorkflow(id: string): Promise<WorkflowRecord | null>;
  getLatestWorkflow(key: string): Promise<WorkflowRecord | null>;
  listWorkflows(q: { limit: number; offset: number; key?: string }): Promise<Page<WorkflowRecord>>;

  /** Creates a pending execution; with `owner` it is created already claimed by that engine process. */
  createExecution(e: NewExecution): Promise<ExecutionRecord>;
  getExecution(id: string): Promise<ExecutionRecord | null>;
  getSteps(executionId: string): Promise<StepRecord[]>;
  maxStepSeq(executionId: string): Promise<number>;
  listExecutions(q: { status?: ExecutionStatus; workflowIds?: string[]; limit: number; offset: number }): Promise<Page<ExecutionRecord>>;

  /**
   * Takes the lease of a live execution (pending or running) that has no owner, an expired
   * lease, or is already ours. Returns the fresh record, or null when another process holds it.
   */
  claim(id: string, owner: string, leaseUntil: Date, now: Date): Promise<ExecutionRecord | null>;
  /** Writes the commit if `owner` still holds the execution at `revision`; false when fenced off. */
  commit(c: Commit): Promise<boolean>;
  /** Extends the leases of these executions, where `owner` still holds them. */
  renewLeases(owner: string, ids: string[], leaseUntil: Date): Promise<number>;
  releaseAll(owner: string): Promise<number>;
  /**
   * Executions that need an engine and that nobody holds (unowned or lease expired): running ones,
   * pending ones older than `pendingBefore`, and waiting ones with a timer due or an inbox item.
   */
  findAdoptable(now: Date, pendingBefore: Date, limit: number): Promise<string[]>;

  /** Executions `owner` holds that have inbox items or a due timer (their wake may have been lost). */
  findWoken(owner: string, now: Date): Promise<string[]>;

  getTask(id: string): Promise<TaskRecord | null>;
  listTasks(q: TaskQuery): Promise<Page<TaskRecord>>;
  /**
   * Answers an open task: marks it `completing` with who and what, and puts the answer in the
   * execution's inbox, in one transaction. Null when the task does not exist; the task as it is
   * when it is not open (answered already, or cancelled).
   */
  answerTask(id: string, by: string | null, result: Record<string, unknown>, now: Date): Promise<{ ok: true; task: TaskRecord } | { ok: false; task: TaskRecord } | null>;
  /** Puts items in executions' inboxes. */
  deliver(items: InboxItem[]): Promise<void>;
  inbox(executionId: string): Promise<InboxItem[]>;
  /** Open message or signal waits by name (and correlation key, when given). */
  findWaits(q: { kind: WaitKind; name: string; correlationKey?: string; executionId?: string }): Promise<WaitRecord[]>;
  getWaits(executionId: string): Promise<WaitRecord[]>;
  close(): Promise<void>;
}

/** A service task handed to a connector activity. */
export interface DispatchRequest {
  jobId: string;
  activity: string;
  executionId: string;
  activityId: string;
  input: unknown;
  priority: number;
}

export interface FailureInfo {
  name: string;
  message: string;
  code?: string;
}

export type JobOutcome =
  | { status: 'completed'; output: unknown; attempts: number }
  | { status: 'failed'; error: FailureInfo; attempts: number }
  | { status: 'pending' }
  | { status: 'missing' };

export interface Dispatcher {
  /** Enqueues jobs; a job whose id exists already is left as it is (idempotent). */
  dispatch(requests: DispatchRequest[]): Promise<void>;
  /** The truth about a job, read from the queue. */
  inspect(job: { jobId: string; activity: string }): Promise<JobOutcome>;
  /**
   * Takes back a job whose task was interrupted (e.g. by a boundary timer), if no worker runs it
   * yet; true when it was removed. A job already running finishes and its outcome is ignored.
   */
  cancel(job: { jobId: string; activity: string }): Promise<boolean>;
  /** Hints that a job finished (completed, or failed after its last attempt). May be missed. */
  onOutcome(listener: (jobId: string, outcome: JobOutcome) => void): void;
  /** Resolves once outcome events are being received (events before that are found by inspect). */
  ready(): Promise<void>;
  close(): Promise<void>;
}

/**
 * Work for any engine process: start an execution, or wake one (its inbox has items, or a timer
 * is due). Commands are hints that make things prompt; the sweep finds the same work without them.
 */
export type EngineCommand = { type: 'start'; executionId: string } | { type: 'wake'; executionId: string; reason: string };

export interface CommandBus {
  /** Sends a command now, or at `at` (a durable delayed command, e.g. a due timer); `dedupeId` makes a repeat a no-op. */
  send(command: EngineCommand, opts?: { at?: Date; dedupeId?: string }): Promise<void>;
  /** Tells every engine process (best effort): the owner of an execution learns it has work. */
  broadcast(command: EngineCommand): Promise<void>;
  /** Receives broadcasts. */
  onBroadcast(handler: (command: EngineCommand) => void): Promise<void>;
  /** Starts consuming commands; each is handled by exactly one engine process. */
  consume(handler: (command: EngineCommand) => Promise<void>): Promise<void>;
  close(): Promise<void>;
}

export interface Clock {
  now(): Date;
}
export const systemClock: Clock = { now: () => new Date() };
