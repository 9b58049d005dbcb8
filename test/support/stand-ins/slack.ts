import { bodyOf, json, standIn } from './common.ts';

export const SLACK_TOKEN = 'xoxb-1111-2222-secretslacktoken';

/** Slack Web API: Bearer bot token; HTTP 200 with { ok: false, error } for most failures. Incoming webhooks under /services/. */
export function slackStandIn() {
  const posted: Array<Record<string, unknown>> = [];
  const s = standIn((req, res, url) => {
    if (url.pathname.startsWith('/services/')) {
      if (url.pathname !== '/services/T000/B000/hooksecret') {
        res.writeHead(404, { 'content-type': 'text/html' });
        return void res.end('no_service');
      }
      posted.push(bodyOf(req));
      res.writeHead(200, { 'content-type': 'text/html' });
      return void res.end('ok');
    }
    if (url.pathname !== '/api/chat.postMessage') return json(res, 404, { ok: false, error: 'unknown_method' });
    if (req.headers.authorization !== `Bearer ${SLACK_TOKEN}`) return json(res, 200, { ok: false, error: 'invalid_auth' });
    const body = bodyOf(req);
    if (body.channel === 'C-MISSING') return json(res, 200, { ok: false, error: 'channel_not_found' });
    posted.push(body);
    json(res, 200, { ok: true, channel: body.channel, ts: `1700000000.${String(posted.length).padStart(6, '0')}`, message: { text: body.text } });
  });
  return s.then((x) => ({ ...x, posted }));
}
