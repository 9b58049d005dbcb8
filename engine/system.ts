import { readdir, readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { Redis } from 'ioredis';
import { defaultRegistry, type ActivityRegistry } from '../activities/index.ts';
import { Alerts } from './alerts/alerts.ts';
import { loadHooks, type HookConfig } from './alerts/hooks.ts';
import { PrismaAlertStore } from './db/alerts-store.ts';
import type { Config } from './config.ts';
import { openDatabase } from './db/client.ts';
import { migrate } from './db/migrate.ts';
import { PrismaStore } from './db/prisma-store.ts';
import { SoarError } from './errors.ts';
import { Deliveries } from './deliveries.ts';
import { Executions } from './executions.ts';
import { createLogger, type Logger } from './log.ts';
import { systemClock, type Clock, type Store } from './ports.ts';
import { BullMqCommandBus } from './queue/commands.ts';
import { BullMqDispatcher } from './queue/dispatcher.ts';
import { Schedules } from './queue/schedules.ts';
import { checkRedis, redisConnection } from './queue/redis.ts';
import { ActivityWorker } from './queue/worker.ts';
import { Runtime } from './runtime.ts';
import { Webhooks } from './webhooks.ts';
import { WorkflowCatalog } from './workflows.ts';

export interface System {
  config: Config;
  logger: Logger;
  store: Store;
  registry: ActivityRegistry;
  catalog: WorkflowCatalog;
  executions: Executions;
  deliveries: Deliveries;
  webhooks: Webhooks;
  alerts: Alerts;
  /** Inbound webhooks by name (POST /hooks/:name). */
  hooks: Map<string, HookConfig>;
  runtime: Runtime | null;
  worker: ActivityWorker | null;
  redis: Redis;
  health(): Promise<Record<string, unknown>>;
  close(): Promise<void>;
}

export interface SystemOptions {
  logger?: Logger;
  registry?: ActivityRegistry;
  clock?: Clock;
  /** PostgreSQL schema to use (tests give each run its own). */
  schema?: string;
  /** Where SOAR_HOOK_* and SOAR_HOOKS_FILE are read (default: process.env). */
  env?: NodeJS.ProcessEnv;
}

/**
 * Wires the product from its configuration: database (migrated), Redis, and the roles asked for.
 * This is the one place where the engine core meets Prisma and BullMQ.
 */
export async function startSystem(config: Config, opts: SystemOptions = {}): Promise<System> {
  const logger = opts.logger ?? createLogger({ level: config.LOG_LEVEL, format: config.LOG_FORMAT });
  const hooks = loadHooks(opts.env ?? process.env);
  await checkRedis(config.REDIS_URL);
  const dbOpts = opts.schema ? { schema: opts.schema } : {};
  const migrated = await migrate(config.DATABASE_URL, dbOpts);
  if (migrated.applied.length) logger.info('database migrated', { applied: migrated.applied });
  const database = await openDatabase(config.DATABASE_URL, dbOpts);
  const store = new PrismaStore(database.db, database.provider, database.close, database.pool);

  const registry = opts.registry ?? defaultRegistry();
  const catalog = new WorkflowCatalog(store, registry.has);
  const redis = redisConnection(config.REDIS_URL);
  redis.on('error', (err) => logger.error('redis error', { err: err.message }));
  const commands = new BullMqCommandBus({ connection: redis, prefix: config.QUEUE_PREFIX });
  const schedules = new Schedules({ connection: redis, prefix: config.QUEUE_PREFIX, logger });
  const webhooks = new Webhooks({
    store,
    connection: redis,
    prefix: config.QUEUE_PREFIX,
    logger: logger.child({ role: 'webhooks' }),
    attempts: config.WEBHOOK_ATTEMPTS,
    backoffMs: config.WEBHOOK_BACKOFF_MS,
    timeoutMs: config.WEBHOOK_TIMEOUT_MS,
  });
  catalog.onDeploy((w, c) => schedules.sync(w.key, c.shape.starts, w.createdAt));
  const roles = new Set(config.ROLES);

  let executions!: Executions;
  let deliveries!: Deliveries;
  let alerts!: Alerts;
  let dispatcher: BullMqDispatcher | null = null;
  let runtime: Runtime | null = null;
  let worker: ActivityWorker | null = null;
  const closers: Array<() => Promise<unknown>> = [];

  try {
    if (roles.has('engine')) {
      dispatcher = new BullMqDispatcher({
        connection: redis,
        prefix: config.QUEUE_PREFIX,
        connectors: registry.connectors(),
        attempts: (id) => registry.get(id)?.retry?.attempts ?? config.JOB_ATTEMPTS,
        backoffMs: (id) => registry.get(id)?.retry?.backoffMs ?? 1000,
        retentionS: config.JOB_RETENTION_S,
      });
      runtime = new Runtime({
        store,
        dispatcher,
        commands,
        workflows: catalog,
        logger: logger.child({ role: 'engine' }),
        ...(opts.clock ? { clock: opts.clock } : {}),
        leaseMs: config.ENGINE_LEASE_MS,
        sweepMs: config.ENGINE_SWEEP_MS,
        hotIdleMs: config.ENGINE_HOT_IDLE_MS,
        startGraceMs: config.ENGINE_START_GRACE_MS,
        expressionLimits: { timeoutMs: config.EXPRESSION_TIMEOUT_MS, maxDepth: config.EXPRESSION_MAX_DEPTH },
      });
      const rt = runtime;
      const d = dispatcher;
      closers.push(() => rt.stop(), () => d.close());
    }
    if (roles.has('worker')) {
      worker = new ActivityWorker({
        connection: redis,
        prefix: config.QUEUE_PREFIX,
        registry,
        logger: logger.child({ role: 'worker' }),
        concurrency: config.WORKER_CONCURRENCY,
        lockDurationMs: config.WORKER_LOCK_MS,
        stalledIntervalMs: config.WORKER_STALLED_INTERVAL_MS,
      });
      const w = worker;
      closers.unshift(() => w.close());
    }
    closers.push(() => commands.close(), () => schedules.close(), () => webhooks.close());
    executions = new Executions(store, catalog, commands, runtime);
    deliveries = new Deliveries(store, catalog, executions, commands);
    const d = deliveries;
    alerts = new Alerts({
      store: new PrismaAlertStore(database.db),
      executions,
      correlate: (name, key, payload) => d.correlate(name, key, payload),
      executionStatus: async (id) => (await store.getExecution(id))?.status ?? null,
      logger: logger.child({ role: 'alerts' }),
      clock: opts.clock ?? systemClock,
      expressionLimits: { timeoutMs: config.EXPRESSION_TIMEOUT_MS, maxDepth: config.EXPRESSION_MAX_DEPTH },
      sweepMs: config.ENGINE_SWEEP_MS,
      publish: async (events) => {
        await store.publish(events);
        void webhooks.pump();
      },
    });
    const a = alerts;
    // before the runtime stops: matching in flight finishes its starts
    closers.unshift(() => a.close());

    if (config.DEPLOY_PLAYBOOKS && (roles.has('api') || roles.has('engine'))) await deployPlaybooks(config.PLAYBOOKS_DIR, catalog, logger);
    await worker?.start();
    if (worker) await webhooks.startWorker();
    if (runtime) {
      // Events reach subscribers after the commit that wrote them; the sweep catches up on the rest.
      // at most one fan-out per 50 ms: a burst of commits shares one outbox read
      let soon: NodeJS.Timeout | null = null;
      runtime.on('published', () => {
        soon ??= setTimeout(() => {
          soon = null;
          void webhooks.pump();
        }, 50);
        soon.unref();
      });
      closers.unshift(async () => soon && clearTimeout(soon));
      const t = setInterval(() => void webhooks.pump().then(() => webhooks.requeuePending()).catch(() => {}), config.ENGINE_SWEEP_MS);
      t.unref();
      closers.unshift(async () => clearInterval(t));
    }
    await runtime?.start();
    if (runtime) {
      // Ticks of timer start events; schedules are re-made here in case Redis lost them.
      for (const w of await catalog.latest()) {
        const c = await catalog.compiled(w.id).catch(() => null);
        if (c?.shape.starts.some((s) => s.kind === 'timer')) await schedules.sync(w.key, c.shape.starts, w.createdAt);
      }
      await schedules.consume(async (tick) => {
        const { execution } = await executions.start(tick.key, {}, 3, { kind: 'timer', startEventId: tick.startEventId });
        logger.info('scheduled execution started', { workflow: tick.key, executionId: execution.id });
      });
      alerts.startSweeping();
    }
  } catch (err) {
    for (const close of closers) await close().catch(() => {});
    redis.disconnect();
    await store.close();
    throw err;
  }

  let closed = false;
  return {
    config,
    logger,
    store,
    registry,
    catalog,
    executions,
    deliveries,
    webhooks,
    alerts,
    hooks,
    runtime,
    worker,
    redis,
    async health() {
      await Promise.all([redis.ping(), store.getWorkflow('healthz')]);
      return { roles: [...roles], ...(runtime ? { engine_id: runtime.engineId, executions_in_memory: runtime.hotCount } : {}) };
    },
    async close() {
      if (closed) return;
      closed = true;
      for (const close of closers) await close().catch((err: Error) => logger.error('shutdown step failed', { err: err.message }));
      await redis.quit().catch(() => redis.disconnect());
      await store.close();
    },
  };
}

/**
 * Deploys every `*.bpmn` in `dir` whose content differs from the latest version of its process.
 * A bad file is reported with its name and the reasons, and does not stop the others.
 */
export async function deployPlaybooks(dir: string, catalog: WorkflowCatalog, logger: Logger): Promise<{ deployed: string[]; failed: string[] }> {
  const abs = resolve(dir);
  let files: string[];
  try {
    files = (await readdir(abs)).filter((f) => f.endsWith('.bpmn')).sort();
  } catch {
    logger.warn('no playbooks folder', { dir: abs });
    return { deployed: [], failed: [] };
  }
  const deployed: string[] = [];
  const errors = new Map<string, unknown>();
  // A playbook may call another one (a call activity), which must be deployed first: deploy in
  // rounds until a round deploys nothing more.
  let pending = files;
  for (let progress = true; pending.length && progress; ) {
    progress = false;
    const next: string[] = [];
    for (const file of pending) {
      const xml = await readFile(join(abs, file), 'utf8');
      try {
        const r = await catalog.deployIfChanged(xml);
        progress = true;
        errors.delete(file);
        if (r) {
          deployed.push(file);
          logger.info('playbook deployed', { file, workflowId: r.workflow.id, key: r.workflow.key, version: r.workflow.version });
        }
      } catch (err) {
        errors.set(file, err);
        next.push(file);
      }
    }
    pending = next;
  }
  for (const [file, err] of errors) {
    const details = err instanceof SoarError ? err.details.map((d) => `${d.element ?? ''}: ${d.reason}`) : [(err as Error).message];
    logger.error(`playbook ${file} was not deployed`, { file, problems: details });
  }
  const failed = [...errors.keys()];
  return { deployed, failed };
}
