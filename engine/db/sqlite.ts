import { mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { PrismaBetterSqlite3 } from '@prisma/adapter-better-sqlite3';

/**
 * How long a connection waits for another one's write lock before failing with SQLITE_BUSY
 * (better-sqlite3's `timeout` option, i.e. `PRAGMA busy_timeout`).
 */
export const busyTimeoutMs = 5000;

/**
 * Settings for the client's one connection, run when it opens: WAL lets readers run beside the
 * writer, and NORMAL sync in WAL mode survives process crashes (a power loss may lose the last
 * transactions, never corrupt the file).
 */
export const connectionPragmas = ['PRAGMA journal_mode = WAL', 'PRAGMA synchronous = NORMAL'];

/** Creates the folder of a SQLite database file if it is missing. */
export async function ensureSqliteFolder(file: string): Promise<void> {
  await mkdir(dirname(file), { recursive: true });
}

/** The adapter factory for a SQLite file, with the busy timeout set. */
export function sqliteAdapterFactory(file: string): PrismaBetterSqlite3 {
  return new PrismaBetterSqlite3({ url: file, timeout: busyTimeoutMs });
}

function isBusy(error: unknown): boolean {
  const cause = (error as { cause?: { originalCode?: unknown } }).cause;
  return typeof cause?.originalCode === 'string' && cause.originalCode.startsWith('SQLITE_BUSY');
}

/**
 * Runs `fn` while holding an exclusive lock on `<file>.lock`, a SQLite file of its own, so that
 * processes starting at once against the same database take turns. SQLite's file locks are freed
 * by the OS if this process dies, so a crash leaves no stale lock.
 */
export async function withSqliteFileLock<T>(file: string, fn: () => Promise<T>, timeoutMs = 60_000): Promise<T> {
  const lock = await new PrismaBetterSqlite3({ url: `${file}.lock`, timeout: 0 }).connect();
  try {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      try {
        await lock.executeScript('BEGIN EXCLUSIVE');
        break;
      } catch (error) {
        if (!isBusy(error) || Date.now() > deadline) throw error;
        await sleep(50);
      }
    }
    try {
      return await fn();
    } finally {
      await lock.executeScript('ROLLBACK');
    }
  } finally {
    await lock.dispose();
  }
}
