import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import {
  bindMigrationAwareSqlAdapterFactory,
  type SqlDriverAdapter,
  type SqlMigrationAwareDriverAdapterFactory,
} from '@prisma/driver-adapter-utils';
import * as bindings from '@prisma/schema-engine-wasm/schema_engine_bg';
import type { SchemaEngine } from '@prisma/schema-engine-wasm';

export type { SchemaEngine };

/** A log line from the schema engine (a JSON string from its tracing layer). */
export type SchemaEngineLog = (line: string) => void;

/** The slice of the WebAssembly global used here (tsconfig's `lib` has no WebAssembly types). */
type WasmApi = {
  instantiate(bytes: Uint8Array, imports: Record<string, object>): Promise<{ instance: { exports: { __wbindgen_start(): void } } }>;
};

let loading: Promise<typeof bindings.SchemaEngine> | undefined;

/**
 * The engine arms timers it never clears (after a PostgreSQL migrate, one kept the process alive
 * for 10 s). Its timers go through here, and are cleared once no engine is open, when no engine
 * call can still be waiting on one.
 */
const engineTimers = new Set<ReturnType<typeof setTimeout>>();
let openEngines = 0;

function engineSetTimeout(callback: () => void, ms: number): ReturnType<typeof setTimeout> {
  const timer = setTimeout(() => {
    engineTimers.delete(timer);
    callback();
  }, ms >>> 0);
  engineTimers.add(timer);
  return timer;
}

function glueWithOwnTimers(): Record<string, unknown> {
  const glue: Record<string, unknown> = { ...bindings };
  const names = Object.keys(glue).filter((name) => name.startsWith('__wbg_setTimeout_'));
  if (names.length === 0) throw new Error('@prisma/schema-engine-wasm: setTimeout import not found; check this loader');
  for (const name of names) glue[name] = engineSetTimeout;
  return glue;
}

/**
 * Instantiates Prisma's schema engine WebAssembly once per process and returns its class.
 *
 * The package's entry point does `import * as wasm from './schema_engine_bg.wasm'`, which Node 20
 * only accepts under `--experimental-wasm-modules`. This does the same wiring by hand (the
 * wasm-bindgen "bundler" target: the module's imports are the JS glue in schema_engine_bg.js), so
 * plain `node`/`tsx` can run migrations.
 */
export function loadSchemaEngine(): Promise<typeof bindings.SchemaEngine> {
  loading ??= (async () => {
    const require = createRequire(import.meta.url);
    const glue = require.resolve('@prisma/schema-engine-wasm/schema_engine_bg');
    const bytes = await readFile(join(dirname(glue), 'schema_engine_bg.wasm'));
    const wasm = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;
    const { instance } = await wasm.instantiate(bytes, { './schema_engine_bg.js': glueWithOwnTimers() });
    bindings.__wbg_set_wasm(instance.exports);
    instance.exports.__wbindgen_start();
    return bindings.SchemaEngine;
  })();
  loading.catch(() => {
    loading = undefined;
  });
  return loading;
}

/**
 * Runs `fn` with a schema engine on `schema` (a whole Prisma schema file's text) that reaches the
 * database through `adapterFactory`, then frees the engine and closes every connection it opened.
 * The engine keeps its connections open until then (on SQLite with `locking_mode=EXCLUSIVE`, so
 * an engine left open locks the file for everyone else).
 */
export async function withSchemaEngine<T>(
  schema: { path: string; content: string },
  adapterFactory: SqlMigrationAwareDriverAdapterFactory,
  onLog: SchemaEngineLog,
  fn: (engine: SchemaEngine) => Promise<T>,
): Promise<T> {
  const Engine = await loadSchemaEngine();
  const opened: SqlDriverAdapter[] = [];
  openEngines += 1;
  const tracking: SqlMigrationAwareDriverAdapterFactory = {
    provider: adapterFactory.provider,
    adapterName: adapterFactory.adapterName,
    connect: async () => track(await adapterFactory.connect()),
    connectToShadowDb: async () => track(await adapterFactory.connectToShadowDb()),
  };
  function track(adapter: SqlDriverAdapter): SqlDriverAdapter {
    opened.push(adapter);
    return adapter;
  }
  try {
    const engine = await Engine.new(
      { datamodels: [[schema.path, schema.content]] },
      (line: unknown) => onLog(String(line)),
      bindMigrationAwareSqlAdapterFactory(tracking),
    );
    try {
      return await fn(engine);
    } finally {
      engine.free();
    }
  } finally {
    await Promise.allSettled(opened.map((adapter) => adapter.dispose()));
    openEngines -= 1;
    if (openEngines === 0) {
      for (const timer of engineTimers) clearTimeout(timer);
      engineTimers.clear();
    }
  }
}
