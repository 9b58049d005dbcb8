import type { ValueSite } from './bpmn/expressions.ts';
import { ExpressionError, excerpt } from './expr/errors.ts';
import { EXPRESSION_LANGUAGE, evaluate, type EvaluateOptions } from './expr/jsonata.ts';
import { valueToJsonata, type ValueSyntax } from './expr/value.ts';

/*
 * A task's data in and out, from the mappings the modelers write:
 *  - Camunda 7 `camunda:inputOutput`: inputParameter / outputParameter, whose value is text
 *    (a literal, a `${...}` expression, text with `${...}` inside), a camunda:map / camunda:list
 *    (nested), or a `camunda:script scriptFormat="jsonata"`;
 *  - Camunda 8 `zeebe:ioMapping`: input / output source -> target, the source being an `=` expression
 *    or a literal, the target a variable name or a dotted path.
 * See ./expr/value.ts for how a value's text is read. Every expression is jsonata (or a simple
 * Camunda comparison translated to it) evaluated with the variables as its root.
 *
 * `behaviour` is bpmn-engine's `activity.behaviour`, or the moddle element: the same shape
 * (`extensionElements.values[]` with `$type`, camunda attributes as plain properties).
 */

/** The limits each expression of a mapping is evaluated with. */
export type MappingOptions = Pick<EvaluateOptions, 'timeoutMs' | 'maxDepth'>;

/**
 * A task's input: its input mappings evaluated against the variables. A task with no input
 * mapping gets an empty input. A value that selects nothing is null.
 * @throws ExpressionError when a value cannot be evaluated.
 */
export async function taskInput(behaviour: object, variables: Record<string, unknown>, opts: MappingOptions = {}): Promise<Record<string, unknown>> {
  const input: Record<string, unknown> = {};
  const ctx: Context = { root: variables, opts };
  for (const ext of extensions(behaviour)) {
    if (ext.$type === 'camunda:InputOutput') {
      for (const p of ext.inputParameters ?? []) {
        if (p.name) define(input, p.name, await camundaValue(p, ctx));
      }
    } else if (ext.$type === 'zeebe:IoMapping') {
      for (const p of ext.inputParameters ?? []) {
        if (p.target) setPath(input, p.target, await textValue(p.source, 'zeebe', ctx));
      }
    }
  }
  return input;
}

/**
 * The variables a finished task sets through its output mappings, or null when it has none (the
 * runtime then stores the whole output under the result variable, or the task's id).
 *
 * Each value is evaluated with root `{ ...variables, ...output }` (the output's fields only when it
 * is an object) and `$output` bound to the output as returned. A dotted zeebe target (`alert.score`)
 * returns the whole top-level variable (`alert`) with that field set, so it can be stored as is.
 * @throws ExpressionError when a value cannot be evaluated.
 */
export async function taskOutput(
  behaviour: object,
  output: unknown,
  variables: Record<string, unknown>,
  opts: MappingOptions = {},
): Promise<Record<string, unknown> | null> {
  const mappings = extensions(behaviour).filter((ext) => ext.$type === 'camunda:InputOutput' || ext.$type === 'zeebe:IoMapping');
  if (!mappings.some((ext) => (ext.outputParameters ?? []).length > 0)) return null;
  const root = isPlainObject(output) ? { ...variables, ...output } : variables;
  const ctx: Context = { root, opts, bindings: { output } };
  const set: Record<string, unknown> = {};
  for (const ext of mappings) {
    for (const p of ext.outputParameters ?? []) {
      if (ext.$type === 'camunda:InputOutput') {
        if (p.name) define(set, p.name, await camundaValue(p, ctx));
      } else if (p.target) {
        const value = await textValue(p.source, 'zeebe', ctx);
        const head = p.target.split('.')[0] ?? p.target;
        if (p.target !== head && !Object.hasOwn(set, head) && isPlainObject(variables[head])) {
          // the rest of the variable is kept: the runtime replaces top-level variables whole
          define(set, head, structuredClone(variables[head]));
        }
        setPath(set, p.target, value);
      }
    }
  }
  return set;
}

/**
 * The variable a task's whole result is stored under: `camunda:resultVariable` (Camunda 7 service-like
 * and script tasks), `zeebe:script resultVariable` (Camunda 8 script tasks) or a Camunda 8 connector's
 * `resultVariable` task header; undefined when none is set.
 */
export function resultVariableOf(behaviour: object): string | undefined {
  const b = behaviour as { resultVariable?: unknown };
  const script = extensions(behaviour).find((ext) => ext.$type === 'zeebe:Script');
  const header = extensions(behaviour)
    .find((ext) => ext.$type === 'zeebe:TaskHeaders')
    ?.values?.find((h) => h.key === 'resultVariable');
  return nonEmpty(b.resultVariable) ?? nonEmpty(script?.resultVariable) ?? nonEmpty(header?.value);
}

/** What a script task runs: its jsonata expression and where its result goes. */
export interface TaskScript {
  /** jsonata, evaluated with the variables as root. */
  expression: string;
  /** Where the result is stored; when undefined the runtime stores it under the task's id. */
  resultVariable?: string;
}

/**
 * A script task's jsonata: the BPMN `script` with `scriptFormat="jsonata"` (any case), or a
 * Camunda 8 `zeebe:script expression="=..."`. Undefined when the task has neither (deploy-time
 * validation refuses such tasks, see expressionProblem).
 */
export function scriptOf(behaviour: object): TaskScript | undefined {
  const b = behaviour as { scriptFormat?: unknown; script?: unknown };
  const zeebe = extensions(behaviour).find((ext) => ext.$type === 'zeebe:Script');
  const resultVariable = resultVariableOf(behaviour);
  const withResult = (expression: string): TaskScript => (resultVariable ? { expression, resultVariable } : { expression });
  if (typeof zeebe?.expression === 'string') {
    const form = valueToJsonata(zeebe.expression, 'zeebe');
    return 'expression' in form ? withResult(form.expression) : undefined;
  }
  if (typeof b.scriptFormat === 'string' && b.scriptFormat.trim().toLowerCase() === EXPRESSION_LANGUAGE && typeof b.script === 'string' && b.script.trim()) {
    return withResult(b.script);
  }
  return undefined;
}

/**
 * Every value of a task's input and output mappings as a site for `expressionProblem`, so that
 * deploy-time validation refuses what taskInput/taskOutput would fail on.
 */
export function mappingSites(behaviour: object, element: string): ValueSite[] {
  const sites: ValueSite[] = [];
  const camunda = (what: string, p: { value?: string; definition?: Definition }): void => {
    const def = p.definition;
    if (!def) sites.push({ kind: 'mapping', element, syntax: 'camunda', what, body: p.value });
    else definitionSites(what, def);
  };
  const definitionSites = (what: string, def: Definition): void => {
    if (def.$type === 'camunda:Map') for (const e of def.entries ?? []) camunda(`${what}.${e.key}`, e);
    else if (def.$type === 'camunda:List') (def.items ?? []).forEach((item, i) => definitionSites(`${what}[${i}]`, item));
    else if (def.$type === 'camunda:Script') {
      sites.push({ kind: 'mapping', element, syntax: 'camunda', what, language: def.scriptFormat ?? '(no scriptFormat)', body: def.resource ? undefined : def.value });
    } else sites.push({ kind: 'mapping', element, syntax: 'camunda', what, body: def.value });
  };
  for (const ext of extensions(behaviour)) {
    const syntax: ValueSyntax | undefined = ext.$type === 'camunda:InputOutput' ? 'camunda' : ext.$type === 'zeebe:IoMapping' ? 'zeebe' : undefined;
    if (!syntax) continue;
    for (const [direction, params] of [['input', ext.inputParameters], ['output', ext.outputParameters]] as const) {
      for (const p of params ?? []) {
        if (syntax === 'camunda') camunda(`${direction} ${p.name ?? '(no name)'}`, p);
        else sites.push({ kind: 'mapping', element, syntax, what: `${direction} ${p.target ?? '(no target)'}`, body: p.source });
      }
    }
  }
  return sites;
}

interface ExtensionElement {
  $type: string;
  inputParameters?: Parameter[];
  outputParameters?: Parameter[];
  /** zeebe:Script */
  expression?: string;
  resultVariable?: string;
  /** zeebe:TaskHeaders */
  values?: Array<{ key?: string; value?: string }>;
}
interface Parameter {
  name?: string;
  value?: string;
  source?: string;
  target?: string;
  definition?: Definition;
}
/** camunda:Map, camunda:List, camunda:Value or camunda:Script. */
interface Definition {
  $type: string;
  value?: string;
  scriptFormat?: string;
  resource?: string;
  entries?: Array<{ key: string; value?: string; definition?: Definition }>;
  items?: Definition[];
}

interface Context {
  root: unknown;
  opts: MappingOptions;
  bindings?: Record<string, unknown>;
}

function extensions(behaviour: object): ExtensionElement[] {
  return (behaviour as { extensionElements?: { values?: ExtensionElement[] } }).extensionElements?.values ?? [];
}

async function camundaValue(p: { value?: string; definition?: Definition }, ctx: Context): Promise<unknown> {
  return p.definition ? definitionValue(p.definition, ctx) : textValue(p.value, 'camunda', ctx);
}

async function definitionValue(def: Definition, ctx: Context): Promise<unknown> {
  switch (def.$type) {
    case 'camunda:Map': {
      const map: Record<string, unknown> = {};
      for (const e of def.entries ?? []) define(map, e.key, await camundaValue(e, ctx));
      return map;
    }
    case 'camunda:List': {
      const list: unknown[] = [];
      for (const item of def.items ?? []) list.push(await definitionValue(item, ctx));
      return list;
    }
    case 'camunda:Script': {
      const format = def.scriptFormat?.trim();
      if (format?.toLowerCase() !== EXPRESSION_LANGUAGE || def.resource || !def.value?.trim()) {
        throw new ExpressionError('EXPRESSION_SYNTAX', `a camunda:script mapping must be inline ${EXPRESSION_LANGUAGE} (scriptFormat="${format ?? ''}")`);
      }
      return expressionValue(def.value, ctx);
    }
    default:
      return textValue(def.value, 'camunda', ctx);
  }
}

async function textValue(text: string | undefined, syntax: ValueSyntax, ctx: Context): Promise<unknown> {
  if (text === undefined) return null;
  const form = valueToJsonata(text, syntax);
  if ('literal' in form) return form.literal;
  if ('problem' in form) throw new ExpressionError('EXPRESSION_SYNTAX', `the mapping value ${excerpt(text)} ${form.problem}`);
  return expressionValue(form.expression, ctx);
}

async function expressionValue(expression: string, ctx: Context): Promise<unknown> {
  const value = await evaluate(expression, ctx.root, { ...ctx.opts, ...(ctx.bindings ? { bindings: ctx.bindings } : {}) });
  return value === undefined ? null : value;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

function nonEmpty(value: unknown): string | undefined {
  return typeof value === 'string' && value.trim() ? value.trim() : undefined;
}

/** An own data property, even for `__proto__`: a mapping target never reaches a prototype. */
function define(o: Record<string, unknown>, key: string, value: unknown): void {
  Object.defineProperty(o, key, { value, enumerable: true, writable: true, configurable: true });
}

/** Sets `a.b.c` in `root`, making the objects on the way (own properties only, never a prototype's). */
function setPath(root: Record<string, unknown>, path: string, value: unknown): void {
  const parts = path.split('.');
  let o = root;
  for (const part of parts.slice(0, -1)) {
    const next = Object.hasOwn(o, part) ? o[part] : undefined;
    const child = isPlainObject(next) ? next : {};
    define(o, part, child);
    o = child;
  }
  define(o, parts[parts.length - 1]!, value);
}
