import { defineActivity } from '../define.ts';
import { HttpError } from '../http-client.ts';
import { config, credential, issueKeyProperty, type JiraConfig } from './connector.ts';

interface Transition {
  id: string;
  name: string;
  to?: { name?: string };
}

/**
 * Moves an issue through its workflow: GET /rest/api/3/issue/{key}/transitions finds the transition
 * by name (or id, or target status), POST the same path applies it. An issue already in the target
 * status is left as it is (a retried job does not fail on its own earlier success).
 */
export default defineActivity<{ issueKey: string; transition: string }, { issueKey: string; transitionId: string | null; status: string }, JiraConfig>({
  id: 'jira.transitionIssue',
  title: 'Jira: transition issue',
  description: 'Applies a workflow transition to an issue, named by transition name, id or target status (e.g. "In Progress", "Done").',
  config,
  credential,
  input: {
    type: 'object',
    required: ['issueKey', 'transition'],
    properties: { issueKey: issueKeyProperty, transition: { type: 'string', title: 'Transition or status', minLength: 1 } },
  },
  output: {
    type: 'object',
    required: ['issueKey', 'status'],
    properties: { issueKey: { type: 'string' }, transitionId: { type: ['string', 'null'] }, status: { type: 'string' } },
  },
  retry: { attempts: 5 },
  rateLimit: { max: 100, perMs: 60_000 },
  async run(input, ctx) {
    const path = `/rest/api/3/issue/${input.issueKey}/transitions`;
    const want = input.transition.toLowerCase();
    const listed = await ctx.http.request<{ transitions?: Transition[] }>({ path });
    const all = listed.body?.transitions ?? [];
    const t = all.find((x) => x.id === input.transition || x.name.toLowerCase() === want || x.to?.name?.toLowerCase() === want);
    if (!t) {
      const issue = await ctx.http.request<{ fields?: { status?: { name?: string } } }>({ path: `/rest/api/3/issue/${input.issueKey}`, query: { fields: 'status' } });
      const status = issue.body?.fields?.status?.name ?? '';
      if (status.toLowerCase() === want) return { issueKey: input.issueKey, transitionId: null, status };
      throw new HttpError(`jira: ${input.issueKey} has no transition "${input.transition}" (available: ${all.map((x) => x.name).join(', ') || 'none'})`, 'client', 400);
    }
    await ctx.http.request({ method: 'POST', path, json: { transition: { id: t.id } } });
    return { issueKey: input.issueKey, transitionId: t.id, status: t.to?.name ?? t.name };
  },
});
