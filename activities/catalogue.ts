import type { ActivityDefinition } from './define.ts';

/** The connectors' actions, one file each under activities/<product>/. */
export const connectorActivities = [] as unknown as ActivityDefinition<never, unknown, never>[];
