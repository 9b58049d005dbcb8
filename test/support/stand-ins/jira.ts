import { bodyOf, json, standIn } from './common.ts';

export const JIRA_EMAIL = 'soar@corp.example';
export const JIRA_TOKEN = 'jira-token-ATATT3xFfGF0';

/** Jira Cloud REST v3: basic email:token; errors { errorMessages, errors }. */
export function jiraStandIn() {
  const issues: Array<{ id: string; key: string; fields: Record<string, unknown>; status: string; comments: Array<Record<string, unknown>> }> = [];
  const s = standIn((req, res, url) => {
    if (req.headers.authorization !== `Basic ${Buffer.from(`${JIRA_EMAIL}:${JIRA_TOKEN}`).toString('base64')}`) {
      return json(res, 401, { errorMessages: ['Client must be authenticated to access this resource.'], errors: {} });
    }
    const p = url.pathname;
    if (p === '/rest/api/3/search/jql' && req.method === 'POST') {
      const label = /labels = "([^"]+)"/.exec(String(bodyOf(req).jql))?.[1];
      return json(res, 200, { issues: issues.filter((i) => (i.fields.labels as string[]).includes(label ?? '')).map((i) => ({ id: i.id, key: i.key })), isLast: true });
    }
    if (p === '/rest/api/3/issue' && req.method === 'POST') {
      const fields = bodyOf(req).fields as Record<string, unknown>;
      if (!fields.summary) return json(res, 400, { errorMessages: [], errors: { summary: 'You must specify a summary of the issue.' } });
      const issue = { id: String(10000 + issues.length + 1), key: `SEC-${issues.length + 1}`, fields, status: 'To Do', comments: [] };
      issues.push(issue);
      return json(res, 201, { id: issue.id, key: issue.key, self: `/rest/api/3/issue/${issue.id}` });
    }
    const m = /^\/rest\/api\/3\/issue\/([A-Z]+-\d+)(\/comment|\/transitions)?$/.exec(p);
    const issue = m && issues.find((i) => i.key === m[1]);
    if (!issue) return json(res, 404, { errorMessages: ['Issue does not exist or you do not have permission to see it.'], errors: {} });
    if (!m[2]) return json(res, 200, { id: issue.id, key: issue.key, fields: { ...issue.fields, status: { name: issue.status } } });
    if (m[2] === '/comment' && req.method === 'GET') return json(res, 200, { comments: issue.comments, total: issue.comments.length });
    if (m[2] === '/comment') {
      const c = { id: String(20000 + issue.comments.length), ...bodyOf(req) };
      issue.comments.push(c);
      return json(res, 201, c);
    }
    const transitions = [
      { id: '21', name: 'Start Progress', to: { name: 'In Progress' } },
      { id: '31', name: 'Done', to: { name: 'Done' } },
    ];
    if (req.method === 'GET') return json(res, 200, { transitions });
    const t = transitions.find((x) => x.id === (bodyOf(req).transition as { id: string }).id);
    if (!t) return json(res, 400, { errorMessages: ['Transition id is not valid'], errors: {} });
    issue.status = t.to.name;
    res.writeHead(204).end();
  });
  return s.then((x) => ({ ...x, issues }));
}
