import { json, standIn } from './common.ts';

export const HEC_TOKEN = '7f3c2a1e-hec-token-b9d8';
export const SPLUNK_TOKEN = 'eyJraWQiOiJzcGx1bmsuc2VjcmV0';

/** Splunk: HEC (Authorization: Splunk <token>, { text, code }) and the REST export endpoint (Bearer, NDJSON). */
export function splunkStandIn() {
  const events: unknown[] = [];
  const s = standIn((req, res, url) => {
    if (url.pathname === '/services/collector/event') {
      if (!req.headers.authorization) return json(res, 401, { text: 'Token is required', code: 2 });
      if (req.headers.authorization !== `Splunk ${HEC_TOKEN}`) return json(res, 403, { text: 'Invalid token', code: 4 });
      events.push(JSON.parse(req.body));
      return json(res, 200, { text: 'Success', code: 0 });
    }
    if (url.pathname === '/services/search/jobs/export') {
      if (req.headers.authorization !== `Bearer ${SPLUNK_TOKEN}`) return json(res, 401, { messages: [{ type: 'WARN', text: 'call not properly authenticated' }] });
      const form = new URLSearchParams(req.body);
      if (!form.get('search')?.startsWith('search ')) return json(res, 400, { messages: [{ type: 'FATAL', text: 'Unknown search command' }] });
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(
        [
          { preview: true, offset: 0, result: { host: 'ws-042', count: '1' } },
          { preview: false, offset: 0, result: { host: 'ws-042', count: '3' } },
          { preview: false, offset: 1, lastrow: true, result: { host: 'ws-043', count: '1' } },
        ]
          .map((r) => JSON.stringify(r))
          .join('\n') + '\n',
      );
      return;
    }
    json(res, 404, { messages: [{ type: 'ERROR', text: 'Not Found' }] });
  });
  return s.then((x) => ({ ...x, events }));
}
