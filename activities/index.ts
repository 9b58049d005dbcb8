import type { ActivityDefinition } from './define.ts';
import noop from './core/noop.ts';
import http from './core/http.ts';
import delay from './core/delay.ts';
import { connectorActivities } from './catalogue.ts';

export { defineActivity, connectorOf, type ActivityDefinition, type ActivityContext } from './define.ts';

type AnyActivity = ActivityDefinition<Record<string, unknown>, unknown>;

/** Every activity a service task may name. Registration is explicit so tests can check playbooks against it. */
export class ActivityRegistry {
  readonly #byId = new Map<string, AnyActivity>();

  constructor(activities: Iterable<ActivityDefinition<never, unknown, never>> = []) {
    for (const a of activities) this.add(a);
  }

  add(activity: ActivityDefinition<never, unknown, never>): this {
    if (this.#byId.has(activity.id)) throw new Error(`activity ${activity.id} is registered twice`);
    this.#byId.set(activity.id, activity as unknown as AnyActivity);
    return this;
  }

  get(id: string): AnyActivity | undefined {
    return this.#byId.get(id);
  }

  has = (id: string): boolean => this.#byId.has(id);

  list(): AnyActivity[] {
    return [...this.#byId.values()];
  }

  /** The connectors (queues) the registered activities use. */
  connectors(): string[] {
    return [...new Set(this.list().map((a) => a.id.slice(0, a.id.indexOf('.'))))].sort();
  }
}

/** The built-in activities. */
export const builtinActivities = [noop, http, delay] as unknown as ActivityDefinition<never, unknown, never>[];

/** The built-in activities and every connector of the catalogue (activities/catalogue.ts). */
export function defaultRegistry(): ActivityRegistry {
  return new ActivityRegistry([...builtinActivities, ...connectorActivities]);
}
