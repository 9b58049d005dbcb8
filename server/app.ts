import express, { type Express } from 'express';
import type { Alerts } from '../engine/alerts/alerts.ts';
import type { HookConfig } from '../engine/alerts/hooks.ts';
import type { Config } from '../engine/config.ts';
import type { Deliveries } from '../engine/deliveries.ts';
import type { Executions } from '../engine/executions.ts';
import type { Webhooks } from '../engine/webhooks.ts';
import type { Logger } from '../engine/log.ts';
import type { Store } from '../engine/ports.ts';
import type { WorkflowCatalog } from '../engine/workflows.ts';
import { errorHandler, notFoundRoute } from './errors.ts';
import { hasNul, NUL_REFUSED } from './validate.ts';
import { connectorsRouter } from './routes/connectors.ts';
import { alertsRouter, triggersRouter } from './routes/alerts.ts';
import { executionsRouter } from './routes/executions.ts';
import { hooksRouter } from './routes/hooks.ts';
import { securityEventsRouter } from './routes/security-events.ts';
import { eventsRouter, executionMessages, tasksRouter } from './routes/tasks.ts';
import { webhooksRouter } from './routes/webhooks.ts';
import { workflowsRouter } from './routes/workflows.ts';

/** What the routes call. The server is thin: it validates, calls these, and maps errors. */
export interface Services {
  config: Config;
  logger: Logger;
  store: Store;
  catalog: WorkflowCatalog;
  executions: Executions;
  deliveries: Deliveries;
  webhooks: Webhooks;
  alerts: Alerts;
  hooks: Map<string, HookConfig>;
  /** Resolves when the process can serve (database and Redis answer); rejects with the reason. */
  health(): Promise<Record<string, unknown>>;
}

const XML_TYPES = ['application/xml', 'text/xml', 'application/bpmn+xml'];

export function createApp(s: Services): Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('query parser', 'simple');
  // before the JSON parser: webhook signatures are checked over the raw body
  app.use('/hooks', hooksRouter(s));
  app.use(express.json({ limit: s.config.HTTP_BODY_LIMIT }));
  // NUL characters cannot be stored (PostgreSQL refuses them): a clear 400, never a 500
  app.use((req, _res, next) => {
    let path = req.path;
    try {
      path = decodeURIComponent(req.path);
    } catch {
      /* left as is */
    }
    if (path.includes('\u0000') || hasNul(req.query) || hasNul(req.body)) throw NUL_REFUSED();
    next();
  });
  app.use(express.text({ type: XML_TYPES, limit: s.config.HTTP_BODY_LIMIT }));

  app.get('/healthz', async (_req, res) => {
    try {
      res.json({ status: 'ok', ...(await s.health()) });
    } catch (err) {
      res.status(503).json({ error: { code: 'UNAVAILABLE', message: (err as Error).message, details: [] } });
    }
  });

  const workflows = workflowsRouter(s);
  const executions = executionsRouter(s);
  const tasks = tasksRouter(s);
  const events = eventsRouter(s);
  const messages = executionMessages(s);
  app.use('/workflows', workflows);
  app.use('/executions', messages, executions);
  app.use('/tasks', tasks);
  const webhooks = webhooksRouter(s);
  app.use('/webhooks', webhooks);
  app.use('/api/v2/webhooks', webhooks);
  app.use('/', events);
  app.use('/api/v2/tasks', tasks);
  app.use('/api/v2/executions', messages);
  app.use('/api/v2', events);
  app.use('/connectors', connectorsRouter(s));
  app.use('/api/v2/events', securityEventsRouter(s));
  app.use('/api/v2/alerts', alertsRouter(s));
  app.use('/api/v2/triggers', triggersRouter(s));
  // IntelliGuard API v2 paths, for existing clients
  app.use('/api/v2/workflows/executions', executions);
  app.use('/api/v2/executions', executions);
  app.use('/api/v2/workflows', workflows);

  app.use(notFoundRoute);
  app.use(errorHandler(s.logger));
  return app;
}
