import type { ActivityDefinition } from './define.ts';
import noop from './core/noop.ts';
import http from './core/http.ts';
import delay from './core/delay.ts';

export { defineActivity, connectorOf, type ActivityDefinition, type ActivityContext } from './define.ts';

/** Every activity a service task may name. Registration is explicit so tests can check playbooks against it. */
export class ActivityRegistry {
  readonly #byId = new Map<string, ActivityDefinition<never, unknown>>();

  constructor(activities: Iterable<ActivityDefinition<never, unknown>> = []) {
    for (const a of activities) this.add(a);
  }

  add(activity: ActivityDefinition<never, unknown>): this {
    if (this.#byId.has(activity.id)) throw new Error(`activity ${activity.id} is registered twice`);
    this.#byId.set(activity.id, activity);
    return this;
  }

  get(id: string): ActivityDefinition<Record<string, unknown>, unknown> | undefined {
    return this.#byId.get(id) as ActivityDefinition<Record<string, unknown>, unknown> | undefined;
  }

  has = (id: string): boolean => this.#byId.has(id);

  list(): ActivityDefinition<Record<string, unknown>, unknown>[] {
    return [...this.#byId.values()] as ActivityDefinition<Record<string, unknown>, unknown>[];
  }

  /** The connectors (queues) the registered activities use. */
  connectors(): string[] {
    return [...new Set(this.list().map((a) => a.id.slice(0, a.id.indexOf('.'))))].sort();
  }
}

/** The built-in activities. */
export const builtinActivities = [noop, http, delay] as unknown as ActivityDefinition<never, unknown>[];

export function defaultRegistry(): ActivityRegistry {
  return new ActivityRegistry(builtinActivities);
}
