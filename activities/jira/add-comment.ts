import { defineActivity } from '../define.ts';
import { HttpError } from '../http-client.ts';
import { idempotencyTag, render } from '../template.ts';
import { adf, config, credential, issueKeyProperty, type JiraConfig } from './connector.ts';

const PROPERTY = 'soar.idempotency';

/**
 * POST /rest/api/3/issue/{key}/comment. Idempotent: the comment carries the entity property
 * `soar.idempotency`, and a retry first looks for it among the issue's comments (expand=properties).
 */
export default defineActivity<{ issueKey: string; body: string; data?: Record<string, unknown> }, { id: string; issueKey: string; created: boolean }, JiraConfig>({
  id: 'jira.addComment',
  title: 'Jira: add comment',
  description: 'Adds a comment to an issue; the body is a handlebars template.',
  config,
  credential,
  input: {
    type: 'object',
    required: ['issueKey', 'body'],
    properties: {
      issueKey: issueKeyProperty,
      body: { type: 'string', title: 'Comment', minLength: 1, description: 'handlebars template', 'x-multiline': true },
      data: { type: 'object', title: 'Template data' },
    },
  },
  output: { type: 'object', required: ['id', 'issueKey', 'created'], properties: { id: { type: 'string' }, issueKey: { type: 'string' }, created: { type: 'boolean' } } },
  retry: { attempts: 5 },
  rateLimit: { max: 100, perMs: 60_000 },
  async run(input, ctx) {
    const tag = idempotencyTag(ctx.idempotencyKey);
    const path = `/rest/api/3/issue/${input.issueKey}/comment`;
    const listed = await ctx.http.request<{ comments?: Array<{ id: string; properties?: Array<{ key: string; value?: { key?: string } }> }> }>({
      path,
      query: { expand: 'properties', orderBy: '-created', maxResults: 100 },
    });
    const mine = listed.body?.comments?.find((c) => c.properties?.some((p) => p.key === PROPERTY && p.value?.key === tag));
    if (mine) return { id: mine.id, issueKey: input.issueKey, created: false };
    const res = await ctx.http.request<{ id?: string }>({
      method: 'POST',
      path,
      json: { body: adf(render(input.body, { ...input.data, ...input })), properties: [{ key: PROPERTY, value: { key: tag } }] },
    });
    if (!res.body?.id) throw new HttpError('jira: the answer has no comment id', 'server', res.status);
    return { id: res.body.id, issueKey: input.issueKey, created: true };
  },
});
