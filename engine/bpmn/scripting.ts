import { conditionToJsonata } from '../expr/condition.ts';
import { evaluate } from '../expr/jsonata.ts';
import { scriptOf } from '../io.ts';

/** Bounds on every expression a playbook runs. */
export interface ExpressionLimits {
  timeoutMs: number;
  maxDepth: number;
}

/** What bpmn-engine hands a script or condition: the activity or flow, and the message it runs for. */
interface Scope {
  content?: Record<string, unknown>;
}

/** The execution's variables, owned by the runtime (bpmn-engine's own environments are per subprocess). */
export type Variables = () => Record<string, unknown>;

interface ScriptElement {
  id: string;
  type: string;
  behaviour?: {
    conditionExpression?: { language?: string; body?: string };
    scriptFormat?: string;
    script?: string;
    extensionElements?: { values?: Array<{ $type: string; expression?: string }> };
    loopCharacteristics?: unknown;
  };
}

type Callback = (err: Error | null, result?: unknown) => void;

/**
 * The playbook's variables as expressions see them: the execution's variables (its input and
 * every task's output, see engine/runtime.ts), plus the item of a multi-instance iteration.
 */
export function variablesOf(output: Record<string, unknown>, content: Record<string, unknown> | undefined, elementVariable?: string): Record<string, unknown> {
  if (elementVariable && content && Object.hasOwn(content, elementVariable)) return { ...output, [elementVariable]: content[elementVariable] };
  return output;
}

/**
 * bpmn-engine's `scripts` option: every sequence-flow condition (written in jsonata, with or without
 * `language`, or as a simple Camunda `${...}` comparison) and every script task runs here as bounded
 * jsonata. Deploy-time validation has refused anything else, so no JavaScript ever runs.
 */
export function createScripts(limits: ExpressionLimits, track: (p: Promise<unknown>) => void, vars: Variables) {
  return {
    register(): void {},
    getScript(_language: string | undefined, element: ScriptElement) {
      const condition = element.behaviour?.conditionExpression;
      let expression: string | undefined;
      let isCondition = false;
      if (condition) {
        isCondition = true;
        const translated = conditionToJsonata(condition.body ?? '', condition.language);
        if ('problem' in translated) return { execute: (_s: Scope, cb: Callback) => cb(new Error(`${element.id}: ${translated.problem}`)) };
        expression = translated.expression;
      } else expression = scriptOf(element.behaviour ?? {})?.expression;
      if (expression === undefined) return undefined;
      const text = expression;
      return {
        execute(scope: Scope, callback: Callback): void {
          const item = element.behaviour?.loopCharacteristics ? elementVariableOf(element) : undefined;
          const root = variablesOf(vars(), scope.content, item);
          const run = evaluate(text, root, limits).then(
            (result) => callback(null, isCondition ? Boolean(result) : result),
            (err: Error) => callback(new Error(`${element.id}: ${err.message}`)),
          );
          track(run);
        },
      };
    },
  };
}

function elementVariableOf(element: ScriptElement): string | undefined {
  const loop = element.behaviour?.loopCharacteristics as { behaviour?: { elementVariable?: string } } | undefined;
  return loop?.behaviour?.elementVariable ?? 'item';
}

const WHOLE = /^\s*(?:\$\{\s*([A-Za-z_$][\w$]*(?:\.[A-Za-z_$][\w$]*)*)\s*\}|=\s*([A-Za-z_$][\w$]*(?:\.[A-Za-z_$][\w$]*)*))\s*$/;
const EMBEDDED = /\$\{\s*([A-Za-z_$][\w$]*(?:\.[A-Za-z_$][\w$]*)*)\s*\}/g;

function lookup(root: unknown, path: string): unknown {
  let v = root;
  for (const part of path.split('.')) {
    if (v === null || typeof v !== 'object' || !Object.hasOwn(v, part)) return undefined;
    v = (v as Record<string, unknown>)[part];
  }
  return v;
}

/**
 * bpmn-engine's synchronous `expressions` option, for the values it resolves itself: timer
 * durations and dates, multi-instance collections, called elements. A value is a literal, or a
 * variable reference `${alert.sla}` / `=alert.sla` (embedded references are interpolated).
 * bpmn-engine's own paths (`environment.variables.x`, the execution's variables; `content.x`) still resolve. No function is
 * ever called: the default resolver would call `${environment.services.fn()}`, this one does not.
 */
export const pathExpressions = (vars: Variables) => ({
  resolveExpression(value: unknown, message?: { environment?: unknown; content?: Record<string, unknown> }): unknown {
    if (typeof value !== 'string') return value;
    const variables = vars();
    // the runtime keeps the variables, not bpmn-engine: its `environment.variables` path reads them too
    const environment = message?.environment && typeof message.environment === 'object' ? { ...message.environment, variables } : { variables };
    const scope = { ...variables, ...(message?.content ?? {}), environment, content: message?.content };
    const whole = WHOLE.exec(value);
    if (whole) return lookup(scope, (whole[1] ?? whole[2])!);
    if (!value.includes('${')) return value;
    return value.replace(EMBEDDED, (_m, path: string) => {
      const v = lookup(scope, path);
      return v === undefined || v === null ? '' : String(v);
    });
  },
  isExpression(value: unknown): boolean {
    return typeof value === 'string' && WHOLE.test(value);
  },
  hasExpression(value: unknown): boolean {
    return typeof value === 'string' && (value.includes('${') || WHOLE.test(value));
  },
});
