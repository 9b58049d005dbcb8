import { readFileSync, statSync } from 'node:fs';
import type { Credential, CredentialSpec } from './define.ts';

/**
 * Where credentials come from, in the worker only: `SOAR_CRED_<NAME>_<FIELD>` environment variables,
 * then the JSON file at `SOAR_SECRETS_FILE` (`{ "<name>": { "<field>": "value" } }`, re-read when it
 * changes, so a rotated secret is used without a restart). Values never leave the worker: not in job
 * data, step output, execution state or logs.
 */
export interface CredentialSource {
  /** The credential's values, or the names of the variables to set when a required field is missing. */
  resolve(spec: CredentialSpec): { ok: true; credential: Credential } | { ok: false; missing: string[] };
}

/** `virustotal` + `apiKey` -> `SOAR_CRED_VIRUSTOTAL_API_KEY`. */
export function credentialEnvName(name: string, field: string): string {
  return `SOAR_CRED_${envPart(name)}_${envPart(field)}`;
}

/** `baseUrl` -> `BASE_URL`, `slack-webhook` -> `SLACK_WEBHOOK`. */
export function envPart(s: string): string {
  return s
    .replace(/([a-z0-9])([A-Z])/g, '$1_$2')
    .replace(/[^A-Za-z0-9]+/g, '_')
    .toUpperCase();
}

export function credentialSource(env: NodeJS.ProcessEnv = process.env): CredentialSource {
  const file = env.SOAR_SECRETS_FILE;
  let cached: { mtimeMs: number; data: Record<string, Record<string, unknown>> } | null = null;
  const fromFile = (): Record<string, Record<string, unknown>> => {
    if (!file) return {};
    try {
      const { mtimeMs } = statSync(file);
      if (cached?.mtimeMs !== mtimeMs) cached = { mtimeMs, data: JSON.parse(readFileSync(file, 'utf8')) as Record<string, Record<string, unknown>> };
      return cached.data;
    } catch (err) {
      // say which file and why, never what it holds
      throw new Error(`SOAR_SECRETS_FILE ${file} cannot be read as JSON (${(err as NodeJS.ErrnoException).code ?? (err as Error).name})`);
    }
  };
  return {
    resolve(spec) {
      const stored = fromFile()[spec.name] ?? {};
      const credential: Record<string, string> = {};
      const missing: string[] = [];
      for (const [field, f] of Object.entries(spec.fields)) {
        const value = env[credentialEnvName(spec.name, field)] ?? stored[field];
        if (typeof value === 'string' && value !== '') credential[field] = value;
        else if (typeof value === 'number') credential[field] = String(value);
        else if (!f.optional) missing.push(credentialEnvName(spec.name, field));
      }
      return missing.length ? { ok: false, missing } : { ok: true, credential };
    },
  };
}

/** A source with fixed values, for tests: `{ virustotal: { apiKey: '...' } }`. */
export function staticCredentials(values: Record<string, Record<string, string>>): CredentialSource {
  return credentialSource({ ...Object.fromEntries(Object.entries(values).flatMap(([name, fields]) => Object.entries(fields).map(([f, v]) => [credentialEnvName(name, f), v]))) });
}
