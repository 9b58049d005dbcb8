import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ExpressionError } from '../engine/expr/errors.ts';
import { DEFAULT_MAX_DEPTH, DEFAULT_TIMEOUT_MS, compileExpression, evaluate } from '../engine/expr/jsonata.ts';

const alert = {
  severity: 'high',
  event: { type: 'phishing', sender: 'ceo@examp1e.com' },
  iocs: [
    { type: 'ip', value: '203.0.113.7' },
    { type: 'domain', value: 'examp1e.com' },
    { type: 'ip', value: '198.51.100.2' },
  ],
  score: 85,
};

/** Asserts that a promise rejects with an ExpressionError of this code, and returns the error. */
async function rejectsWith(promise: Promise<unknown>, code: string): Promise<ExpressionError> {
  try {
    const value = await promise;
    assert.fail(`expected ${code}, got the value ${JSON.stringify(value)}`);
  } catch (err) {
    assert.ok(err instanceof ExpressionError, `expected an ExpressionError, got ${String(err)}`);
    assert.equal(err.code, code, err.message);
    assert.equal(err.name, 'ExpressionError');
    return err;
  }
}

const nextTurn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

describe('jsonata evaluation', () => {
  test('a condition over an alert reads the variables as its root', async () => {
    const condition = "severity in ['high', 'critical'] and event.type = 'phishing'";
    assert.equal(await evaluate(condition, alert), true);
    assert.equal(await evaluate(condition, { ...alert, severity: 'low' }), false);
    assert.equal(await evaluate(condition, { ...alert, event: { type: 'malware' } }), false);
    assert.deepEqual(await evaluate("iocs[type = 'ip'].value", alert), ['203.0.113.7', '198.51.100.2']);
    assert.equal(await evaluate('score > 80 ? "escalate" : "close"', alert), 'escalate');
  });

  test('results are plain JSON: sequences lose their flags, nothing selected stays undefined', async () => {
    const filtered = await evaluate('[1, 2, 3][$ > 1]', {});
    assert.deepEqual(filtered, [2, 3]); // strict: an own `sequence` property would make this fail
    assert.deepEqual(Object.keys(filtered as object), ['0', '1']);
    assert.deepEqual(await evaluate('iocs.type', alert), ['ip', 'domain', 'ip']);
    assert.deepEqual(await evaluate('[iocs[0].value]', alert), ['203.0.113.7']);
    assert.deepEqual(await evaluate('{"n": $count(iocs), "first": iocs[0]}', alert), { n: 3, first: { type: 'ip', value: '203.0.113.7' } });
    assert.equal(await evaluate('no.such.path', alert), undefined);
    assert.equal(await evaluate('null', alert), null);
    const copy = (await evaluate('event', alert)) as Record<string, unknown>;
    copy.type = 'changed';
    assert.equal(alert.event.type, 'phishing', 'a result is a copy, not a reference into the variables');
    const own = (await evaluate('$', JSON.parse('{"__proto__": {"admin": true}}'))) as Record<string, unknown>;
    assert.equal(Object.getPrototypeOf(own), Object.prototype);
    assert.deepEqual(Object.keys(own), ['__proto__']);
  });

  test('a function is not a result', async () => {
    await rejectsWith(evaluate('function($x) { $x }', {}), 'EXPRESSION_FAILED');
    await rejectsWith(evaluate('{"f": $uppercase}', {}), 'EXPRESSION_FAILED');
  });

  test('bindings are variables the expression reads with $', async () => {
    assert.equal(await evaluate('$output.verdict & "/" & severity', alert, { bindings: { output: { verdict: 'malicious' } } }), 'malicious/high');
  });

  test('syntax errors carry jsonata position and message; runtime errors are EXPRESSION_FAILED', async () => {
    assert.throws(
      () => compileExpression('severity = '),
      (err: unknown) => err instanceof ExpressionError && err.code === 'EXPRESSION_SYNTAX' && err.position === 11 && /position 11.*Unexpected end of expression/.test(err.message),
    );
    const syntax = await rejectsWith(evaluate('iocs[type = ', alert), 'EXPRESSION_SYNTAX');
    assert.match(syntax.message, /jsonata syntax error at position \d+/);
    const failed = await rejectsWith(evaluate('severity + 1', alert), 'EXPRESSION_FAILED');
    assert.match(failed.message, /left side of the "\+" operator must evaluate to a number/);
    const raised = await rejectsWith(evaluate('$error("no verdict")', alert), 'EXPRESSION_FAILED');
    assert.match(raised.message, /no verdict/);
  });

  test('compiled expressions are cached by text', () => {
    assert.equal(compileExpression('score > 50'), compileExpression('score > 50'));
    assert.notEqual(compileExpression('score > 50'), compileExpression('score > 51'));
    assert.equal(DEFAULT_TIMEOUT_MS, 1000);
    assert.equal(DEFAULT_MAX_DEPTH, 500);
  });
});

describe('runaway expressions are bounded', () => {
  test('infinite tail recursion stops at the time limit while timers and other evaluations keep running', async () => {
    const started = performance.now();
    let ended = 0;
    const runaway = evaluate('( $f := function($n) { $f($n + 1) }; $f(0) )', {}, { timeoutMs: 300 }).finally(() => {
      ended = performance.now();
    });
    let immediate = 0;
    let timer = 0;
    setImmediate(() => (immediate = performance.now()));
    setTimeout(() => (timer = performance.now()), 20);
    // another execution's expression, started while the runaway runs
    await nextTurn();
    const other = await evaluate('$sum(iocs.(type = "ip" ? 1 : 0))', alert);
    const otherDone = performance.now();

    const err = await rejectsWith(runaway, 'EXPRESSION_TIMEOUT');
    assert.match(err.message, /ran longer than 300 ms/);
    const elapsed = ended - started;
    assert.ok(elapsed >= 300 && elapsed < 1300, `stopped after ${elapsed.toFixed(0)} ms`);
    assert.equal(other, 2);
    assert.ok(immediate > 0 && immediate < ended, 'a setImmediate fired while the runaway ran');
    assert.ok(timer > 0 && timer < ended, 'a 20 ms timer fired while the runaway ran');
    assert.ok(otherDone < ended, 'the other evaluation finished before the runaway was stopped');
  });

  test('deep non-tail recursion stops at the depth limit', async () => {
    const started = performance.now();
    const err = await rejectsWith(evaluate('( $f := function($n) { $n = 0 ? 0 : 1 + $f($n - 1) }; $f(100000) )', {}), 'EXPRESSION_LIMIT');
    assert.match(err.message, /deeper than 500 steps/);
    assert.ok(performance.now() - started < 1000);
    // the same recursion, shallow, is fine
    assert.equal(await evaluate('( $f := function($n) { $n = 0 ? 0 : 1 + $f($n - 1) }; $f(30) )', {}), 30);
  });

  test('huge ranges and strings are refused before they exhaust memory', async () => {
    await rejectsWith(evaluate('[1..10000000]', {}), 'EXPRESSION_LIMIT');
    await rejectsWith(evaluate('$sum([1..1e7])', {}), 'EXPRESSION_LIMIT');
    await rejectsWith(evaluate('$reduce([1..40], function($acc, $i) { $acc & $acc }, "x")', {}), 'EXPRESSION_LIMIT');
    assert.equal(await evaluate('$count([1..100000])', {}), 100000);
  });

  test('a runaway inside $eval is still stopped, and reported as a timeout', async () => {
    await rejectsWith(evaluate('$eval("( $f := function($n) { $f($n + 1) }; $f(0) )")', {}, { timeoutMs: 100 }), 'EXPRESSION_TIMEOUT');
  });

  test('limits are per evaluation: the same compiled expression runs away and finishes at once', async () => {
    const loop = compileExpression('( $loop := function($n) { $n >= stop ? $n : $loop($n + 1) }; $loop(0) )');
    const started = performance.now();
    let runawayDone = false;
    let ended = 0;
    const runaway = evaluate(loop, { stop: 1e15 }, { timeoutMs: 300 }).finally(() => {
      runawayDone = true;
      ended = performance.now();
    });
    await nextTurn();
    assert.equal(runawayDone, false, 'the runaway is running');
    // a later call with a long deadline must not extend the runaway's, nor inherit its failure
    assert.equal(await evaluate(loop, { stop: 2000 }, { timeoutMs: 10_000 }), 2000);
    assert.equal(runawayDone, false, 'the quick evaluation finished while the runaway ran');
    // a call with a tiny depth limit fails alone
    await rejectsWith(evaluate(loop, { stop: 10 }, { maxDepth: 3 }), 'EXPRESSION_LIMIT');
    assert.equal(await evaluate(loop, { stop: 10 }), 10);

    await rejectsWith(runaway, 'EXPRESSION_TIMEOUT');
    assert.ok(ended - started < 1300, `the runaway kept its own 300 ms deadline (stopped after ${(ended - started).toFixed(0)} ms)`);
    // and the compiled expression is fine afterwards
    assert.equal(await evaluate(loop, { stop: 5 }), 5);
  });

  test('many runaways at once all stop near their limit', async () => {
    const started = performance.now();
    const all = Array.from({ length: 8 }, () => evaluate('( $f := function($n) { $f($n + 1) }; $f(0) )', {}, { timeoutMs: 200 }));
    for (const p of all) await rejectsWith(p, 'EXPRESSION_TIMEOUT');
    const elapsed = performance.now() - started;
    assert.ok(elapsed < 1500, `8 runaways took ${elapsed.toFixed(0)} ms`);
  });
});
