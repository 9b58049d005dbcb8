import type { ActivityContext, CredentialSpec, JsonSchema } from '../define.ts';

/** Jira Cloud: basic auth with the account's email and an API token (id.atlassian.com > Security > API tokens). */
export const credential: CredentialSpec = {
  name: 'jira',
  description: 'Atlassian account email and API token',
  fields: { email: { description: 'account email' }, apiToken: { description: 'API token' } },
  apply: (c) => ({ authorization: `Basic ${Buffer.from(`${c.email}:${c.apiToken}`).toString('base64')}` }),
};

export const config: JsonSchema = {
  type: 'object',
  required: ['baseUrl'],
  properties: {
    baseUrl: { type: 'string', format: 'uri', description: 'https://<site>.atlassian.net' },
    projectKey: { type: 'string', default: 'SEC', description: 'default project of new issues' },
    issueType: { type: 'string', default: 'Task', description: 'default issue type, e.g. "Security Incident"' },
    priorityMap: {
      type: 'object',
      additionalProperties: { type: 'string' },
      default: { critical: 'Highest', high: 'High', medium: 'Medium', low: 'Low' },
      description: 'alert severity -> Jira priority name',
    },
  },
};

export interface JiraConfig {
  baseUrl: string;
  projectKey: string;
  issueType: string;
  priorityMap: Record<string, string>;
}

export type Ctx = ActivityContext<JiraConfig>;

/** Plain text as an Atlassian Document (v3 takes descriptions and comments only in this format). */
export function adf(text: string): Record<string, unknown> {
  return {
    type: 'doc',
    version: 1,
    content: text.split(/\n{2,}/).map((para) => ({
      type: 'paragraph',
      content: para
        .split('\n')
        .flatMap((line, i) => [...(i ? [{ type: 'hardBreak' }] : []), ...(line ? [{ type: 'text', text: line }] : [])]),
    })),
  };
}

export const issueKeyProperty = { type: 'string', title: 'Issue key', pattern: '^[A-Z][A-Z0-9_]*-[0-9]+$' };
