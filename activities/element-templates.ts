import type { ActivityDefinition, JsonSchema } from './define.ts';
import { connectorOf } from './define.ts';
import { CONNECTORS } from './catalogue.ts';

/**
 * Camunda Modeler element templates generated from the activities' input schemas, so a playbook
 * author picks "VirusTotal: look up file hash" and fills typed fields:
 *  - Camunda 8: zeebe:taskDefinition type + one zeebe:input per input property;
 *  - Camunda 7: camunda:type="external" + camunda:topic + one camunda:inputParameter per property.
 * Enums become dropdowns, booleans checkboxes, objects and arrays FEEL (C8) or text fields.
 */
export type Platform = 'camunda8' | 'camunda7';

const SCHEMA: Record<Platform, string> = {
  camunda8: 'https://unpkg.com/@camunda/zeebe-element-templates-json-schema/resources/schema.json',
  camunda7: 'https://unpkg.com/@camunda/element-templates-json-schema/resources/schema.json',
};

type Prop = JsonSchema & { type?: string | string[]; enum?: unknown[]; title?: string; description?: string; default?: unknown; pattern?: string; 'x-multiline'?: boolean };

export function elementTemplates(activities: ActivityDefinition<Record<string, unknown>, unknown>[], platform: Platform): Array<Record<string, unknown>> {
  return activities.map((a) => {
    const input = (a.input ?? {}) as { properties?: Record<string, Prop>; required?: string[] };
    const required = new Set(input.required ?? []);
    const binding = platform === 'camunda8'
      ? [{ type: 'Hidden', value: a.id, binding: { type: 'zeebe:taskDefinition', property: 'type' } }]
      : [
          { type: 'Hidden', value: 'external', binding: { type: 'property', name: 'camunda:type' } },
          { type: 'Hidden', value: a.id, binding: { type: 'property', name: 'camunda:topic' } },
        ];
    const fields = Object.entries(input.properties ?? {}).map(([name, p]) => field(name, p, required.has(name), platform));
    const connector = connectorOf(a.id);
    return {
      $schema: SCHEMA[platform],
      name: a.title ?? a.id,
      id: `soar.${a.id}${platform === 'camunda7' ? '.c7' : ''}`,
      version: 1,
      description: a.description,
      category: { id: `soar.${connector}`, name: CONNECTORS[connector]?.title ?? connector },
      appliesTo: ['bpmn:Task'],
      elementType: { value: 'bpmn:ServiceTask' },
      ...(platform === 'camunda8' ? { engines: { camunda: '^8.3' } } : {}),
      groups: [{ id: 'input', label: 'Input' }],
      properties: [...binding, ...fields],
    };
  });
}

function field(name: string, p: Prop, required: boolean, platform: Platform): Record<string, unknown> {
  const types = Array.isArray(p.type) ? p.type : p.type ? [p.type] : [];
  const structured = types.includes('object') || types.includes('array') || types.length === 0;
  const base: Record<string, unknown> = {
    id: name,
    label: p.title ?? name,
    group: 'input',
    binding: platform === 'camunda8' ? { type: 'zeebe:input', name } : { type: 'camunda:inputParameter', name },
    ...(p.description ? { description: p.description } : {}),
    ...(!required ? { optional: true } : {}),
  };
  const constraints = { ...(required ? { notEmpty: true } : {}), ...(p.pattern && !structured ? { pattern: { value: p.pattern, message: `must match ${p.pattern}` } } : {}) };
  if (Object.keys(constraints).length) base.constraints = constraints;
  if (p.enum) {
    return { ...base, type: 'Dropdown', choices: p.enum.map((v) => ({ name: String(v), value: String(v) })), ...(p.default !== undefined ? { value: String(p.default) } : {}) };
  }
  if (types.includes('boolean') && platform === 'camunda8') return { ...base, type: 'Boolean', ...(p.default !== undefined ? { value: Boolean(p.default) } : {}) };
  if (structured) {
    // a structure is a reference or an expression: =alert (C8), ${alert} (C7)
    return { ...base, type: 'Text', ...(platform === 'camunda8' ? { feel: 'required' } : {}) };
  }
  const value = p.default !== undefined && typeof p.default !== 'object' ? { value: String(p.default) } : {};
  return { ...base, type: p['x-multiline'] ? 'Text' : 'String', ...(platform === 'camunda8' ? { feel: 'optional' } : {}), ...value };
}
