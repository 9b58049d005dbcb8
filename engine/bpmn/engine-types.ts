/**
 * The BPMN element types bpmn-engine 25 (bpmn-elements 17) can load. Loading a definitions file
 * gives every root element, flow element, artifact, event definition, loop characteristic and
 * lane a behaviour looked up by type name (moddle-context-serializer's TypeResolver), and
 * throws `Unknown activity type bpmn:X` for any other type, e.g. bpmn:ItemDefinition or
 * bpmn:ComplexGateway, even in a process that never runs.
 *
 * MUST match the runtime: when the runtime registers more behaviours through bpmn-engine's
 * `elements` option (e.g. a no-op for bpmn:ItemDefinition), add them here. The corpus test
 * loads every file this validator accepts into bpmn-engine to catch drift.
 */
export const ENGINE_ELEMENT_TYPES: ReadonlySet<string> = new Set(
  [
    'AdHocSubProcess',
    'Association',
    'BoundaryEvent',
    'BusinessRuleTask',
    'CallActivity',
    'CancelEventDefinition',
    'Category',
    'CompensateEventDefinition',
    'ConditionalEventDefinition',
    'DataObject',
    'DataObjectReference',
    'DataStore',
    'DataStoreReference',
    'EndEvent',
    'Error',
    'ErrorEventDefinition',
    'Escalation',
    'EscalationEventDefinition',
    'EventBasedGateway',
    'ExclusiveGateway',
    'Group',
    'InclusiveGateway',
    'InputOutputSpecification',
    'IntermediateCatchEvent',
    'IntermediateThrowEvent',
    'Lane',
    'LinkEventDefinition',
    'ManualTask',
    'Message',
    'MessageEventDefinition',
    'MessageFlow',
    'MultiInstanceLoopCharacteristics',
    'ParallelGateway',
    'Process',
    'ReceiveTask',
    'ScriptTask',
    'SendTask',
    'SequenceFlow',
    'ServiceTask',
    'Signal',
    'SignalEventDefinition',
    'StandardLoopCharacteristics',
    'StartEvent',
    'SubProcess',
    'Task',
    'TerminateEventDefinition',
    'TextAnnotation',
    'TimerEventDefinition',
    'Transaction',
    'UserTask',
  ].map((name) => `bpmn:${name}`),
);
