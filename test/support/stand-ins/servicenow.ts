import { randomBytes } from 'node:crypto';
import { bodyOf, json, standIn } from './common.ts';

export const SN_USER = 'soar.integration';
export const SN_PASSWORD = 'sn-pass-9f8e7d6c';

/** ServiceNow Table API: basic auth; /api/now/table/incident; errors { error: { message, detail }, status: 'failure' }. */
export function servicenowStandIn() {
  const incidents: Array<Record<string, unknown>> = [];
  const s = standIn((req, res, url) => {
    const expected = `Basic ${Buffer.from(`${SN_USER}:${SN_PASSWORD}`).toString('base64')}`;
    if (req.headers.authorization !== expected) return json(res, 401, { error: { message: 'User Not Authenticated', detail: 'Required to provide Auth information' }, status: 'failure' });
    const m = /^\/api\/now\/table\/incident(?:\/([0-9a-f]{32}))?$/.exec(url.pathname);
    if (!m) return json(res, 400, { error: { message: 'Invalid table', detail: null }, status: 'failure' });
    const sysId = m[1];
    if (req.method === 'GET' && !sysId) {
      const q = url.searchParams.get('sysparm_query') ?? '';
      const [field, value] = q.split('=');
      return json(res, 200, { result: incidents.filter((i) => String(i[field!]) === value).slice(0, Number(url.searchParams.get('sysparm_limit') ?? 10)) });
    }
    const found = sysId ? incidents.find((i) => i.sys_id === sysId) : undefined;
    if (sysId && !found) return json(res, 404, { error: { message: 'No Record found', detail: "Record doesn't exist or ACL restricts the record retrieval" }, status: 'failure' });
    if (req.method === 'GET') return json(res, 200, { result: found });
    if (req.method === 'POST' && !sysId) {
      const inc = { ...bodyOf(req), sys_id: randomBytes(16).toString('hex'), number: `INC00${10000 + incidents.length + 1}`, state: '1' };
      incidents.push(inc);
      return json(res, 201, { result: inc });
    }
    if (req.method === 'PATCH' && found) {
      Object.assign(found, bodyOf(req));
      return json(res, 200, { result: found });
    }
    json(res, 405, { error: { message: 'Method not Supported', detail: null }, status: 'failure' });
  });
  return s.then((x) => ({ ...x, incidents }));
}
