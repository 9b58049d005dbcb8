import type { ExtensionElement, ServiceTaskLike } from './model.ts';

/** The task types that dispatch to a connector activity (bpmn-engine runs them all as service tasks). */
export const SERVICE_TASK_TYPES: ReadonlySet<string> = new Set(['bpmn:ServiceTask', 'bpmn:SendTask', 'bpmn:BusinessRuleTask']);

const LABELS: Readonly<Record<string, string>> = {
  'bpmn:ServiceTask': 'service task',
  'bpmn:SendTask': 'send task',
  'bpmn:BusinessRuleTask': 'business rule task',
};

const HOW_TO_BIND = 'set camunda:topic with camunda:type=external, or zeebe:taskDefinition type';

function extension(element: ServiceTaskLike, type: string): ExtensionElement | undefined {
  return element.extensionElements?.values?.find((v) => v.$type === type);
}

function nonEmpty(value: string | undefined): string | undefined {
  const trimmed = value?.trim();
  return trimmed ? trimmed : undefined;
}

function camundaTopic(element: ServiceTaskLike): string | undefined {
  return element.type === 'external' ? nonEmpty(element.topic) : undefined;
}

function zeebeType(element: ServiceTaskLike): string | undefined {
  return nonEmpty(extension(element, 'zeebe:TaskDefinition')?.type);
}

/**
 * The connector activity a service-like task names, or undefined: `camunda:topic` of a Camunda 7
 * external task (`camunda:type="external"`), else the `type` of a Camunda 8 `zeebe:taskDefinition`.
 * Works on a moddle element and on bpmn-engine's `activity.behaviour` alike.
 */
export function activityOf(element: ServiceTaskLike): string | undefined {
  return camundaTopic(element) ?? zeebeType(element);
}

/**
 * Why a service-like task cannot be dispatched, as reasons naming the task; empty when it names
 * a registered activity. `$type` picks the wording (service, send or business rule task).
 */
export function bindingProblems(element: ServiceTaskLike & { readonly $type: string }, hasActivity: (id: string) => boolean): string[] {
  const what = `${LABELS[element.$type] ?? 'task'} ${element.id ?? '(no id)'}`;
  const reasons: string[] = [];
  const code: Array<[string | undefined, string]> = [
    [element.class, 'camunda:class names a Java class'],
    [element.expression, 'camunda:expression is a JUEL expression'],
    [element.delegateExpression, 'camunda:delegateExpression names a Java delegate'],
    [extension(element, 'camunda:Connector') ? 'connector' : undefined, 'camunda:connector is a Camunda 7 Connect connector'],
    [element.decisionRef, 'camunda:decisionRef names a DMN decision'],
    [extension(element, 'zeebe:CalledDecision') ? 'decision' : undefined, 'zeebe:calledDecision names a DMN decision'],
  ];
  for (const [value, says] of code) {
    if (value !== undefined) reasons.push(`${what}: ${says}, which this engine does not run; ${HOW_TO_BIND}`);
  }

  if (element.type !== undefined && element.type !== 'external') {
    reasons.push(`${what}: camunda:type="${element.type}" is not supported; only camunda:type="external" (with camunda:topic) names a connector activity`);
  } else if (element.type === 'external' && !camundaTopic(element)) {
    reasons.push(`${what} is an external task with no camunda:topic`);
  } else if (element.type === undefined && nonEmpty(element.topic)) {
    reasons.push(`${what} sets camunda:topic without camunda:type="external"`);
  }

  const topic = camundaTopic(element);
  const zeebe = zeebeType(element);
  if (topic && zeebe && topic !== zeebe) {
    reasons.push(`${what} names two activities: camunda:topic "${topic}" and zeebe:taskDefinition type "${zeebe}"`);
  }
  const activity = topic ?? zeebe;
  if (activity === undefined) {
    if (reasons.length === 0) reasons.push(`${what} names no connector activity (${HOW_TO_BIND})`);
  } else if (activity.startsWith('=')) {
    reasons.push(`${what}: the zeebe:taskDefinition type "${activity}" is a FEEL expression; name the connector activity literally`);
  } else if (!hasActivity(activity)) {
    reasons.push(`${what} names the connector activity "${activity}", which is not registered`);
  }
  return reasons;
}
