import Handlebars from 'handlebars';
import { ExpressionError, excerpt } from './errors.ts';
import { Lru } from './lru.ts';

/** How many compiled templates are kept, keyed by their text and escaping. */
export const TEMPLATE_CACHE_SIZE = 1000;

export interface TemplateOptions {
  /**
   * HTML-escape what `{{...}}` puts in (`{{{...}}}` never escapes). Off by default: messages go to
   * Slack, Teams or plain-text mail, where `&amp;` would show as is. Turn it on for HTML email.
   */
  escape?: boolean;
}

type Render = (variables: unknown) => string;

/*
 * Our own Handlebars environment: helpers registered here do not leak into (or come from) any other
 * user of the handlebars module. `log` is removed: a playbook does not write to the process console.
 */
const hb = Handlebars.create();
hb.unregisterHelper('log');

/*
 * Handlebars joins what a template outputs with `+`: `{{count}}{{unit}}` with count 2 and unit 3
 * renders "5", not "23", whenever two values start the output (unescaped output: ours by default,
 * and `{{{...}}}` always). Its documented extension point, a JavaScriptCompiler subclass for this
 * environment, makes every appended piece a string first.
 */
interface CompilerClass {
  new (): { appendToBuffer(source: unknown, location?: unknown, explicit?: boolean): unknown };
}
const env = hb as unknown as { JavaScriptCompiler: CompilerClass };
class StringBufferCompiler extends env.JavaScriptCompiler {
  override appendToBuffer(source: unknown, location?: unknown, explicit?: boolean): unknown {
    return super.appendToBuffer(['"" + (', ...(Array.isArray(source) ? source : [source]), ')'], location, explicit);
  }
}
// the compiler of nested blocks ({{#if}}, {{#each}}) is looked up here
(StringBufferCompiler.prototype as unknown as { compiler: CompilerClass }).compiler = StringBufferCompiler;
env.JavaScriptCompiler = StringBufferCompiler;

const HELPERS: Readonly<Record<string, Handlebars.HelperDelegate>> = {
  /** `{{json alert}}`, `{{json alert 2}}`: the value as JSON (indented by the number given). */
  json: (...args: unknown[]) => {
    const [value, indent] = params(args);
    return JSON.stringify(value, null, typeof indent === 'number' ? Math.min(Math.max(indent, 0), 10) : undefined) ?? '';
  },
  upper: (...args: unknown[]) => text(params(args)[0]).toUpperCase(),
  lower: (...args: unknown[]) => text(params(args)[0]).toLowerCase(),
  /** `{{default alert.owner "unassigned"}}`: the value, or the fallback when it is missing, null or "". */
  default: (...args: unknown[]) => {
    const [value, fallback] = params(args);
    return value === undefined || value === null || value === '' ? fallback : value;
  },
  /** `{{#if (eq alert.severity "high")}}`: strict equality. */
  eq: (...args: unknown[]) => {
    const [a, b] = params(args);
    return a === b;
  },
  /** `{{join alert.iocs ", "}}`: the items of a list joined (", " when no separator is given). */
  join: (...args: unknown[]) => {
    const [list, separator] = params(args);
    if (!Array.isArray(list)) return text(list);
    return list.map((item) => (item !== null && typeof item === 'object' ? JSON.stringify(item) : text(item))).join(typeof separator === 'string' ? separator : ', ');
  },
};
for (const [name, helper] of Object.entries(HELPERS)) hb.registerHelper(name, helper);

/** A helper's arguments without the options object Handlebars passes last. */
function params(args: unknown[]): unknown[] {
  return args.slice(0, -1);
}

function text(value: unknown): string {
  return value === undefined || value === null ? '' : String(value);
}

// `log: false`: with knownHelpersOnly, `{{log ...}}` is then an unknown helper at compile time
const KNOWN_HELPERS = { ...Object.fromEntries(Object.keys(HELPERS).map((name) => [name, true])), log: false };
const cache = new Lru<string, Render>(TEMPLATE_CACHE_SIZE);

/**
 * Compiles a template (or returns the cached compile of the same text and escaping).
 * Only the helpers above and Handlebars' block helpers (if, unless, each, with, lookup) exist:
 * an unknown helper is a compile error, not an empty string at run time; partials and
 * decorators are refused. Handlebars turns a template into a JavaScript function with its own
 * code generator, where the template's text appears only as string literals and property
 * lookups, never as code (the compile-time code injections were fixed in 4.7.7: keep it current).
 * @throws ExpressionError TEMPLATE_SYNTAX, with the line in `position`.
 */
export function compileTemplate(template: string, opts: TemplateOptions = {}): Render {
  const escape = opts.escape === true;
  const key = `${escape ? 'html' : 'text'}:${template}`;
  const cached = cache.get(key);
  if (cached) return cached;
  const options = { noEscape: !escape, knownHelpers: KNOWN_HELPERS, knownHelpersOnly: true };
  let compiled: Handlebars.TemplateDelegate;
  try {
    refuseIncludes(hb.parse(template));
    // precompile() runs the whole compiler now, so every syntax and helper error is found here;
    // compile() alone would only compile at the first render
    hb.precompile(template, options);
    compiled = hb.compile(template, options);
  } catch (err) {
    const e = err as { message?: string; lineNumber?: number };
    const line = typeof e.lineNumber === 'number' ? ` on line ${e.lineNumber}` : '';
    throw new ExpressionError('TEMPLATE_SYNTAX', `the template ${excerpt(template)} does not compile${line}: ${firstLine(e.message ?? String(err))}`, e.lineNumber);
  }
  const render: Render = (variables) => {
    try {
      /*
       * Prototype access MUST stay off (Handlebars 4.6+ default, set here so no upgrade or global
       * option turns it on): `{{constructor.constructor}}` and `{{__proto__}}` resolve to nothing,
       * so a template cannot reach Function and run code.
       */
      return compiled(variables, { allowProtoPropertiesByDefault: false, allowProtoMethodsByDefault: false, allowCallsToHelperMissing: false });
    } catch (err) {
      throw new ExpressionError('TEMPLATE_FAILED', `the template ${excerpt(template)} failed: ${firstLine(err instanceof Error ? err.message : String(err))}`);
    }
  };
  cache.set(key, render);
  return render;
}

/**
 * Renders a message text from the variables, e.g. `New {{alert.severity}} alert: {{alert.title}}`.
 * Missing values render as nothing. Not HTML-escaped unless `escape: true`.
 * @throws ExpressionError TEMPLATE_SYNTAX or TEMPLATE_FAILED.
 */
export function renderTemplate(template: string, variables: unknown, opts: TemplateOptions = {}): string {
  return compileTemplate(template, opts)(variables);
}

/** Handlebars' parse errors are "Parse error on line N:", the source, a caret line, then what was expected. */
function firstLine(message: string): string {
  const lines = message.split('\n').filter((l) => l.trim());
  const first = lines[0] ?? message;
  const last = lines[lines.length - 1];
  return /^Parse error/.test(first) && last && last !== first ? `${first} ${last}` : first;
}

interface AstNode {
  type: string;
  loc?: { start?: { line?: number } } | null;
  body?: AstNode[];
  program?: AstNode | null;
  inverse?: AstNode | null;
}

/** Partials and decorators name code or templates outside the text: a message template has none. */
function refuseIncludes(node: AstNode | null | undefined): void {
  if (!node) return;
  if (/^Partial|^Decorator/.test(node.type)) {
    const e = new Error(`${node.type.startsWith('Partial') ? 'partials ({{> name}})' : 'decorators ({{* name}})'} are not supported in message templates`) as Error & { lineNumber?: number };
    e.lineNumber = node.loc?.start?.line;
    throw e;
  }
  for (const child of node.body ?? []) refuseIncludes(child);
  refuseIncludes(node.program);
  refuseIncludes(node.inverse);
}
