import winston from 'winston';

export type Logger = winston.Logger;

const SECRET_KEY = /pass(word)?|secret|token|authorization|api[-_]?key|cookie|credential/i;

/**
 * Replaces the values of secret-looking keys, at any depth, before a line is written. It copies
 * what it changes: the objects a caller logs are never modified.
 */
const redact = winston.format((info) => {
  const copy = (value: unknown, depth: number, seen: WeakSet<object>): unknown => {
    if (!value || typeof value !== 'object' || depth > 6 || seen.has(value)) return value;
    seen.add(value);
    if (Array.isArray(value)) return value.map((v) => copy(v, depth + 1, seen));
    if (value instanceof Error || value instanceof Date) return value;
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = SECRET_KEY.test(k) && v !== undefined ? '[redacted]' : copy(v, depth + 1, seen);
    return out;
  };
  const seen = new WeakSet<object>();
  for (const [k, v] of Object.entries(info)) info[k] = SECRET_KEY.test(k) ? '[redacted]' : copy(v, 0, seen);
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
