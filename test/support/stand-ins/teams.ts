import { bodyOf, standIn } from './common.ts';

/** A Teams channel webhook: POST an Adaptive Card message; the legacy connector answers 200 "1". */
export function teamsStandIn() {
  const cards: Array<Record<string, unknown>> = [];
  const s = standIn((req, res, url) => {
    if (url.pathname !== '/webhookb2/abc/IncomingWebhook/def/secretpart') {
      res.writeHead(400, { 'content-type': 'text/plain' });
      return void res.end('Bad payload received by generic incoming webhook.');
    }
    cards.push(bodyOf(req));
    res.writeHead(200, { 'content-type': 'text/plain' });
    res.end('1');
  });
  return s.then((x) => ({ ...x, cards }));
}
