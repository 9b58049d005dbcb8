import type { Logger } from '../engine/log.ts';

/** What an activity's handler may use besides its input. Activities are pure apart from this. */
export interface ActivityContext {
  executionId: string;
  activityId: string;
  jobId: string;
  /** Stable across retries and redeliveries of the same task: send it where the API honours one. */
  idempotencyKey: string;
  /** 1 for the first try. */
  attempt: number;
  /** Aborted when the worker shuts down or the task is cancelled. */
  signal: AbortSignal;
  logger: Logger;
}

export interface RetryPolicy {
  /** Tries in all, the first included. */
  attempts?: number;
  /** First backoff delay; doubles on each retry. */
  backoffMs?: number;
}

/** A connector action: what a service task names, and how to run it. */
export interface ActivityDefinition<I = Record<string, unknown>, O = unknown> {
  /** `<connector>.<action>`: the connector is the queue the task is sent to. */
  id: string;
  description: string;
  /** JSON Schema of the input (documentation now; validated by the connector framework). */
  input?: Record<string, unknown>;
  retry?: RetryPolicy;
  /** Per-call timeout, enforced through ctx.signal. */
  timeoutMs?: number;
  run(input: I, ctx: ActivityContext): Promise<O>;
}

const ID = /^[a-z][a-z0-9-]*\.[A-Za-z][\w.-]*$/;

export function defineActivity<I = Record<string, unknown>, O = unknown>(def: ActivityDefinition<I, O>): ActivityDefinition<I, O> {
  if (!ID.test(def.id)) throw new Error(`activity id ${def.id} must look like <connector>.<action>`);
  return def;
}

/** The connector (queue) an activity id belongs to: `core.http` -> `core`. */
export function connectorOf(activityId: string): string {
  const dot = activityId.indexOf('.');
  return dot < 0 ? activityId : activityId.slice(0, dot);
}
