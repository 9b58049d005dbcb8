import type { ParseReference } from 'bpmn-moddle';
import { ENGINE_ELEMENT_TYPES } from './engine-types.ts';
import type { Findings } from './findings.ts';
import {
  contentsOf,
  instanceOf,
  is,
  type BaseElement,
  type Definitions,
  type EventWithDefinitions,
  type FlowElementsContainer,
  type FlowNode,
  type Process,
  type SequenceFlow,
  type SubProcess,
} from './model.ts';

interface Collaboration extends BaseElement {
  readonly messageFlows?: readonly BaseElement[];
  readonly artifacts?: readonly BaseElement[];
}

interface Participant extends BaseElement {
  readonly processRef?: BaseElement;
}

interface ResourceRole extends BaseElement {
  readonly resourceAssignmentExpression?: BaseElement;
}

const FLOW_TYPES = ['bpmn:SequenceFlow', 'bpmn:Association', 'bpmn:MessageFlow'];

/**
 * Checks what bpmn-engine 25 needs to load a file at all (moddle-context-serializer maps every
 * process of it, executable or not, and throws on what it cannot map): element types it has a
 * behaviour for, flows with both ends, message flows it can place, resource roles with an
 * assignment expression.
 */
export function checkLoadable(definitions: Definitions, references: readonly ParseReference[], findings: Findings): void {
  new LoadCheck(definitions, references, findings).run();
}

class LoadCheck {
  readonly #definitions: Definitions;
  readonly #references: readonly ParseReference[];
  readonly #findings: Findings;
  readonly #flows: BaseElement[] = [];

  constructor(definitions: Definitions, references: readonly ParseReference[], findings: Findings) {
    this.#definitions = definitions;
    this.#references = references;
    this.#findings = findings;
  }

  run(): void {
    for (const root of this.#definitions.rootElements ?? []) {
      if (is<Collaboration>(root, 'bpmn:Collaboration')) {
        this.#flows.push(...(root.messageFlows ?? []));
        continue;
      }
      this.#checkType(root, 'definitions');
      if (is<Process>(root, 'bpmn:Process')) {
        this.#checkResources(root);
        this.#checkContainer(root);
      }
    }
    this.#checkFlowEnds();
  }

  #checkContainer(container: FlowElementsContainer): void {
    const owner = container.id ?? 'definitions';
    for (const element of contentsOf(container)) {
      this.#checkType(element, owner);
      this.#checkResources(element);
      if (FLOW_TYPES.some((t) => instanceOf(element, t))) this.#flows.push(element);
      const id = element.id ?? owner;
      for (const d of (element as EventWithDefinitions).eventDefinitions ?? []) this.#checkType(d, id);
      const loop = (element as FlowNode).loopCharacteristics;
      if (loop) this.#checkType(loop, id);
      if (is<SubProcess>(element, 'bpmn:SubProcess')) this.#checkContainer(element);
    }
  }

  /** Every element gets a behaviour by type name; a type without one throws `Unknown activity type`. */
  #checkType(element: BaseElement, owner: string): void {
    if (ENGINE_ELEMENT_TYPES.has(element.$type)) return;
    const what = element.id ? element.id : `a ${element.$type} in ${owner}`;
    this.#findings.problem(
      element.id ?? owner,
      `${what} is a ${element.$type}, which the engine does not support (bpmn-engine cannot load a file that contains one)`,
    );
  }

  /** The serializer reads `resourceAssignmentExpression.expression` of every resource role unguarded. */
  #checkResources(element: BaseElement): void {
    const resources = (element as BaseElement & { resources?: readonly ResourceRole[] }).resources ?? [];
    for (const r of resources) {
      if (r.resourceAssignmentExpression) continue;
      const id = element.id ?? 'definitions';
      this.#findings.problem(r.id ?? id, `the ${r.$type} of ${id} has no resourceAssignmentExpression, which bpmn-engine needs to load it`);
    }
  }

  /** The serializer reads flow ends from the reader's references and throws on a flow without them. */
  #checkFlowEnds(): void {
    const referenced = new Set(this.#references.map((r) => `${(r.element as BaseElement).id ?? ''}\u0000${r.property}`));
    for (const flow of this.#flows) {
      const f = flow as SequenceFlow;
      const id = f.id ?? 'definitions';
      for (const end of ['sourceRef', 'targetRef'] as const) {
        const target = f[end];
        if (!target) {
          if (!referenced.has(`${id}\u0000bpmn:${end}`)) this.#findings.problem(id, `${f.$type} ${id} has no ${end}`);
        } else if (instanceOf(f, 'bpmn:MessageFlow')) {
          this.#checkMessageFlowEnd(id, end, target);
        }
      }
    }
  }

  /**
   * The serializer places a message flow end as a pool with a process, a process, or a flow node
   * directly in a process, searching processes in order and reading each one's flowElements.
   */
  #checkMessageFlowEnd(flowId: string, end: string, target: BaseElement): void {
    const targetId = target.id ?? '?';
    if (instanceOf(target, 'bpmn:Participant')) {
      if (!(target as Participant).processRef) {
        this.#findings.problem(flowId, `message flow ${flowId} connects pool ${targetId} (${end}), which has no process; bpmn-engine cannot load message flows to empty pools`);
      }
      return;
    }
    if (instanceOf(target, 'bpmn:Process')) return;
    for (const root of this.#definitions.rootElements ?? []) {
      if (!is<Process>(root, 'bpmn:Process')) continue;
      if (!root.flowElements) {
        this.#findings.problem(flowId, `message flow ${flowId} cannot be placed by bpmn-engine: process ${root.id ?? '?'} has no flow elements`);
        return;
      }
      if (root.flowElements.some((e) => e.id === targetId)) return;
    }
    this.#findings.problem(flowId, `message flow ${flowId} connects ${targetId} (${end}), which is not directly in a process (e.g. inside a subprocess); bpmn-engine cannot load it`);
  }
}
