import { Engine } from 'bpmn-engine';
import { SoarError, notFound } from './errors.ts';
import { moddleOptions } from './bpmn/moddle.ts';
import { validateBpmn } from './bpmn/validate.ts';
import type { ProcessShape } from './bpmn/describe.ts';
import type { Problem, Store, WorkflowRecord } from './ports.ts';

/** A workflow version ready to run: parsed once, reused by every execution of that version. */
export interface CompiledWorkflow {
  id: string;
  key: string;
  version: number;
  /** bpmn-engine's serialized moddle context; engines built from it skip the XML parse. */
  sourceContext: unknown;
  /** service-like task id -> the connector activity it dispatches to */
  tasks: ReadonlyMap<string, string>;
  /** flow nodes in the executable process, for progress */
  nodeCount: number;
  /** waits, user tasks, start events and calls of other workflows */
  shape: ProcessShape;
}

export interface DeployResult {
  workflow: WorkflowRecord;
  warnings: Problem[];
}

/**
 * Deploys, versions and compiles workflows. Deploying the same process key again makes a new
 * version; an execution always runs the version it started with.
 */
export class WorkflowCatalog {
  readonly #store: Store;
  readonly #hasActivity: (id: string) => boolean;
  /** Compiled versions, least recently used first; bounded so that many deploys do not grow memory. */
  readonly #compiled = new Map<string, Promise<CompiledWorkflow>>();
  static readonly CACHE_SIZE = 500;
  readonly #deployed: Array<(w: WorkflowRecord, c: CompiledWorkflow) => Promise<void>> = [];

  constructor(store: Store, hasActivity: (id: string) => boolean) {
    this.#store = store;
    this.#hasActivity = hasActivity;
  }

  /** Validates and stores a new version; an invalid playbook is refused with every problem named. */
  async deploy(xml: string): Promise<DeployResult> {
    const checked = await validateBpmn(xml, { hasActivity: this.#hasActivity });
    if (!checked.ok || !checked.process) {
      const problems = checked.problems.length ? checked.problems : [{ element: 'definitions', reason: 'no executable process' }];
      throw new SoarError('INVALID_PLAYBOOK', `the playbook is not valid: ${problems[0]!.reason}`, problems);
    }
    const proc = checked.process;
    await this.#checkCalls(proc.shape);
    const compiled = await compile(xml, proc.id);
    const workflow = await this.#store.createWorkflow({ key: proc.id, name: proc.name ?? proc.id, xml, warnings: checked.warnings });
    const ready: CompiledWorkflow = { ...compiled, id: workflow.id, key: workflow.key, version: workflow.version, tasks: bindings(proc.tasks), shape: proc.shape };
    this.#remember(workflow.id, Promise.resolve(ready));
    for (const fn of this.#deployed) await fn(workflow, ready);
    return { workflow, warnings: checked.warnings };
  }

  /** Runs after every deploy (e.g. to schedule timer start events). */
  onDeploy(fn: (w: WorkflowRecord, c: CompiledWorkflow) => Promise<void>): void {
    this.#deployed.push(fn);
  }

  /** The latest version of every workflow key. */
  async latest(): Promise<WorkflowRecord[]> {
    const latest = new Map<string, WorkflowRecord>();
    for (let offset = 0; ; offset += 1000) {
      const page = await this.#store.listWorkflows({ limit: 1000, offset });
      for (const w of page.items) if ((latest.get(w.key)?.version ?? 0) < w.version) latest.set(w.key, w);
      if (offset + page.items.length >= page.total || !page.items.length) break;
    }
    return [...latest.values()];
  }

  /** Deploys `xml` unless the latest version of its process has exactly this content; null when unchanged. */
  async deployIfChanged(xml: string): Promise<DeployResult | null> {
    const checked = await validateBpmn(xml, { hasActivity: this.#hasActivity });
    if (checked.ok && checked.process) {
      const latest = await this.#store.getLatestWorkflow(checked.process.id);
      if (latest?.xml === xml) return null;
    }
    return this.deploy(xml);
  }

  /** A workflow by id, or the latest version of a process key. */
  async resolve(idOrKey: string): Promise<WorkflowRecord> {
    const wf = (await this.#store.getWorkflow(idOrKey)) ?? (await this.#store.getLatestWorkflow(idOrKey));
    if (!wf) throw notFound('workflow', idOrKey);
    return wf;
  }

  /** The compiled form of a stored version (compiled at most once per process). */
  compiled(workflowId: string): Promise<CompiledWorkflow> {
    let c = this.#compiled.get(workflowId);
    if (c) this.#compiled.delete(workflowId);
    else {
      c = this.#compileStored(workflowId);
      c.catch(() => this.#compiled.delete(workflowId));
    }
    this.#remember(workflowId, c);
    return c;
  }

  #remember(workflowId: string, c: Promise<CompiledWorkflow>): void {
    this.#compiled.set(workflowId, c);
    while (this.#compiled.size > WorkflowCatalog.CACHE_SIZE) this.#compiled.delete(this.#compiled.keys().next().value!);
  }

  async #compileStored(workflowId: string): Promise<CompiledWorkflow> {
    const wf = await this.#store.getWorkflow(workflowId);
    if (!wf) throw notFound('workflow', workflowId);
    const checked = await validateBpmn(wf.xml, { hasActivity: () => true });
    if (!checked.process) throw new Error(`stored workflow ${workflowId} has no executable process`);
    const compiled = await compile(wf.xml, wf.key);
    return { ...compiled, id: wf.id, key: wf.key, version: wf.version, tasks: bindings(checked.process.tasks), shape: checked.process.shape };
  }

  /** A call activity may call another deployed workflow: it must exist (the pinned version, or any). */
  async #checkCalls(shape: ProcessShape): Promise<void> {
    const problems: Problem[] = [];
    for (const [element, call] of shape.externalCalls) {
      const latest = await this.#store.getLatestWorkflow(call.key);
      if (!latest) problems.push({ element, reason: `call activity ${element} calls ${call.key}, which is neither a process of this file nor a deployed workflow` });
      else if (call.version !== undefined && call.version > latest.version) {
        problems.push({ element, reason: `call activity ${element} calls version ${call.version} of ${call.key}, which has only ${latest.version} version(s)` });
      }
    }
    if (problems.length) throw new SoarError('INVALID_PLAYBOOK', `the playbook is not valid: ${problems[0]!.reason}`, problems);
  }

  /** The latest version of every workflow whose process starts on this message or signal name. */
  async startingOn(kind: 'message' | 'signal', name: string): Promise<WorkflowRecord[]> {
    const found: WorkflowRecord[] = [];
    for (const w of await this.latest()) {
      const c = await this.compiled(w.id).catch(() => null);
      if (c?.shape.starts.some((s) => s.kind === kind && s.name === name)) found.push(w);
    }
    return found;
  }

  /** The version a call activity starts: pinned, or the latest. */
  async called(key: string, version?: number): Promise<WorkflowRecord> {
    if (version === undefined) return this.resolve(key);
    const all = await this.#store.listWorkflows({ key, limit: 1000, offset: 0 });
    const wf = all.items.find((w) => w.version === version);
    if (!wf) throw notFound('workflow', `${key} version ${version}`);
    return wf;
  }
}

type Behaviour = Record<string, unknown> & { extensionElements?: { values?: Array<Record<string, unknown> & { $type: string }> } };
type SourceContext = {
  elements?: {
    processes?: Array<{ id: string; behaviour?: { isExecutable?: boolean } }>;
    activities?: Array<{ id: string; type: string; behaviour?: Behaviour; isParallelGateway?: boolean }>;
    sequenceFlows?: Array<{ id: string; targetId: string }>;
  };
};

const zeebeExt = (b: Behaviour | undefined, type: string) => b?.extensionElements?.values?.find((v) => v.$type === type);

/**
 * bpmn-engine reads Camunda 7 attributes (camunda:collection, calledElement) but knows nothing of
 * their Camunda 8 extension elements: copy zeebe:loopCharacteristics and zeebe:calledElement onto
 * the attributes it reads.
 */
function adoptZeebe(behaviour: Behaviour | undefined): void {
  if (!behaviour) return;
  const called = zeebeExt(behaviour, 'zeebe:CalledElement');
  if (called && !behaviour.calledElement && typeof called.processId === 'string') behaviour.calledElement = called.processId;
  const loop = (behaviour.loopCharacteristics as { behaviour?: Behaviour } | undefined)?.behaviour;
  const zl = zeebeExt(loop, 'zeebe:LoopCharacteristics');
  if (loop && zl) {
    if (!loop.collection && typeof zl.inputCollection === 'string') loop.collection = zl.inputCollection;
    if (!loop.elementVariable && typeof zl.inputElement === 'string') loop.elementVariable = zl.inputElement;
  }
}

function bindings(tasks: ReadonlyArray<{ id: string; activity: string }>): Map<string, string> {
  return new Map(tasks.map((t) => [t.id, t.activity]));
}

/**
 * Parses once into bpmn-engine's serialized context. Only `processId` stays executable: bpmn-engine
 * starts every executable process of a file, and a deployment runs one (the others still run when
 * called or sent a message).
 */
async function compile(xml: string, processId: string): Promise<{ sourceContext: unknown; nodeCount: number }> {
  const engine = new Engine({ source: xml, moddleOptions } as ConstructorParameters<typeof Engine>[0]);
  const [definition] = await engine.getDefinitions();
  if (!definition) throw new SoarError('INVALID_PLAYBOOK', 'the playbook has no definitions', [{ element: 'definitions', reason: 'no definitions' }]);
  const env = definition.environment as unknown as { options: { source: SourceContext } };
  for (const p of env.options.source.elements?.processes ?? []) {
    if (p.id !== processId && p.behaviour) p.behaviour.isExecutable = false;
  }
  const inbound = new Map<string, number>();
  for (const f of env.options.source.elements?.sequenceFlows ?? []) inbound.set(f.targetId, (inbound.get(f.targetId) ?? 0) + 1);
  for (const a of env.options.source.elements?.activities ?? []) {
    adoptZeebe(a.behaviour);
    // bpmn-elements joins only parallel gateways. Its join counts a discarded inbound flow as
    // arrived, and the branches an inclusive fork does not take are discarded: so an inclusive
    // join is exactly its parallel join.
    if (a.type === 'bpmn:InclusiveGateway' && (inbound.get(a.id) ?? 0) > 1) a.isParallelGateway = true;
  }
  const processes = definition.getExecutableProcesses() as unknown as Array<{ getActivities(): unknown[] }>;
  const nodeCount = processes.reduce((n, p) => n + p.getActivities().length, 0);
  return { sourceContext: env.options.source, nodeCount };
}
