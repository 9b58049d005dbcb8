import type { ServerResponse } from 'node:http';
import { json, startHttpServer, type Recorded } from '../http-server.ts';

/** A scripted answer that replaces the stand-in's normal one for the next request(s). */
export interface Fault {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
  /** How many requests get it (default 1). */
  times?: number;
}

export interface StandIn {
  url: string;
  requests: Recorded[];
  /** Queues answers: the next requests get these instead of the API's normal answer. */
  fail(...faults: Fault[]): void;
  close(): Promise<void>;
}

/**
 * A local server speaking one product's API: `route` answers like the product (paths, auth, bodies);
 * `fail` scripts the product's error answers (401, 404, 429 with Retry-After, 500) ahead of it.
 */
export async function standIn(route: (req: Recorded, res: ServerResponse, url: URL) => void | Promise<void>): Promise<StandIn> {
  const faults: Fault[] = [];
  const server = await startHttpServer(async (req, res) => {
    const f = faults[0];
    if (f) {
      if (!f.times || f.times <= 1) faults.shift();
      else f.times--;
      if (typeof f.body === 'string') {
        res.writeHead(f.status, { 'content-type': 'text/plain', ...f.headers });
        res.end(f.body);
        return;
      }
      return json(res, f.status, f.body ?? {}, f.headers);
    }
    await route(req, res, new URL(req.path, 'http://stand-in'));
  });
  return { ...server, fail: (...fs) => faults.push(...fs) };
}

export const bodyOf = (req: Recorded): Record<string, unknown> => (req.body ? (JSON.parse(req.body) as Record<string, unknown>) : {});
export { json };
