import type { Server } from 'node:http';
import { ConfigError, loadConfig } from '../engine/config.ts';
import { createLogger } from '../engine/log.ts';
import { startSystem, type System } from '../engine/system.ts';
import { createApp } from './app.ts';

/**
 * `npm start`: the product on its embedded defaults, every role in one process
 * (ROLES=api,engine,worker), or the roles asked for.
 */
async function main(): Promise<void> {
  let config;
  try {
    config = loadConfig();
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`${err.message}\nSee the configuration table in README.md.\n`);
      process.exit(2);
    }
    throw err;
  }
  const logger = createLogger({ level: config.LOG_LEVEL, format: config.LOG_FORMAT });

  let system: System;
  try {
    system = await startSystem(config, { logger });
  } catch (err) {
    process.stderr.write(`soar could not start: ${(err as Error).message}\n`);
    process.exit(1);
  }

  let server: Server | null = null;
  if (config.ROLES.includes('api')) {
    const app = createApp(system);
    server = await new Promise<Server>((resolve, reject) => {
      const s = app.listen(config.PORT, config.HOST, () => resolve(s));
      s.once('error', reject);
    }).catch((err: Error) => {
      process.stderr.write(`soar could not listen on ${config.HOST}:${config.PORT}: ${err.message}\n`);
      return system.close().then(() => process.exit(1));
    });
    const addr = server?.address();
    const port = typeof addr === 'object' && addr ? addr.port : config.PORT;
    const host = config.HOST === '0.0.0.0' || config.HOST === '::' ? 'localhost' : config.HOST;
    logger.info(`soar is ready at http://${host}:${port}`, { roles: config.ROLES, port });
  } else {
    logger.info('soar is ready', { roles: config.ROLES });
  }

  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) {
      logger.warn('second signal: exiting now');
      process.exit(1);
    }
    stopping = true;
    logger.info('shutting down', { signal });
    await new Promise<void>((r) => (server ? server.close(() => r()) : r()));
    await system.close();
    process.exit(0);
  };
  process.on('SIGINT', () => void shutdown('SIGINT'));
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
}

await main();
