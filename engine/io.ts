/**
 * A service task's input, from the mappings the modelers write:
 * Camunda 7 `camunda:inputOutput` (inputParameter, with camunda:map / camunda:list values) and
 * Camunda 8 `zeebe:ioMapping` (input source -> target).
 *
 * Values are literals, or a reference to a variable: `${alert.severity}` (Camunda 7) or
 * `=alert.severity` (Camunda 8). A task with no mapping gets an empty input.
 */
export function taskInput(behaviour: Record<string, unknown>, variables: Record<string, unknown>): Record<string, unknown> {
  const input: Record<string, unknown> = {};
  const values = (behaviour.extensionElements as { values?: ExtensionElement[] } | undefined)?.values ?? [];
  for (const ext of values) {
    if (ext.$type === 'camunda:InputOutput') {
      for (const p of ext.inputParameters ?? []) {
        if (p.name) input[p.name] = camundaValue(p, variables);
      }
    } else if (ext.$type === 'zeebe:IoMapping') {
      for (const p of ext.inputParameters ?? []) {
        if (p.target) setPath(input, p.target, zeebeValue(p.source, variables));
      }
    }
  }
  return input;
}

interface ExtensionElement {
  $type: string;
  inputParameters?: Parameter[];
}
interface Parameter {
  name?: string;
  value?: string;
  source?: string;
  target?: string;
  definition?: Definition;
}
interface Definition {
  $type: string;
  value?: string;
  entries?: Array<{ key: string; value?: string; definition?: Definition }>;
  items?: Array<{ value?: string; definition?: Definition; $type?: string }>;
}

function camundaValue(p: { value?: string; definition?: Definition }, variables: Record<string, unknown>): unknown {
  const def = p.definition;
  if (def?.$type === 'camunda:Map') {
    return Object.fromEntries((def.entries ?? []).map((e) => [e.key, camundaValue(e, variables)]));
  }
  if (def?.$type === 'camunda:List') return (def.items ?? []).map((i) => camundaValue(i.definition ? { definition: i.definition } : i, variables));
  const text = def?.value ?? p.value;
  if (text === undefined) return null;
  const ref = /^\s*\$\{\s*([A-Za-z_][\w.]*)\s*\}\s*$/.exec(text);
  return ref?.[1] ? getPath(variables, ref[1]) : text;
}

function zeebeValue(source: string | undefined, variables: Record<string, unknown>): unknown {
  if (source === undefined) return null;
  const ref = /^=\s*([A-Za-z_][\w.]*)\s*$/.exec(source);
  if (ref?.[1]) return getPath(variables, ref[1]);
  if (source.startsWith('=')) {
    const literal = source.slice(1).trim();
    try {
      return JSON.parse(literal);
    } catch {
      return literal;
    }
  }
  return source;
}

function getPath(root: Record<string, unknown>, path: string): unknown {
  let v: unknown = root;
  for (const part of path.split('.')) {
    if (v === null || typeof v !== 'object' || !Object.hasOwn(v, part)) return null;
    v = (v as Record<string, unknown>)[part];
  }
  return v;
}

function setPath(root: Record<string, unknown>, path: string, value: unknown): void {
  const parts = path.split('.');
  let o = root;
  for (const part of parts.slice(0, -1)) {
    const next = o[part];
    o = (o[part] = next && typeof next === 'object' ? next : {}) as Record<string, unknown>;
  }
  o[parts[parts.length - 1]!] = value;
}
