import type { ModdleElement } from 'bpmn-moddle';
import type { Findings } from './findings.ts';
import type { BaseElement } from './model.ts';
import { DESCRIBED_NAMESPACES, moddleOptions } from './moddle.ts';
import type { ParsedBpmn } from './parse.ts';

/** Namespaces of modeler metadata (colours, target platform) that need no warning. */
const HARMLESS_NAMESPACES: ReadonlySet<string> = new Set([
  'http://www.w3.org/2001/XMLSchema-instance',
  'http://bpmn.io/schema/bpmn/biocolor/1.0',
  'http://www.omg.org/spec/BPMN/non-normative/color/1.0',
  'http://camunda.org/schema/modeler/1.0',
]);

const DIAGRAM_TYPE = /^(?:bpmndi|di|dc):/;
const EXAMPLES = 3;

function namespaceOf(element: ModdleElement, prefix: string): string | undefined {
  for (let e: ModdleElement | undefined = element; e; e = e.$parent) {
    const uri = e.$attrs?.[`xmlns:${prefix}`];
    if (uri) return uri;
  }
  return undefined;
}

/**
 * Warns, once per namespace, about attributes and extension elements of namespaces without a
 * descriptor: the reader keeps them aside and nothing runs them. Diagram elements and modeler
 * metadata are left alone. Also warns when a known prefix (e.g. `camunda`) is bound to another
 * namespace, which makes the reader ignore everything written with it.
 */
export function warnForeignExtensions(parsed: ParsedBpmn, findings: Findings): void {
  const definitionsId = parsed.definitions.id ?? 'definitions';
  for (const [pkgName, pkg] of Object.entries(moddleOptions)) {
    const declared = parsed.definitions.$attrs?.[`xmlns:${pkg.prefix}`];
    if (declared && declared !== pkg.uri) {
      findings.warn(
        definitionsId,
        `xmlns:${pkg.prefix} is bound to ${declared}, not ${pkg.uri}: ${pkg.prefix}:* attributes and elements are not read as ${pkgName} extensions`,
      );
    }
  }

  const byNamespace = new Map<string, { element: string; examples: string[]; count: number }>();
  const note = (uri: string | undefined, element: string, example: string): void => {
    const key = uri ?? 'undeclared';
    if (HARMLESS_NAMESPACES.has(key) || DESCRIBED_NAMESPACES.has(key)) return;
    const seen = byNamespace.get(key);
    if (!seen) byNamespace.set(key, { element, examples: [example], count: 1 });
    else {
      seen.count += 1;
      if (seen.examples.length < EXAMPLES) seen.examples.push(example);
    }
  };

  const elements = new Set<ModdleElement>([parsed.definitions, ...Object.values(parsed.elementsById)]);
  for (const element of elements) {
    if (DIAGRAM_TYPE.test(element.$type)) continue;
    const id = (element as BaseElement).id ?? definitionsId;
    for (const name of Object.keys(element.$attrs ?? {})) {
      const colon = name.indexOf(':');
      if (colon === -1 || name.startsWith('xmlns') || name.startsWith('xml:')) continue;
      const prefix = name.slice(0, colon);
      note(namespaceOf(element, prefix) ?? `(prefix ${prefix})`, id, `${name} on ${id}`);
    }
    for (const ext of (element as BaseElement).extensionElements?.values ?? []) {
      if (!ext.$descriptor?.isGeneric) continue;
      const prefix = ext.$type.split(':')[0] ?? '';
      note(ext.$descriptor.ns?.uri ?? namespaceOf(element, prefix), id, `<${ext.$type}> in ${id}`);
    }
  }

  for (const [uri, seen] of byNamespace) {
    const more = seen.count > seen.examples.length ? ` and ${seen.count - seen.examples.length} more` : '';
    findings.warn(seen.element, `extensions of namespace ${uri} are ignored: ${seen.examples.join(', ')}${more}`);
  }
}
