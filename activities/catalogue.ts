import type { ActivityDefinition } from './define.ts';
import abuseipdbCheckIp from './abuseipdb/check-ip.ts';
import emailSend from './email/send.ts';
import jiraAddComment from './jira/add-comment.ts';
import jiraCreateIssue from './jira/create-issue.ts';
import jiraTransitionIssue from './jira/transition-issue.ts';
import mispAddAttribute from './misp/add-attribute.ts';
import mispAddSighting from './misp/add-sighting.ts';
import mispCreateEvent from './misp/create-event.ts';
import mispSearchAttributes from './misp/search-attributes.ts';
import servicenowCreateIncident from './servicenow/create-incident.ts';
import servicenowGetIncident from './servicenow/get-incident.ts';
import servicenowUpdateIncident from './servicenow/update-incident.ts';
import slackPostMessage from './slack/post-message.ts';
import slackPostWebhook from './slack/post-webhook.ts';
import splunkSearch from './splunk/search.ts';
import splunkSendEvent from './splunk/send-event.ts';
import teamsPostCard from './teams/post-card.ts';
import virustotalLookupDomain from './virustotal/lookup-domain.ts';
import virustotalLookupHash from './virustotal/lookup-hash.ts';
import virustotalLookupIp from './virustotal/lookup-ip.ts';
import virustotalLookupUrl from './virustotal/lookup-url.ts';

/** What GET /connectors and the element templates say about each connector. */
export const CONNECTORS: Record<string, { title: string; description: string }> = {
  core: { title: 'Built-in', description: 'No-op, delay and generic HTTP requests (no auth, basic, bearer, API key).' },
  abuseipdb: { title: 'AbuseIPDB', description: 'IP reputation (API v2).' },
  email: { title: 'Email', description: 'Notifications over SMTP.' },
  jira: { title: 'Jira Cloud', description: 'Issues, comments and transitions (REST API v3).' },
  misp: { title: 'MISP', description: 'Threat intelligence sharing: attributes, sightings, events.' },
  servicenow: { title: 'ServiceNow', description: 'Incidents through the Table API.' },
  slack: { title: 'Slack', description: 'Messages with a bot token (chat.postMessage) or an incoming webhook.' },
  splunk: { title: 'Splunk', description: 'Events to the HTTP Event Collector; searches through the export endpoint.' },
  teams: { title: 'Microsoft Teams', description: 'Adaptive Cards to a channel webhook.' },
  virustotal: { title: 'VirusTotal', description: 'File, IP, domain and URL reports (API v3); 4 requests/minute, answers cached.' },
};

/** The connectors' actions, one file each under activities/<product>/. */
export const connectorActivities = [
  abuseipdbCheckIp,
  emailSend,
  jiraCreateIssue,
  jiraAddComment,
  jiraTransitionIssue,
  mispSearchAttributes,
  mispAddAttribute,
  mispAddSighting,
  mispCreateEvent,
  servicenowCreateIncident,
  servicenowUpdateIncident,
  servicenowGetIncident,
  slackPostMessage,
  slackPostWebhook,
  splunkSendEvent,
  splunkSearch,
  teamsPostCard,
  virustotalLookupHash,
  virustotalLookupIp,
  virustotalLookupDomain,
  virustotalLookupUrl,
] as unknown as ActivityDefinition<never, unknown, never>[];
