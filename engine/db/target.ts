import { isAbsolute, resolve } from 'node:path';

/** The database engines the product stores its data in. */
export type Provider = 'sqlite' | 'postgresql';

/** A parsed database URL: where to connect and which provider's client and migrations to use. */
export type DatabaseTarget =
  | {
      provider: 'sqlite';
      /** Absolute path of the database file. */
      file: string;
    }
  | {
      provider: 'postgresql';
      /** The URL for `pg`, without `schema` and with `search_path` set to `schema` in its `options`. */
      connectionString: string;
      /** The PostgreSQL schema that holds the tables (`public` unless chosen). */
      schema: string;
    };

const pgSchemaName = /^[A-Za-z_][A-Za-z0-9_]{0,62}$/;

/**
 * Parses a database URL.
 *
 * - `file:<path>`: SQLite; a relative path is resolved against the working directory.
 * - `postgresql://...` or `postgres://...`: PostgreSQL. The schema is `opts.schema`, else the URL's
 *   `?schema=`, else `public`; it must be a plain identifier (letters, digits, `_`).
 */
export function parseDatabaseUrl(url: string, opts: { schema?: string } = {}): DatabaseTarget {
  if (url.startsWith('file:')) {
    const path = url.slice('file:'.length).replace(/^\/\/(?=\/)/, '').replace(/\?.*$/, '');
    if (!path || path === ':memory:') {
      throw new Error(`SQLite database URL needs a file path: ${url}`);
    }
    return { provider: 'sqlite', file: isAbsolute(path) ? path : resolve(path) };
  }
  if (url.startsWith('postgresql://') || url.startsWith('postgres://')) {
    const parsed = new URL(url);
    const schema = opts.schema ?? parsed.searchParams.get('schema') ?? 'public';
    if (!pgSchemaName.test(schema)) {
      throw new Error(`Invalid PostgreSQL schema name: ${JSON.stringify(schema)}`);
    }
    parsed.searchParams.delete('schema');
    const options = [parsed.searchParams.get('options'), `-c search_path=${schema}`].filter(Boolean).join(' ');
    parsed.searchParams.set('options', options);
    return { provider: 'postgresql', connectionString: parsed.toString(), schema };
  }
  throw new Error('Unsupported database URL: expected file:<path>, postgresql:// or postgres://');
}
