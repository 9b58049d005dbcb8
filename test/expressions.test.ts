import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { expressionProblem } from '../engine/bpmn/expressions.ts';
import { conditionToJsonata } from '../engine/expr/condition.ts';
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
    // rejectsWith() is attached now: a rejection nobody listens to yet would fail the test run
    const runaway = rejectsWith(
      evaluate('( $f := function($n) { $f($n + 1) }; $f(0) )', {}, { timeoutMs: 300 }).finally(() => {
        ended = performance.now();
      }),
      'EXPRESSION_TIMEOUT',
    );
    let immediate = 0;
    let timer = 0;
    setImmediate(() => (immediate = performance.now()));
    setTimeout(() => (timer = performance.now()), 20);
    // another execution's expression, started while the runaway runs
    await nextTurn();
    const other = await evaluate('$sum(iocs.(type = "ip" ? 1 : 0))', alert);
    const otherDone = performance.now();

    const err = await runaway;
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
    const runaway = rejectsWith(
      evaluate(loop, { stop: 1e15 }, { timeoutMs: 300 }).finally(() => {
        runawayDone = true;
        ended = performance.now();
      }),
      'EXPRESSION_TIMEOUT',
    );
    await nextTurn();
    assert.equal(runawayDone, false, 'the runaway is running');
    // a later call with a long deadline must not extend the runaway's, nor inherit its failure
    assert.equal(await evaluate(loop, { stop: 2000 }, { timeoutMs: 10_000 }), 2000);
    assert.equal(runawayDone, false, 'the quick evaluation finished while the runaway ran');
    // a call with a tiny depth limit fails alone
    await rejectsWith(evaluate(loop, { stop: 10 }, { maxDepth: 3 }), 'EXPRESSION_LIMIT');
    assert.equal(await evaluate(loop, { stop: 10 }), 10);

    await runaway;
    assert.ok(ended - started < 1300, `the runaway kept its own 300 ms deadline (stopped after ${(ended - started).toFixed(0)} ms)`);
    // and the compiled expression is fine afterwards
    assert.equal(await evaluate(loop, { stop: 5 }), 5);
  });

  test('many runaways at once all stop near their limit', async () => {
    const started = performance.now();
    await Promise.all(
      Array.from({ length: 8 }, () => rejectsWith(evaluate('( $f := function($n) { $f($n + 1) }; $f(0) )', {}, { timeoutMs: 200 }), 'EXPRESSION_TIMEOUT')),
    );
    const elapsed = performance.now() - started;
    assert.ok(elapsed < 1500, `8 runaways took ${elapsed.toFixed(0)} ms`);
  });
});

describe('conditions as playbook authors write them', () => {
  const variables = {
    approved: true,
    clarified: 'no',
    count: 3,
    owner: null,
    in: 2,
    alert: { severity: 'high', score: 85, closed: false, source: { ip: '203.0.113.7' } },
  };

  /** [condition body, its value against `variables`] */
  const accepted: Array<[string, boolean]> = [
    // jsonata as is
    ["alert.severity in ['high', 'critical'] and alert.score > 80", true],
    ['count > 5 or $not(approved)', false],
    // Camunda 7 ${...}
    ['${approved}', true],
    ['${!approved}', false],
    ['${not approved}', false],
    ["${clarified == 'no'}", true],
    ["${clarified != 'no'}", false],
    ['${alert.score > 80 && !alert.closed}', true],
    ['${alert.score >= 86 || alert.closed}', false],
    ["${alert.severity eq 'low' or count ge 3}", true],
    ['${(alert.severity == "high" || false) && count < 4}', true],
    ['${alert.source.ip == "203.0.113.7"}', true],
    ['${count <= -1}', false],
    ['${owner == null}', true],
    ['${missing != 1}', true], // JUEL null semantics: a missing variable is not equal to 1
    ['${missing == 1}', false],
    ['${in == 2}', true], // a variable named like a jsonata operator
    ['#{count > 2.5}', true],
    ["  ${ clarified == 'yes' }  ", false],
    // Camunda 8 FEEL =...
    ['=approved', true],
    ['= not(approved)', false],
    ['=alert.severity = "high" and alert.score >= 90', false],
    ['=clarified != "no" or count = 3', true],
    ['=not(alert.closed) and (count > 1 or owner = null)', true],
  ];

  for (const [body, expected] of accepted) {
    test(`${body.trim()} is ${expected}`, async () => {
      const c = conditionToJsonata(body, body.startsWith('count') ? 'JSONata' : undefined);
      assert.ok('expression' in c, JSON.stringify(c));
      assert.equal(await evaluate(c.expression, variables), expected, `translated to ${c.expression}`);
    });
  }

  test('Camunda forms other than a simple comparison are refused, saying to write jsonata', () => {
    const refused: Array<[string, RegExp]> = [
      ["${execution.getVariable('approved')}", /a method or function call: execution\.getVariable\(\.\.\.\)/],
      ['${alert.tags.contains("x")}', /a method or function call/],
      ['${approved ? 1 : 2}', /"\?" at position 11/],
      ['${count + 1 > 2}', /"\+"/],
      ['${empty owner}', /"owner"/],
      ["${clarified == 'no}", /an unterminated string/],
      ['${}', /an empty expression/],
      ['${a} && ${b}', /"\}"/],
    ];
    for (const [body, reason] of refused) {
      const c = conditionToJsonata(body);
      assert.ok('problem' in c, `${body} was translated to ${JSON.stringify(c)}`);
      assert.match(c.problem, reason, body);
      assert.match(c.problem, /the \$\{\} form supports only simple comparisons.*write the condition in jsonata instead/, body);
    }
    for (const body of ['=some risk in riskLevels satisfies risk = "red"', '=count(list) > 1', '=a + 1 > 2', '=if a then b else c']) {
      const c = conditionToJsonata(body);
      assert.ok('problem' in c, `${body} was translated to ${JSON.stringify(c)}`);
      assert.match(c.problem, /^is a FEEL expression with .*only simple FEEL comparisons/, body);
    }
  });

  test('a condition in another language is refused naming the language', () => {
    const cases: Array<[string, RegExp]> = [
      ['javascript', /^is written in javascript; only jsonata expressions are run$/],
      ['groovy', /written in groovy/],
      ['python', /written in python/],
      ['juel', /written in juel/],
      ['feel', /written in feel/],
      ['http://www.w3.org/1999/XPath', /written in XPath \(http:\/\/www\.w3\.org\/1999\/XPath\)/],
      ['https://www.omg.org/spec/DMN/20191111/FEEL/', /written in FEEL \(https:/],
    ];
    for (const [language, reason] of cases) {
      const c = conditionToJsonata('${approved}', language);
      assert.ok('problem' in c, language);
      assert.match(c.problem, reason);
    }
    assert.match((conditionToJsonata('  ') as { problem: string }).problem, /^is empty/);
  });
});

describe('deploy-time expression checks', () => {
  test('conditions: accepted when they translate and compile, else a reason naming the flow', () => {
    const condition = (body: string, language?: string) => expressionProblem({ kind: 'condition', element: 'Flow_1', language, body });
    assert.equal(condition("severity in ['high', 'critical'] and event.type = 'phishing'"), undefined);
    assert.equal(condition('score > 80', 'jsonata'), undefined);
    assert.equal(condition("${clarified == 'yes'}"), undefined);
    assert.equal(condition('=fraud'), undefined);
    assert.match(condition('score >') ?? '', /^the condition of Flow_1 is not valid: jsonata syntax error at position 7/);
    assert.match(condition('Service Level == "Premium"') ?? '', /^the condition of Flow_1 is not valid: jsonata syntax error/);
    assert.match(condition('${execution.getVariable("x")}') ?? '', /^the condition of Flow_1 uses the \$\{\} form with a method or function call/);
    assert.match(condition('x == 1', 'groovy') ?? '', /^the condition of Flow_1 is written in groovy/);
    assert.match(condition('') ?? '', /^the condition of Flow_1 is empty/);
  });

  test('scripts: jsonata in any case that compiles; other languages named', () => {
    const script = (body: string | undefined, language: string | undefined) => expressionProblem({ kind: 'script', element: 'Score', language, body });
    assert.equal(script('severity = "high" ? 90 : 10', 'jsonata'), undefined);
    assert.equal(script('$sum(iocs.score)', 'JSONata'), undefined);
    assert.match(script('$sum(iocs.score', 'jsonata') ?? '', /^script task Score is not valid: jsonata syntax error at position \d+/);
    assert.equal(script('next(null, 1)', 'javascript'), 'script task Score is written in javascript; only jsonata expressions are run');
    assert.match(script('1', undefined) ?? '', /^script task Score has no scriptFormat/);
    assert.match(script(' ', 'jsonata') ?? '', /^script task Score has no script$/);
  });

  test('mapping, timer and collection values: literals pass, expressions must translate and compile', () => {
    const value = (kind: 'mapping' | 'timer' | 'collection', syntax: 'camunda' | 'zeebe', body: string | undefined, language?: string) =>
      expressionProblem({ kind, element: 'Lookup', syntax, what: kind === 'mapping' ? 'input url' : undefined, body, ...(language ? { language } : {}) });
    assert.equal(value('mapping', 'camunda', 'https://intel.example/ip'), undefined);
    assert.equal(value('mapping', 'camunda', '${alert.source.ip}'), undefined);
    assert.equal(value('mapping', 'camunda', 'Alert ${alert.id} is ${alert.severity}'), undefined);
    assert.equal(value('mapping', 'zeebe', '=alert.iocs[type = "ip"].value'), undefined);
    assert.equal(value('mapping', 'zeebe', 'a literal'), undefined);
    assert.equal(value('mapping', 'camunda', 'iocs[type="ip"]', 'jsonata'), undefined);
    assert.match(value('mapping', 'camunda', '${lookup.run()}') ?? '', /^the input url of Lookup uses \$\{lookup\.run\(\)\}, with a method or function call/);
    assert.match(value('mapping', 'camunda', 'x', 'groovy') ?? '', /^the input url of Lookup is a script in groovy/);
    assert.match(value('mapping', 'zeebe', '=iocs[') ?? '', /^the input url of Lookup is not valid: jsonata syntax error/);
    assert.equal(value('timer', 'zeebe', 'PT15M'), undefined);
    assert.equal(value('timer', 'zeebe', '=sla.duration'), undefined);
    assert.equal(value('collection', 'camunda', 'iocs'), undefined);
    assert.equal(value('collection', 'camunda', '${alert.iocs}'), undefined);
    assert.equal(value('collection', 'zeebe', '=alert.iocs'), undefined);
    assert.match(value('collection', 'zeebe', 'alert.iocs') ?? '', /^the collection of Lookup is not an expression: start it with "="/);
  });
});
