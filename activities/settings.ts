import { readFileSync } from 'node:fs';
import type { BreakerPolicy, JsonSchema, RateLimit, RetryPolicy } from './define.ts';
import { envPart } from './credentials.ts';

/**
 * A connector's settings where it runs: its configuration (base URL, defaults) and overrides of the
 * resilience values its activities declare. From `SOAR_CONNECTOR_<CONNECTOR>_<KEY>` environment
 * variables (configuration keys only, e.g. SOAR_CONNECTOR_SERVICENOW_BASE_URL) over the JSON file at
 * `SOAR_CONNECTORS_FILE`:
 *
 *   { "virustotal": { "config": { "baseUrl": "..." }, "rateLimit": { "max": 500, "perMs": 60000 },
 *                     "breaker": { "whenOpen": "wait" }, "retry": { "maxBackoffMs": 30000 }, "cache": false } }
 *
 * No secrets here: credentials have their own source (activities/credentials.ts).
 */
export interface ConnectorSettings {
  config: Record<string, unknown>;
  retry?: RetryPolicy;
  rateLimit?: RateLimit | false;
  breaker?: BreakerPolicy | false;
  /** false turns the lookup cache off. */
  cache?: boolean;
}

export interface SettingsSource {
  /** `schema`: the activity's config schema, whose properties name the environment variables read. */
  forConnector(connector: string, schema?: JsonSchema): ConnectorSettings;
}

export function connectorEnvName(connector: string, key: string): string {
  return `SOAR_CONNECTOR_${envPart(connector)}_${envPart(key)}`;
}

export function settingsSource(env: NodeJS.ProcessEnv = process.env, file: Record<string, Partial<ConnectorSettings>> | null = null): SettingsSource {
  let fromFile = file;
  if (!fromFile && env.SOAR_CONNECTORS_FILE) {
    try {
      fromFile = JSON.parse(readFileSync(env.SOAR_CONNECTORS_FILE, 'utf8')) as Record<string, Partial<ConnectorSettings>>;
    } catch (err) {
      throw new Error(`SOAR_CONNECTORS_FILE ${env.SOAR_CONNECTORS_FILE} cannot be read as JSON: ${(err as Error).message}`);
    }
  }
  return {
    forConnector(connector, schema) {
      const stored = fromFile?.[connector] ?? {};
      const config: Record<string, unknown> = { ...(stored.config ?? {}) };
      const props = (schema?.properties ?? {}) as Record<string, unknown>;
      for (const key of Object.keys(props)) {
        const v = env[connectorEnvName(connector, key)];
        if (v !== undefined && v !== '') config[key] = v;
      }
      return { ...stored, config };
    },
  };
}

/** Fixed settings, for tests: `{ virustotal: { config: { baseUrl } } }`. */
export function staticSettings(values: Record<string, Partial<ConnectorSettings>>): SettingsSource {
  return settingsSource({}, values);
}
