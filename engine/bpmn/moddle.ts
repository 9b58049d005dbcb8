import { BpmnModdle, type ModdlePackage, type ModdleTypeDescriptor } from 'bpmn-moddle';
import camundaPackage from 'camunda-bpmn-moddle/resources/camunda.json' with { type: 'json' };
import zeebePackage from 'zeebe-bpmn-moddle/resources/zeebe.json' with { type: 'json' };

/** The namespaces of BPMN 2.0, Camunda 7 (`camunda:*`) and Camunda 8 (`zeebe:*`). */
export const BPMN_NS = 'http://www.omg.org/spec/BPMN/20100524/MODEL';
export const CAMUNDA_NS = 'http://camunda.org/schema/1.0/bpmn';
export const ZEEBE_NS = 'http://camunda.org/schema/zeebe/1.0';

/**
 * Camunda 7 and Camunda 8 both add `modelerTemplate` and `modelerTemplateVersion` to
 * bpmn:Process, bpmn:Collaboration and bpmn:FlowElement. moddle keys extension properties by
 * local name, so with both packages loaded the first `<bpmn:process>` read fails, and in lax
 * mode the whole process is silently dropped. Camunda Modeler avoids it by loading one package
 * per diagram; we keep camunda's and drop zeebe's two (a `zeebe:modelerTemplate` attribute then
 * lands in `$attrs`; the engine never reads it).
 */
const CLASHING_ZEEBE_PROPERTIES = new Set(['modelerTemplate', 'modelerTemplateVersion']);

/** Attributes the reader reports as unknown only because of {@link CLASHING_ZEEBE_PROPERTIES}. */
export const DROPPED_PROPERTIES: ReadonlySet<string> = new Set([...CLASHING_ZEEBE_PROPERTIES].map((p) => `zeebe:${p}`));

function withoutClashes(pkg: ModdlePackage): ModdlePackage {
  const types: ModdleTypeDescriptor[] = pkg.types.map((t) =>
    t.name === 'TemplateSupported' && t.properties
      ? { ...t, properties: t.properties.filter((p) => !CLASHING_ZEEBE_PROPERTIES.has(p.name)) }
      : t,
  );
  return { ...pkg, types };
}

/**
 * The moddle extension packages every parse of a playbook uses: Camunda 7 (`camunda:*`) and
 * Camunda 8 (`zeebe:*`). Pass this object as bpmn-engine's `moddleOptions` so the runtime reads
 * exactly what validation read; without it bpmn-engine drops `camunda:topic` and `zeebe:*`.
 */
export const moddleOptions: Readonly<Record<'camunda' | 'zeebe', ModdlePackage>> = Object.freeze({
  camunda: camundaPackage,
  zeebe: withoutClashes(zeebePackage),
});

/** Namespaces with a descriptor: their elements and attributes are read, not kept as foreign. */
export const DESCRIBED_NAMESPACES: ReadonlySet<string> = new Set([
  BPMN_NS,
  'http://www.omg.org/spec/BPMN/20100524/DI',
  'http://www.omg.org/spec/DD/20100524/DC',
  'http://www.omg.org/spec/DD/20100524/DI',
  CAMUNDA_NS,
  ZEEBE_NS,
]);

/** A BPMN reader with {@link moddleOptions}. The reader keeps no per-document state: share it. */
export function createModdle(): BpmnModdle {
  return new BpmnModdle(moddleOptions);
}
