import { describeProcess, type ProcessShape } from './describe.ts';
import { expressionProblem, type ExpressionSite } from './expressions.ts';
import { Findings, type Problem } from './findings.ts';
import { warnForeignExtensions } from './foreign-extensions.ts';
import { checkLoadable } from './loadable.ts';
import {
  contentsOf,
  instanceOf,
  is,
  type BaseElement,
  type CallActivity,
  type EventWithDefinitions,
  type FlowElementsContainer,
  type FlowNode,
  type Process,
  type ScriptTask,
  type SequenceFlow,
  type ServiceTaskLike,
  type SubProcess,
} from './model.ts';
import { parseBpmn, type ParsedBpmn } from './parse.ts';
import { SERVICE_TASK_TYPES, activityOf, bindingProblems } from './task-binding.ts';
import { mappingSites } from '../io.ts';

export type { Problem };
export { activityOf };

/** A service-like task of the deployed process and the connector activity it dispatches to. */
export interface TaskBinding {
  id: string;
  name?: string;
  /** e.g. `bpmn:ServiceTask` */
  type: string;
  activity: string;
}

/** The executable process a deployment runs. */
export interface ProcessInfo {
  /** The process id: the workflow key. */
  id: string;
  name?: string;
  /** Every service-like task the process may run that names an activity, called processes included. */
  tasks: TaskBinding[];
  /** Waits, user tasks, start events and calls of other workflows (see describe.ts). */
  shape: ProcessShape;
}

export interface ValidationResult {
  /** No problems. */
  ok: boolean;
  /** Fatal: the playbook is rejected. */
  problems: Problem[];
  /** Returned to the author, not fatal. */
  warnings: Problem[];
  /** The executable process this deployment runs (its id is the workflow key), when there is one. */
  process?: ProcessInfo;
}

export interface ValidateOptions {
  /** Whether a connector activity id is registered. */
  hasActivity(id: string): boolean;
}

/** Extension elements naming listener code: Java, JUEL, scripts or job workers that never run here. */
const LISTENERS: ReadonlyMap<string, string> = new Map([
  ['camunda:ExecutionListener', 'camunda:executionListener'],
  ['camunda:TaskListener', 'camunda:taskListener'],
  ['zeebe:ExecutionListeners', 'zeebe:executionListeners'],
  ['zeebe:TaskListeners', 'zeebe:taskListeners'],
]);

function idOf(element: BaseElement | undefined, fallback: string): string {
  return element?.id || fallback;
}

/** A value bpmn-engine resolves itself (synchronously): a literal, or a variable reference. */
const REFERENCE = /^\s*(?:\$\{\s*[A-Za-z_$][\w$]*(?:\.[A-Za-z_$][\w$]*)*\s*\}|=\s*[A-Za-z_$][\w$]*(?:\.[A-Za-z_$][\w$]*)*)\s*$/;
const isReferenceOrLiteral = (text: string) => REFERENCE.test(text) || (!text.includes('${') && !text.trim().startsWith('='));

type Formal = { body?: string } | undefined;

/**
 * Values the runtime cannot evaluate, as reasons: timer values, multi-instance collections,
 * cardinalities and completion conditions must be literals or variable references (`${alert.iocs}`,
 * `=alert.iocs`); conditional events and loops with conditions are not run.
 */
function valueProblems(element: BaseElement, id: string): string[] {
  const reasons: string[] = [];
  const defs = ((element as EventWithDefinitions).eventDefinitions ?? []) as Array<BaseElement & { timeDuration?: Formal; timeDate?: Formal; timeCycle?: Formal }>;
  for (const d of defs) {
    if (instanceOf(d, 'bpmn:ConditionalEventDefinition')) reasons.push(`${id} is a conditional event, which this engine does not run; decide with a gateway condition instead`);
    for (const key of ['timeDuration', 'timeDate', 'timeCycle'] as const) {
      const body = d[key]?.body?.trim();
      if (body !== undefined && !isReferenceOrLiteral(body)) {
        reasons.push(`the ${key} of ${id} (${body}) must be an ISO 8601 value or a variable reference such as \${sla.duration} or =sla.duration; compute other values in a script task first`);
      }
    }
  }
  const loop = (element as { loopCharacteristics?: BaseElement & Record<string, unknown> }).loopCharacteristics;
  if (loop && instanceOf(loop, 'bpmn:StandardLoopCharacteristics')) {
    reasons.push(`${id} has a standard loop, which this engine does not run; use a multi-instance loop over a collection instead`);
  } else if (loop) {
    const checks: Array<[string, string | undefined]> = [
      ['camunda:collection', loop.collection as string | undefined],
      ['loopCardinality', (loop.loopCardinality as Formal)?.body],
      ['completionCondition', (loop.completionCondition as Formal)?.body],
    ];
    const zeebe = (loop.extensionElements as { values?: Array<{ $type: string; inputCollection?: string }> } | undefined)?.values?.find((v) => v.$type === 'zeebe:LoopCharacteristics');
    if (zeebe) checks.push(['zeebe:loopCharacteristics inputCollection', zeebe.inputCollection]);
    for (const [what, text] of checks) {
      if (text !== undefined && !REFERENCE.test(text) && !(what === 'loopCardinality' && /^\s*\d+\s*$/.test(text))) {
        reasons.push(`the ${what} of ${id} (${text}) must be a variable reference such as \${alert.iocs} or =alert.iocs; compute other values in a script task first`);
      }
    }
  }
  return reasons;
}

/** Checks the process a deployment runs, and what it calls; one instance per validation. */
class Checker {
  readonly #parsed: ParsedBpmn;
  readonly #findings: Findings;
  readonly #hasActivity: (id: string) => boolean;

  constructor(parsed: ParsedBpmn, findings: Findings, hasActivity: (id: string) => boolean) {
    this.#parsed = parsed;
    this.#findings = findings;
    this.#hasActivity = hasActivity;
  }

  run(): ProcessInfo | undefined {
    const roots = this.#parsed.definitions.rootElements ?? [];
    checkLoadable(this.#parsed.definitions, this.#parsed.references, this.#findings);
    warnForeignExtensions(this.#parsed, this.#findings);

    const processes = roots.filter((r): r is Process => is<Process>(r, 'bpmn:Process'));
    const executable = processes.filter((p) => p.isExecutable === true);
    const main = executable[0];
    if (!main) {
      if (processes.length === 0) this.#findings.problem('definitions', 'the definitions contain no process');
      for (const p of processes) {
        this.#findings.problem(idOf(p, 'definitions'), `process ${idOf(p, '(no id)')} is not executable (isExecutable is not true)`);
      }
      return undefined;
    }
    const mainId = idOf(main, 'definitions');
    for (const other of executable.slice(1)) {
      this.#findings.warn(
        idOf(other, 'definitions'),
        `process ${idOf(other, '(no id)')} is also executable but is not run: a deployment runs its first executable process, ${mainId}`,
      );
    }
    this.#checkStartable(main, mainId);
    const tasks = this.#checkRunnable(main, processes);
    return { id: mainId, ...(main.name ? { name: main.name } : {}), tasks, shape: describeProcess(this.#parsed.definitions, mainId) };
  }

  /** bpmn-elements starts a process at every flow node without inbound triggers. */
  #checkStartable(process: Process, id: string): void {
    const elements = process.flowElements ?? [];
    const nodes = elements.filter((e): e is FlowNode => is<FlowNode>(e, 'bpmn:FlowNode'));
    if (nodes.length === 0) {
      this.#findings.problem(id, `process ${id} has no flow nodes`);
      return;
    }
    const targets = new Set<BaseElement>();
    for (const e of elements) {
      const target = is<SequenceFlow>(e, 'bpmn:SequenceFlow') ? e.targetRef : undefined;
      if (target) targets.add(target);
    }
    const startable = nodes.some(
      (n) =>
        !targets.has(n) &&
        !instanceOf(n, 'bpmn:BoundaryEvent') &&
        n.isForCompensation !== true &&
        !(is<SubProcess>(n, 'bpmn:SubProcess') && n.triggeredByEvent === true),
    );
    if (!startable) {
      this.#findings.problem(id, `process ${id} has no start event or other node without an incoming sequence flow, so nothing can start it`);
    }
  }

  /** What runs: the main process and the processes its call activities call. */
  #checkRunnable(main: Process, processes: readonly Process[]): TaskBinding[] {
    const byId = new Map(processes.filter((p) => p.id).map((p) => [p.id as string, p]));
    const tasks: TaskBinding[] = [];
    const queue: Process[] = [main];
    const visited = new Set<Process>(queue);
    for (let p = queue.shift(); p; p = queue.shift()) {
      this.#warnListeners(p);
      this.#checkRunnableContainer(p, tasks, (calledId) => {
        const called = byId.get(calledId);
        if (called && !visited.has(called)) {
          visited.add(called);
          queue.push(called);
        }
        return called !== undefined;
      });
    }
    return tasks;
  }

  #checkRunnableContainer(container: FlowElementsContainer, tasks: TaskBinding[], call: (processId: string) => boolean): void {
    const owner = idOf(container, 'definitions');
    for (const element of contentsOf(container)) {
      const id = idOf(element, owner);
      this.#warnListeners(element);
      for (const reason of valueProblems(element, id)) this.#findings.problem(id, reason);
      for (const site of mappingSites(element, id)) this.#expression(site);
      if (SERVICE_TASK_TYPES.has(element.$type)) {
        const task = element as BaseElement & ServiceTaskLike;
        for (const reason of bindingProblems(task, this.#hasActivity)) this.#findings.problem(id, reason);
        const activity = activityOf(task);
        if (activity) tasks.push({ id, ...(element.name ? { name: element.name } : {}), type: element.$type, activity });
      } else if (is<ScriptTask>(element, 'bpmn:ScriptTask')) {
        const zeebe = element.extensionElements?.values?.find((v) => v.$type === 'zeebe:Script') as { expression?: string } | undefined;
        if (zeebe) this.#expression({ kind: 'mapping', element: id, syntax: 'zeebe', what: 'zeebe:script expression', body: zeebe.expression });
        else this.#expression({ kind: 'script', element: id, language: element.scriptFormat, body: element.script });
      } else if (is<SequenceFlow>(element, 'bpmn:SequenceFlow') && element.conditionExpression) {
        const c = element.conditionExpression;
        this.#expression({ kind: 'condition', element: id, language: c.language, body: c.body });
      } else if (is<CallActivity>(element, 'bpmn:CallActivity')) {
        const zeebe = element.extensionElements?.values?.find((v) => v.$type === 'zeebe:CalledElement') as { processId?: string } | undefined;
        const called = element.calledElement?.trim() || zeebe?.processId?.trim();
        if (!called) this.#findings.problem(id, `call activity ${id} names no process to call (calledElement)`);
        else if (called.startsWith('=') || called.includes('${')) {
          this.#findings.problem(id, `call activity ${id} names the process to call with an expression (${called}); name the workflow key literally`);
        } else call(called); // a process of this file runs inline; any other key is a deployed workflow, checked at deploy
      } else if (is<EventWithDefinitions>(element, 'bpmn:ThrowEvent')) {
        this.#warnEventBinding(element, id);
      }
      if (is<SubProcess>(element, 'bpmn:SubProcess')) this.#checkRunnableContainer(element, tasks, call);
    }
  }

  #expression(site: ExpressionSite): void {
    const reason = expressionProblem(site);
    if (reason) this.#findings.problem(site.element, reason);
  }

  /** Camunda lets message throw events name a worker; here only tasks dispatch to connectors. */
  #warnEventBinding(event: EventWithDefinitions, id: string): void {
    const message = event.eventDefinitions?.find((d) => instanceOf(d, 'bpmn:MessageEventDefinition')) as ServiceTaskLike | undefined;
    const activity = activityOf(event as ServiceTaskLike) ?? (message ? activityOf(message) : undefined);
    if (activity) {
      this.#findings.warn(id, `${id} names the connector activity "${activity}", but only service, send and business rule tasks dispatch to connectors; it is ignored`);
    }
  }

  #warnListeners(element: BaseElement): void {
    const names = new Set<string>();
    for (const ext of element.extensionElements?.values ?? []) {
      const name = LISTENERS.get(ext.$type);
      if (name) names.add(name);
    }
    if (names.size === 0) return;
    const id = idOf(element, 'definitions');
    this.#findings.warn(id, `${[...names].join(' and ')} on ${id} ${names.size > 1 ? 'are' : 'is'} ignored: this engine runs no listeners`);
  }
}

/**
 * Checks a playbook at deploy time: parses the BPMN XML with the camunda and zeebe descriptors,
 * finds the executable process it runs, and checks that bpmn-engine can load it and that every
 * service-like task names a registered connector activity. Never throws: bad input is a result.
 */
export async function validateBpmn(xml: string, opts: ValidateOptions): Promise<ValidationResult> {
  const text = typeof xml === 'string' ? xml : '';
  const findings = new Findings(text);
  let process: ProcessInfo | undefined;
  try {
    if (typeof xml !== 'string') findings.problem('definitions', `the playbook must be XML text, not ${typeof xml}`);
    else {
      const parsed = await parseBpmn(xml, findings);
      if (parsed) process = new Checker(parsed, findings, (id) => opts.hasActivity(id)).run();
    }
  } catch (err) {
    findings.problem('definitions', `the playbook could not be checked: ${err instanceof Error ? err.message : String(err)}`);
  }
  return {
    ok: findings.problems.length === 0,
    problems: findings.problems,
    warnings: findings.warnings,
    ...(process ? { process } : {}),
  };
}
