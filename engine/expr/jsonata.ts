import jsonata from 'jsonata';
import { ExpressionError, excerpt } from './errors.ts';
import { Lru } from './lru.ts';

/** The only expression language this engine evaluates. */
export const EXPRESSION_LANGUAGE = 'jsonata';
/** How long one evaluation may run, by default; the runtime passes its configured value. */
export const DEFAULT_TIMEOUT_MS = 1000;
/** How deeply one evaluation may nest jsonata evaluation steps (recursion included), by default. */
export const DEFAULT_MAX_DEPTH = 500;
/** The longest sequence (array) an evaluation may build, a range `[a..b]` included. */
export const MAX_SEQUENCE = 1_000_000;
/** The longest string an evaluation step may return. */
export const MAX_STRING_LENGTH = 10_000_000;
/** How many compiled expressions are kept, keyed by their text. */
export const CACHE_SIZE = 1000;
/** A long evaluation lets the event loop run at least this often (timers, I/O, other executions). */
const YIELD_EVERY_MS = 10;
/** The most of one gap between two steps that counts as the evaluation's own time. */
const MAX_GAP_MS = 10;
/** The wall-clock backstop, as a multiple of the limit. */
const BACKSTOP_FACTOR = 30;

export interface EvaluateOptions {
  /** Wall-clock limit of this evaluation; past it the evaluation rejects with EXPRESSION_TIMEOUT. */
  timeoutMs?: number;
  /** Nesting limit of this evaluation's steps; past it the evaluation rejects with EXPRESSION_LIMIT. */
  maxDepth?: number;
  /** Variables the expression reads as `$name` (e.g. `{ output }` for `$output`). */
  bindings?: Readonly<Record<string, unknown>>;
}

/** A parsed jsonata expression. Immutable and shared: evaluate it concurrently as often as needed. */
export interface CompiledExpression {
  readonly text: string;
}

/** The limits of one evaluation call. */
interface Guard {
  readonly text: string;
  /** A wall-clock backstop, far beyond the limit: see {@link onEntry}. */
  readonly deadline: number;
  readonly timeoutMs: number;
  readonly maxDepth: number;
  depth: number;
  lastYield: number;
  /** Time this evaluation spent running, in ms, and when it was last seen running (0: not yet). */
  used: number;
  last: number;
  /** Set when the guard stopped the evaluation: what the caller gets, whatever jsonata made of it. */
  failure?: ExpressionError;
}

/*
 * A compiled expression is shared by every evaluation of the same text, and jsonata looks its hooks
 * up in the expression's own environment: the hooks are the same for all calls. The limits MUST be
 * per call, so each call binds its Guard in its own evaluation environment under GUARD, and the
 * hooks find it with `environment.lookup(GUARD)`. The name contains spaces, so no jsonata expression
 * can spell `$ soar guard` to read or rebind it.
 */
const GUARD = ' soar guard ';
const ENTRY = Symbol.for('jsonata.__evaluate_entry');
const EXIT = Symbol.for('jsonata.__evaluate_exit');

interface Environment {
  lookup(name: string | symbol): unknown;
}

const handles = new WeakMap<CompiledExpression, jsonata.Expression>();
const cache = new Lru<string, CompiledExpression>(CACHE_SIZE);

/**
 * Parses a jsonata expression, or returns the cached parse of the same text.
 * @throws ExpressionError EXPRESSION_SYNTAX with jsonata's message and position.
 */
export function compileExpression(text: string): CompiledExpression {
  const cached = cache.get(text);
  if (cached) return cached;
  let expr: jsonata.Expression;
  try {
    expr = jsonata(text, { sequence: MAX_SEQUENCE });
  } catch (err) {
    const e = err as { message?: string; position?: number };
    const at = typeof e.position === 'number' ? ` at position ${e.position}` : '';
    throw new ExpressionError('EXPRESSION_SYNTAX', `jsonata syntax error${at} in ${excerpt(text)}: ${e.message ?? String(err)}`, e.position);
  }
  // jsonata's typings name assign()'s key a string; it binds symbols as well, and 2.x only reads these two by symbol
  const hooks = expr as unknown as { assign(name: symbol, value: unknown): void };
  hooks.assign(ENTRY, onEntry);
  hooks.assign(EXIT, onExit);
  const compiled: CompiledExpression = Object.freeze({ text });
  handles.set(compiled, expr);
  cache.set(text, compiled);
  return compiled;
}

/**
 * Evaluates a jsonata expression with `root` as its input (`$`), bounded in time and depth.
 * The result is a plain JSON value (jsonata's sequences become arrays), or undefined when the
 * expression selects nothing. A long evaluation yields to the event loop every few milliseconds.
 * @throws ExpressionError EXPRESSION_SYNTAX, EXPRESSION_TIMEOUT, EXPRESSION_LIMIT or EXPRESSION_FAILED.
 */
export async function evaluate(expression: string | CompiledExpression, root: unknown, opts: EvaluateOptions = {}): Promise<unknown> {
  const compiled = typeof expression === 'string' ? compileExpression(expression) : expression;
  const expr = handles.get(compiled);
  if (!expr) throw new TypeError('evaluate() takes an expression text or what compileExpression() returned');
  const timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const start = performance.now();
  const guard: Guard = {
    text: compiled.text,
    deadline: start + Math.max(timeoutMs * BACKSTOP_FACTOR, 30_000),
    timeoutMs,
    maxDepth: opts.maxDepth ?? DEFAULT_MAX_DEPTH,
    depth: 0,
    lastYield: start,
    used: 0,
    last: 0,
  };
  let result: unknown;
  try {
    result = await expr.evaluate(root, { ...opts.bindings, [GUARD]: guard });
  } catch (err) {
    // the guard's error wins: jsonata rewraps errors thrown inside $eval() as its own D3121
    throw guard.failure ?? failure(err, compiled.text);
  }
  return toJson(result, compiled.text);
}

function guardOf(environment: Environment): Guard | undefined {
  return environment.lookup(GUARD) as Guard | undefined;
}

function stop(guard: Guard, error: ExpressionError): ExpressionError {
  guard.failure ??= error;
  return guard.failure;
}

/** Runs before every evaluation step of every evaluation of a compiled expression. */
function onEntry(expr: { position?: number }, _input: unknown, environment: Environment): Promise<void> | undefined {
  const guard = guardOf(environment);
  if (!guard) return undefined;
  if (guard.failure) throw guard.failure;
  guard.depth += 1;
  if (guard.depth > guard.maxDepth) {
    throw stop(guard, new ExpressionError('EXPRESSION_LIMIT', `the expression ${excerpt(guard.text)} nests deeper than ${guard.maxDepth} steps (runaway recursion?)`, expr.position));
  }
  /*
   * The limit counts the time this evaluation runs, not the time it waits: under a burst of
   * executions a two-step mapping waits its turn far longer than it runs. Between two of its steps
   * at most MAX_GAP_MS counts (a gap beyond that is other work); our own yields do not count. A
   * wall-clock backstop far beyond the limit ends an evaluation that never gets the CPU back.
   */
  const now = performance.now();
  if (guard.last) guard.used += Math.min(now - guard.last, MAX_GAP_MS);
  guard.last = now;
  if (guard.used > guard.timeoutMs || now > guard.deadline) {
    throw stop(guard, new ExpressionError('EXPRESSION_TIMEOUT', `the expression ${excerpt(guard.text)} ran longer than ${guard.timeoutMs} ms and was stopped`, expr.position));
  }
  /*
   * jsonata awaits this hook. Awaiting anything else resolves in a microtask, which never lets
   * timers or I/O run: without this, a runaway holds the event loop until its deadline.
   */
  if (now - guard.lastYield >= YIELD_EVERY_MS) {
    guard.lastYield = now;
    return new Promise((resolve) =>
      setImmediate(() => {
        guard.last = performance.now(); // the wait for our turn does not count
        resolve();
      }),
    );
  }
  return undefined;
}

/** Runs after every evaluation step; not after a step that threw, which ends the evaluation anyway. */
function onExit(expr: { position?: number }, _input: unknown, environment: Environment, result: unknown): void {
  const guard = guardOf(environment);
  if (!guard) return;
  guard.depth -= 1;
  if (typeof result === 'string' && result.length > MAX_STRING_LENGTH) {
    throw stop(guard, new ExpressionError('EXPRESSION_LIMIT', `the expression ${excerpt(guard.text)} built a string longer than ${MAX_STRING_LENGTH} characters`, expr.position));
  }
}

/** jsonata's errors are plain objects with a code; a few codes are limits rather than failures. */
function failure(err: unknown, text: string): ExpressionError {
  if (err instanceof ExpressionError) return err;
  const e = (err ?? {}) as { code?: unknown; message?: unknown; position?: unknown };
  const code = typeof e.code === 'string' ? e.code : undefined;
  const message = typeof e.message === 'string' ? e.message : String(err);
  const position = typeof e.position === 'number' ? e.position : undefined;
  if (err instanceof RangeError) return new ExpressionError('EXPRESSION_LIMIT', `the expression ${excerpt(text)} exhausted the stack or memory: ${message}`);
  if (code === 'D2014' || code === 'D2015') {
    return new ExpressionError('EXPRESSION_LIMIT', `the expression ${excerpt(text)} builds a sequence longer than ${MAX_SEQUENCE} items`, position);
  }
  const at = position !== undefined ? ` at position ${position}` : '';
  return new ExpressionError('EXPRESSION_FAILED', `the expression ${excerpt(text)} failed${at}: ${message}`, position);
}

/**
 * A jsonata result as a plain JSON value: sequences become plain arrays (their `sequence`,
 * `keepSingleton`... flags dropped), objects are copied, undefined properties are left out.
 * A function anywhere in the result is an error: it is not data.
 */
function toJson(value: unknown, text: string): unknown {
  if (value === undefined || value === null) return value;
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return value;
    case 'number':
      if (!Number.isFinite(value)) throw new ExpressionError('EXPRESSION_FAILED', `the expression ${excerpt(text)} returned ${value}, which is not a JSON number`);
      return value;
    case 'object':
      break;
    default:
      throw new ExpressionError('EXPRESSION_FAILED', `the expression ${excerpt(text)} returned a ${typeof value}, which is not a value (did it end with a function definition?)`);
  }
  if (Array.isArray(value)) return value.map((item) => (item === undefined ? null : toJson(item, text)));
  if (value instanceof Date) return value.toISOString();
  const fn = value as { _jsonata_lambda?: unknown; _jsonata_function?: unknown };
  if (fn._jsonata_lambda === true || fn._jsonata_function === true) {
    throw new ExpressionError('EXPRESSION_FAILED', `the expression ${excerpt(text)} returned a function, which is not a value`);
  }
  const out: Record<string, unknown> = {};
  for (const [key, item] of Object.entries(value)) {
    if (item === undefined) continue;
    // an own "__proto__" key (JSON.parse makes them) is data: assigning it would set the prototype
    if (key === '__proto__') Object.defineProperty(out, key, { value: toJson(item, text), enumerable: true, writable: true, configurable: true });
    else out[key] = toJson(item, text);
  }
  return out;
}
