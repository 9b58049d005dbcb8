import { Engine } from 'bpmn-engine';
import { SoarError, notFound } from './errors.ts';
import { moddleOptions } from './bpmn/moddle.ts';
import { validateBpmn } from './bpmn/validate.ts';
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
    const compiled = await compile(xml, proc.id);
    const workflow = await this.#store.createWorkflow({ key: proc.id, name: proc.name ?? proc.id, xml, warnings: checked.warnings });
    this.#remember(workflow.id, Promise.resolve({ ...compiled, id: workflow.id, key: workflow.key, version: workflow.version, tasks: bindings(proc.tasks) }));
    return { workflow, warnings: checked.warnings };
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
    return { ...compiled, id: wf.id, key: wf.key, version: wf.version, tasks: bindings(checked.process.tasks) };
  }
}

type SourceContext = { elements?: { processes?: Array<{ id: string; behaviour?: { isExecutable?: boolean } }> } };

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
  const processes = definition.getExecutableProcesses() as unknown as Array<{ getActivities(): unknown[] }>;
  const nodeCount = processes.reduce((n, p) => n + p.getActivities().length, 0);
  return { sourceContext: env.options.source, nodeCount };
}
