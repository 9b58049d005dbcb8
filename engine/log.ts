import winston from 'winston';

export type Logger = winston.Logger;

const SECRET_KEY = /pass(word)?|secret|token|authorization|api[-_]?key|cookie|credential/i;

/** Replaces the values of secret-looking keys, at any depth, before a line is written. */
const redact = winston.format((info) => {
  const seen = new WeakSet<object>();
  const walk = (value: unknown, depth: number): unknown => {
    if (!value || typeof value !== 'object' || depth > 6 || seen.has(value)) return value;
    seen.add(value);
    for (const [k, v] of Object.entries(value)) {
      if (SECRET_KEY.test(k) && v !== undefined) (value as Record<string, unknown>)[k] = '[redacted]';
      else walk(v, depth + 1);
    }
    return value;
  };
  for (const [k, v] of Object.entries(info)) {
    if (SECRET_KEY.test(k)) info[k] = '[redacted]';
    else walk(v, 0);
  }
  return info;
});

/**
 * Structured logs: JSON lines (executionId, activityId, jobId as fields), or a readable
 * line format when writing to a terminal (`LOG_FORMAT=auto`).
 */
export function createLogger(opts: { level?: string; format?: 'json' | 'pretty' | 'auto'; role?: string } = {}): Logger {
  const pretty = opts.format === 'pretty' || (opts.format !== 'json' && process.stdout.isTTY === true);
  return winston.createLogger({
    level: opts.level ?? 'info',
    defaultMeta: opts.role ? { role: opts.role } : undefined,
    format: winston.format.combine(
      redact(),
      winston.format.timestamp(),
      winston.format.errors({ stack: false }),
      pretty
        ? winston.format.combine(
            winston.format.colorize(),
            winston.format.printf(({ timestamp, level, message, role: _r, ...rest }) => {
              const extra = Object.keys(rest).length ? ' ' + JSON.stringify(rest) : '';
              return `${String(timestamp)} ${level} ${String(message)}${extra}`;
            }),
          )
        : winston.format.json(),
    ),
    transports: [new winston.transports.Console({ stderrLevels: ['error'] })],
  });
}

/** A logger that writes nothing: for tests and benchmarks that measure the product, not its logs. */
export function silentLogger(): Logger {
  return winston.createLogger({ silent: true, transports: [new winston.transports.Console({ silent: true })] });
}
