import type { FormField } from '../ports.ts';
import { contentsOf, instanceOf, is, type BaseElement, type CallActivity, type EventWithDefinitions, type ExtensionElement, type FlowElementsContainer, type Process, type SubProcess } from './model.ts';

/** A message or signal an activity waits for. */
export interface CatchPoint {
  kind: 'message' | 'signal';
  /** The id of the BPMN message or signal element (what bpmn-engine is signalled with). */
  refId: string;
  /** Its name: what the API correlates by. */
  name: string;
  /** Camunda 8 `zeebe:subscription correlationKey`: a variable reference such as `=alert.id`. */
  correlationKey?: string;
}

export interface UserTaskInfo {
  assignee?: string;
  candidateGroups: string[];
  candidateUsers: string[];
  form: FormField[];
}

export interface StartEventInfo {
  id: string;
  kind: 'none' | 'message' | 'signal' | 'timer' | 'other';
  /** Message or signal name. */
  name?: string;
  refId?: string;
  timer?: { cycle?: string; date?: string; duration?: string };
}

/** A call activity that calls another deployed workflow (not a process of the same file). */
export interface ExternalCall {
  key: string;
  /** A pinned version (camunda:calledElementBinding="version"), else the latest. */
  version?: number;
}

/** What the runtime needs to know of a process beyond what bpmn-engine runs by itself. */
export interface ProcessShape {
  /** activity id -> what it waits for (catch events, boundary events, receive tasks). */
  catches: Map<string, CatchPoint>;
  userTasks: Map<string, UserTaskInfo>;
  /** Top-level start events of the process. */
  starts: StartEventInfo[];
  /** Message and signal element ids by name. */
  messagesByName: Map<string, string[]>;
  signalsByName: Map<string, string[]>;
  externalCalls: Map<string, ExternalCall>;
  /** activity id -> the id of the process or subprocess it sits in */
  parentOf: Map<string, string>;
  /** activity id -> the error codes its error boundary events catch (null: any error) */
  errorBoundaries: Map<string, Array<string | null>>;
  /** Error event subprocesses: the scope they interrupt and the error code their start catches (null: any). */
  errorSubprocesses: Array<{ scopeId: string; subprocessId: string; startId: string; code: string | null; refId: string | null }>;
}

const list = (v: string | undefined): string[] =>
  (v ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);

function ext(element: BaseElement, type: string): (ExtensionElement & Record<string, unknown>) | undefined {
  return element.extensionElements?.values?.find((v) => v.$type === type) as (ExtensionElement & Record<string, unknown>) | undefined;
}

type Ref = BaseElement & { name?: string };
type EventDef = BaseElement & { messageRef?: Ref; signalRef?: Ref; timeCycle?: { body?: string }; timeDate?: { body?: string }; timeDuration?: { body?: string } };

function catchOf(element: BaseElement): CatchPoint | undefined {
  const defs = (element as EventWithDefinitions).eventDefinitions as EventDef[] | undefined;
  const def = defs?.[0];
  const ref: Ref | undefined = def?.messageRef ?? def?.signalRef ?? (element as { messageRef?: Ref }).messageRef;
  if (!ref?.id) return undefined;
  const kind = def?.signalRef ? 'signal' : 'message';
  const key = kind === 'message' ? (ext(ref, 'zeebe:Subscription')?.correlationKey as string | undefined) : undefined;
  return { kind, refId: ref.id, name: ref.name?.trim() || ref.id, ...(key ? { correlationKey: key } : {}) };
}

function formOf(element: BaseElement): FormField[] {
  const data = ext(element, 'camunda:FormData') as { fields?: Array<Record<string, unknown>> } | undefined;
  return (data?.fields ?? []).map((f) => {
    const constraints = ((f.validation as { constraints?: Array<{ name?: string }> } | undefined)?.constraints ?? []).map((c) => c.name);
    const values = (f.values as Array<{ id?: string; name?: string }> | undefined)?.filter((v) => v.id).map((v) => ({ id: v.id!, ...(v.name ? { name: v.name } : {}) }));
    return {
      id: String(f.id),
      ...(f.label ? { label: String(f.label) } : {}),
      ...(f.type ? { type: String(f.type) } : {}),
      ...(constraints.includes('required') ? { required: true } : {}),
      ...(values?.length ? { values } : {}),
    };
  });
}

function userTaskOf(element: BaseElement & { assignee?: string; candidateGroups?: string; candidateUsers?: string }): UserTaskInfo {
  const zeebe = ext(element, 'zeebe:AssignmentDefinition') as { assignee?: string; candidateGroups?: string; candidateUsers?: string } | undefined;
  const assignee = element.assignee ?? zeebe?.assignee;
  return {
    ...(assignee ? { assignee } : {}),
    candidateGroups: list(element.candidateGroups ?? zeebe?.candidateGroups),
    candidateUsers: list(element.candidateUsers ?? zeebe?.candidateUsers),
    form: formOf(element),
  };
}

function startOf(element: BaseElement): StartEventInfo {
  const def = ((element as EventWithDefinitions).eventDefinitions as EventDef[] | undefined)?.[0];
  const id = element.id ?? '';
  if (!def) return { id, kind: 'none' };
  if (instanceOf(def, 'bpmn:TimerEventDefinition')) {
    const timer = {
      ...(def.timeCycle?.body ? { cycle: def.timeCycle.body.trim() } : {}),
      ...(def.timeDate?.body ? { date: def.timeDate.body.trim() } : {}),
      ...(def.timeDuration?.body ? { duration: def.timeDuration.body.trim() } : {}),
    };
    return { id, kind: 'timer', timer };
  }
  const c = catchOf(element);
  return c ? { id, kind: c.kind, name: c.name, refId: c.refId } : { id, kind: 'other' };
}

/**
 * Reads what the durable runtime needs of the process a deployment runs: where it waits for
 * messages, signals and analysts, how it can be started, and which call activities call other
 * deployed workflows. Processes of the same file that it calls are read too.
 */
export function describeProcess(definitions: { rootElements?: readonly BaseElement[] }, processId: string): ProcessShape {
  const roots = definitions.rootElements ?? [];
  const processes = new Map(roots.filter((r): r is Process => is<Process>(r, 'bpmn:Process') && !!r.id).map((p) => [p.id!, p]));
  const shape: ProcessShape = {
    catches: new Map(),
    userTasks: new Map(),
    starts: [],
    messagesByName: new Map(),
    signalsByName: new Map(),
    externalCalls: new Map(),
    parentOf: new Map(),
    errorBoundaries: new Map(),
    errorSubprocesses: [],
  };
  for (const r of roots) {
    const byName = instanceOf(r, 'bpmn:Message') ? shape.messagesByName : instanceOf(r, 'bpmn:Signal') ? shape.signalsByName : undefined;
    if (!byName || !r.id) continue;
    const name = (r as Ref).name?.trim() || r.id;
    byName.set(name, [...(byName.get(name) ?? []), r.id]);
  }
  const main = processes.get(processId);
  if (!main) return shape;
  for (const e of contentsOf(main)) if (instanceOf(e, 'bpmn:StartEvent')) shape.starts.push(startOf(e));

  const visited = new Set<FlowElementsContainer>();
  const walk = (container: FlowElementsContainer): void => {
    if (visited.has(container)) return;
    visited.add(container);
    for (const e of contentsOf(container)) {
      const id = e.id;
      if (!id) continue;
      if (container.id) shape.parentOf.set(id, container.id);
      const errorDef = ((e as EventWithDefinitions).eventDefinitions as Array<BaseElement & { errorRef?: BaseElement & { errorCode?: string } }> | undefined)?.find((d) =>
        instanceOf(d, 'bpmn:ErrorEventDefinition'),
      );
      const attachedTo = (e as { attachedToRef?: BaseElement }).attachedToRef?.id;
      if (errorDef && attachedTo && instanceOf(e, 'bpmn:BoundaryEvent')) {
        shape.errorBoundaries.set(attachedTo, [...(shape.errorBoundaries.get(attachedTo) ?? []), errorDef.errorRef?.errorCode ?? null]);
      }
      if (is<SubProcess>(e, 'bpmn:SubProcess') && e.triggeredByEvent && container.id) {
        for (const start of contentsOf(e)) {
          const def = ((start as EventWithDefinitions).eventDefinitions as Array<BaseElement & { errorRef?: BaseElement & { errorCode?: string } }> | undefined)?.find((d) =>
            instanceOf(d, 'bpmn:ErrorEventDefinition'),
          );
          if (def && start.id && instanceOf(start, 'bpmn:StartEvent')) {
            shape.errorSubprocesses.push({ scopeId: container.id, subprocessId: id, startId: start.id, code: def.errorRef?.errorCode ?? null, refId: def.errorRef?.id ?? null });
          }
        }
      }
      // a manual task waits for someone to say it is done, as a user task does
      if (instanceOf(e, 'bpmn:UserTask') || instanceOf(e, 'bpmn:ManualTask')) shape.userTasks.set(id, userTaskOf(e));
      if (instanceOf(e, 'bpmn:CatchEvent') || instanceOf(e, 'bpmn:ReceiveTask')) {
        const c = catchOf(e);
        if (c) shape.catches.set(id, c);
      }
      if (is<CallActivity>(e, 'bpmn:CallActivity')) {
        const key = e.calledElement?.trim() || (ext(e, 'zeebe:CalledElement')?.processId as string | undefined)?.trim();
        if (key && processes.has(key)) walk(processes.get(key)!);
        else if (key) {
          const c = e as CallActivity & { calledElementBinding?: string; calledElementVersion?: string };
          const version = c.calledElementBinding === 'version' && c.calledElementVersion ? Number(c.calledElementVersion) : undefined;
          shape.externalCalls.set(id, { key, ...(version !== undefined && Number.isInteger(version) ? { version } : {}) });
        }
      }
      if (is<SubProcess>(e, 'bpmn:SubProcess')) walk(e);
    }
  };
  walk(main);
  return shape;
}
