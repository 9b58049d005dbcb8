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
  /** Fencing token: every commit increments it, and a commit names the revision it builds on. */
  revision: number;
  owner: string | null;
  leaseUntil: Date | null;
  createdAt: Date;
  startedAt: Date | null;
  endedAt: Date | null;
  updatedAt: Date;
}

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

/** One atomic write of an execution's progress, fenced by owner and revision. */
export interface Commit {
  id: string;
  owner: string;
  /** The revision this commit builds on; the stored one becomes revision + 1. */
  revision: number;
  status: ExecutionStatus;
  state: string | null;
  result?: unknown;
  error?: ExecutionError | null;
  startedAt?: Date;
  endedAt?: Date;
  /** Keep the lease until this time, or give the execution up (owner = null). */
  lease: Date | 'release';
  steps: StepRecord[];
}

export interface Page<T> {
  items: T[];
  total: number;
}

export interface Store {
  readonly provider: 'sqlite' | 'postgresql';
  /** Stores the next version of the process `key`. */
  createWorkflow(w: { key: string; name: string; xml: string; warnings: Problem[] }): Promise<WorkflowRecord>;
  getWorkflow(id: string): Promise<WorkflowRecord | null>;
  getLatestWorkflow(key: string): Promise<WorkflowRecord | null>;
  listWorkflows(q: { limit: number; offset: number; key?: string }): Promise<Page<WorkflowRecord>>;

  /** Creates a pending execution; with `owner` it is created already claimed by that engine process. */
  createExecution(e: { id: string; workflowId: string; input: Record<string, unknown>; priority: number; owner?: string; leaseUntil?: Date }): Promise<ExecutionRecord>;
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
  /** Live executions nobody holds: unowned or lease expired (pending ones only once older than `pendingBefore`). */
  findAdoptable(now: Date, pendingBefore: Date, limit: number): Promise<string[]>;
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
  /** Hints that a job finished (completed, or failed after its last attempt). May be missed. */
  onOutcome(listener: (jobId: string, outcome: JobOutcome) => void): void;
  /** Resolves once outcome events are being received (events before that are found by inspect). */
  ready(): Promise<void>;
  close(): Promise<void>;
}

/** Work for any engine process: start an execution (more kinds come with timers and messages). */
export type EngineCommand = { type: 'start'; executionId: string };

export interface CommandBus {
  send(command: EngineCommand): Promise<void>;
  /** Starts consuming commands; each is handled by exactly one engine process. */
  consume(handler: (command: EngineCommand) => Promise<void>): Promise<void>;
  close(): Promise<void>;
}

export interface Clock {
  now(): Date;
}
export const systemClock: Clock = { now: () => new Date() };
