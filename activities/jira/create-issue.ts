import { defineActivity } from '../define.ts';
import { HttpError } from '../http-client.ts';
import { idempotencyTag, render } from '../template.ts';
import { adf, config, credential, type JiraConfig } from './connector.ts';

interface Input {
  summary: string;
  description?: string;
  severity?: string;
  priority?: string;
  projectKey?: string;
  issueType?: string;
  labels?: string[];
  fields?: Record<string, unknown>;
  data?: Record<string, unknown>;
}

interface Output {
  id: string;
  key: string;
  link: string;
  priority: string | null;
  created: boolean;
}

/**
 * POST /rest/api/3/issue. Idempotent: the issue carries the label `soar-<hash of the task's
 * idempotency key>`, and a retried or redelivered job finds it (POST /rest/api/3/search/jql) instead
 * of opening a second one.
 */
export default defineActivity<Input, Output, JiraConfig>({
  id: 'jira.createIssue',
  title: 'Jira: create issue',
  description: 'Creates an issue (Cloud REST v3) with the priority mapped from the alert severity; summary and description are handlebars templates.',
  config,
  credential,
  input: {
    type: 'object',
    required: ['summary'],
    properties: {
      summary: { type: 'string', title: 'Summary', minLength: 1, maxLength: 255, description: 'handlebars template' },
      description: { type: 'string', title: 'Description', description: 'handlebars template', 'x-multiline': true },
      severity: { type: 'string', title: 'Severity', enum: ['critical', 'high', 'medium', 'low'], description: 'mapped to a priority' },
      priority: { type: 'string', title: 'Priority', description: 'a Jira priority name; wins over severity' },
      projectKey: { type: 'string', title: 'Project key', pattern: '^[A-Z][A-Z0-9_]*$' },
      issueType: { type: 'string', title: 'Issue type' },
      labels: { type: 'array', title: 'Labels', items: { type: 'string', pattern: '^\\S+$' } },
      fields: { type: 'object', title: 'Other fields', description: 'e.g. {"customfield_10001": "A-1"}' },
      data: { type: 'object', title: 'Template data' },
    },
  },
  output: {
    type: 'object',
    required: ['id', 'key', 'link', 'created'],
    properties: { id: { type: 'string' }, key: { type: 'string' }, link: { type: 'string' }, priority: { type: ['string', 'null'] }, created: { type: 'boolean' } },
  },
  retry: { attempts: 5 },
  rateLimit: { max: 100, perMs: 60_000 },
  async run(input, ctx) {
    const label = `soar-${idempotencyTag(ctx.idempotencyKey, 24)}`;
    const link = (key: string) => `${ctx.config.baseUrl.replace(/\/+$/, '')}/browse/${key}`;
    const priority = input.priority ?? (input.severity ? (ctx.config.priorityMap[input.severity] ?? null) : null);

    const found = await ctx.http.request<{ issues?: Array<{ id: string; key: string }> }>({
      method: 'POST',
      path: '/rest/api/3/search/jql',
      json: { jql: `labels = "${label}"`, fields: ['summary'], maxResults: 1 },
    });
    const existing = found.body?.issues?.[0];
    if (existing) {
      ctx.logger.info('issue already opened by an earlier try', { key: existing.key });
      return { id: existing.id, key: existing.key, link: link(existing.key), priority, created: false };
    }

    const data = { ...input.data, ...input };
    const res = await ctx.http.request<{ id?: string; key?: string }>({
      method: 'POST',
      path: '/rest/api/3/issue',
      json: {
        fields: {
          project: { key: input.projectKey ?? ctx.config.projectKey },
          issuetype: { name: input.issueType ?? ctx.config.issueType },
          summary: render(input.summary, data),
          ...(input.description ? { description: adf(render(input.description, data)) } : {}),
          ...(priority ? { priority: { name: priority } } : {}),
          labels: [...(input.labels ?? []), label],
          ...input.fields,
        },
      },
    });
    if (!res.body?.key || !res.body.id) throw new HttpError('jira: the answer has no issue key', 'server', res.status);
    return { id: res.body.id, key: res.body.key, link: link(res.body.key), priority, created: true };
  },
});
