import type { ModdleElement } from 'bpmn-moddle';

// The shapes of the parsed BPMN elements this engine reads, as bpmn-moddle builds them with the
// descriptors of ./moddle.ts (camunda and zeebe properties appear as plain properties). Only what
// is read is typed; narrow with `is`.

export type { ModdleElement };

export interface BaseElement extends ModdleElement {
  readonly id?: string;
  readonly name?: string;
  readonly extensionElements?: ExtensionElements;
}

export interface ExtensionElements extends ModdleElement {
  readonly values?: readonly ExtensionElement[];
}

/** A child of `<extensionElements>`: `camunda:*`, `zeebe:*`, or a generic element of a foreign namespace. */
export interface ExtensionElement extends ModdleElement {
  /** zeebe:TaskDefinition's activity, or whatever a generic element carries. */
  readonly type?: string;
}

export interface Definitions extends BaseElement {
  readonly rootElements?: readonly BaseElement[];
}

export interface FlowElementsContainer extends BaseElement {
  readonly flowElements?: readonly BaseElement[];
  readonly artifacts?: readonly BaseElement[];
  readonly laneSets?: readonly BaseElement[];
}

export interface Process extends FlowElementsContainer {
  readonly isExecutable?: boolean;
}

export interface SubProcess extends FlowNode, FlowElementsContainer {
  readonly triggeredByEvent?: boolean;
}

export interface FlowNode extends BaseElement {
  readonly incoming?: readonly BaseElement[];
  readonly outgoing?: readonly BaseElement[];
  readonly isForCompensation?: boolean;
  readonly loopCharacteristics?: BaseElement;
}

export interface SequenceFlow extends BaseElement {
  readonly sourceRef?: BaseElement;
  readonly targetRef?: BaseElement;
  readonly conditionExpression?: FormalExpression;
}

export interface FormalExpression extends BaseElement {
  readonly language?: string;
  readonly body?: string;
}

export interface EventWithDefinitions extends FlowNode {
  readonly eventDefinitions?: readonly BaseElement[];
}

export interface BoundaryEvent extends EventWithDefinitions {
  readonly attachedToRef?: BaseElement;
}

export interface ScriptTask extends FlowNode {
  readonly scriptFormat?: string;
  readonly script?: string;
  /** camunda:resource: the script is loaded from elsewhere. */
  readonly resource?: string;
}

export interface CallActivity extends FlowNode {
  readonly calledElement?: string;
}

/**
 * A service-like task (bpmn:ServiceTask, bpmn:SendTask, bpmn:BusinessRuleTask) with the
 * Camunda 7 attributes that say what it runs. Also the shape of bpmn-engine's
 * `activity.behaviour`, which copies the element's properties.
 */
export interface ServiceTaskLike {
  readonly id?: string;
  /** camunda:type; `external` makes it an external task. */
  readonly type?: string;
  /** camunda:topic of an external task. */
  readonly topic?: string;
  /** camunda:class: a Java delegate. */
  readonly class?: string;
  /** camunda:expression: a JUEL expression. */
  readonly expression?: string;
  /** camunda:delegateExpression: a JUEL expression naming a Java delegate. */
  readonly delegateExpression?: string;
  /** camunda:decisionRef of a business rule task: a DMN decision. */
  readonly decisionRef?: string;
  readonly extensionElements?: { readonly values?: readonly ExtensionElement[] };
}

/** Whether a moddle element is of a type, subtypes included (e.g. `bpmn:FlowNode`). */
export function instanceOf(element: ModdleElement | undefined, type: string): boolean {
  return element !== undefined && typeof element.$instanceOf === 'function' && element.$instanceOf(type);
}

/** {@link instanceOf} that narrows to the shape `T` of that type. */
export function is<T extends ModdleElement>(element: ModdleElement | undefined, type: string): element is T {
  return instanceOf(element, type);
}

/** The flow elements and artifacts directly in a process or subprocess. */
export function contentsOf(container: FlowElementsContainer): BaseElement[] {
  return [...(container.flowElements ?? []), ...(container.artifacts ?? [])];
}
