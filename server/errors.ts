import type { ErrorRequestHandler, RequestHandler } from 'express';
import { SoarError } from '../engine/errors.ts';
import type { Logger } from '../engine/log.ts';

/** Express 5 forwards rejected promises; this turns everything into `{ error: { code, message, details } }`. */
export function errorHandler(logger: Logger): ErrorRequestHandler {
  return (err, req, res, _next) => {
    const e = toSoarError(err);
    if (e.status >= 500) logger.error('request failed', { method: req.method, path: req.path, err: (err as Error).message, stack: (err as Error).stack });
    if (res.headersSent) return;
    res.status(e.status).json({ error: { code: e.code, message: e.message, details: e.details } });
  };
}

export const notFoundRoute: RequestHandler = (req) => {
  throw new SoarError('NOT_FOUND', `no route ${req.method} ${req.path}`);
};

function toSoarError(err: unknown): SoarError {
  if (err instanceof SoarError) return err;
  const e = err as { type?: string; status?: number; message?: string; limit?: number };
  // body-parser errors carry a `type`
  if (e.type === 'entity.parse.failed') return new SoarError('INVALID_JSON', `the request body is not valid JSON: ${e.message}`);
  if (e.type === 'entity.too.large') return new SoarError('PAYLOAD_TOO_LARGE', `the request body is larger than the limit of ${e.limit} bytes`);
  if (e.type === 'encoding.unsupported' || e.type === 'charset.unsupported') return new SoarError('UNSUPPORTED_MEDIA_TYPE', e.message ?? 'unsupported encoding');
  if (typeof e.status === 'number' && e.status >= 400 && e.status < 500) return new SoarError('BAD_REQUEST', e.message ?? 'bad request');
  return new SoarError('INTERNAL', 'internal error');
}
