import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Engine } from 'bpmn-engine';
import { expressionProblem } from '../engine/bpmn/expressions.ts';
import { moddleOptions } from '../engine/bpmn/moddle.ts';
import { conditionToJsonata } from '../engine/expr/condition.ts';
import { ExpressionError } from '../engine/expr/errors.ts';
import { DEFAULT_MAX_DEPTH, DEFAULT_TIMEOUT_MS, compileExpression, evaluate } from '../engine/expr/jsonata.ts';
import { renderTemplate } from '../engine/expr/template.ts';
import { mappingSites, resultVariableOf, scriptOf, taskInput, taskOutput } from '../engine/io.ts';

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

  test('many runaways at once each stop after running their own limit', async () => {
    // the limit is each evaluation's running time: 8 runaways sharing the CPU end after about 8 x 200 ms
    const started = performance.now();
    await Promise.all(
      Array.from({ length: 8 }, () => rejectsWith(evaluate('( $f := function($n) { $f($n + 1) }; $f(0) )', {}, { timeoutMs: 200 }), 'EXPRESSION_TIMEOUT')),
    );
    const elapsed = performance.now() - started;
    assert.ok(elapsed < 3500, `8 runaways took ${elapsed.toFixed(0)} ms`);
  });

  test('waiting for the CPU does not count against the limit', async () => {
    // a quick expression that waits behind 300 ms of other work still succeeds with a 100 ms limit
    const quick = evaluate('$sum([1, 2, 3]) + $count([4, 5])', {}, { timeoutMs: 100 });
    const until = performance.now() + 300;
    while (performance.now() < until) {
      /* another execution's work holds the event loop */
    }
    assert.equal(await quick, 8);
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

/** bpmn-engine's `activity.behaviour` of each task, parsed as the runtime parses it. */
async function behaviours(tasks: string): Promise<(id: string) => object> {
  const xml = `<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" xmlns:camunda="http://camunda.org/schema/1.0/bpmn" xmlns:zeebe="http://camunda.org/schema/zeebe/1.0" id="Defs">
<bpmn:process id="P" isExecutable="true">${tasks}</bpmn:process>
</bpmn:definitions>`;
  const engine = new Engine({ source: xml, moddleOptions } as ConstructorParameters<typeof Engine>[0]);
  const [definition] = await engine.getDefinitions();
  assert.ok(definition);
  return (id) => {
    const activity = definition.getActivityById(id) as unknown as { behaviour: object } | null;
    assert.ok(activity, id);
    return activity.behaviour;
  };
}

describe('input and output mappings', () => {
  const variables = {
    alert: { id: 'A-42', severity: 'high', source: { ip: '203.0.113.7' }, iocs: alert.iocs, tags: ['vip'] },
    count: 3,
  };

  test('Camunda 7 input parameters: literals, ${} paths and comparisons, text with ${}, map, list, jsonata script', async () => {
    const task = await behaviours(`
<bpmn:serviceTask id="Lookup" camunda:type="external" camunda:topic="core.http"><bpmn:extensionElements><camunda:inputOutput>
  <camunda:inputParameter name="url">https://intel.example/ip</camunda:inputParameter>
  <camunda:inputParameter name="ip">\${alert.source.ip}</camunda:inputParameter>
  <camunda:inputParameter name="whole">\${alert.source}</camunda:inputParameter>
  <camunda:inputParameter name="urgent">\${alert.severity == 'high' &amp;&amp; count &gt; 2}</camunda:inputParameter>
  <camunda:inputParameter name="missing">\${alert.nothing}</camunda:inputParameter>
  <camunda:inputParameter name="title">Alert \${alert.id} is \${alert.severity} (\${count} hits)</camunda:inputParameter>
  <camunda:inputParameter name="price">$5 and {braces}</camunda:inputParameter>
  <camunda:inputParameter name="headers"><camunda:map>
    <camunda:entry key="X-Alert">\${alert.id}</camunda:entry>
    <camunda:entry key="X-Tags"><camunda:list><camunda:value>fixed</camunda:value><camunda:value>\${count}</camunda:value><camunda:map><camunda:entry key="nested">\${alert.severity}</camunda:entry></camunda:map></camunda:list></camunda:entry>
  </camunda:map></camunda:inputParameter>
  <camunda:inputParameter name="ips"><camunda:script scriptFormat="jsonata">alert.iocs[type = 'ip'].value</camunda:script></camunda:inputParameter>
</camunda:inputOutput></bpmn:extensionElements></bpmn:serviceTask>
<bpmn:serviceTask id="Bare" camunda:type="external" camunda:topic="core.noop"/>`);
    assert.deepEqual(await taskInput(task('Lookup'), variables), {
      url: 'https://intel.example/ip',
      ip: '203.0.113.7',
      whole: { ip: '203.0.113.7' },
      urgent: true,
      missing: null,
      title: 'Alert A-42 is high (3 hits)',
      price: '$5 and {braces}',
      headers: { 'X-Alert': 'A-42', 'X-Tags': ['fixed', 3, { nested: 'high' }] },
      ips: ['203.0.113.7', '198.51.100.2'],
    });
    assert.deepEqual(await taskInput(task('Bare'), variables), {});
  });

  test('Camunda 8 ioMapping: = expressions (FEEL comparisons or jsonata), literals, dotted targets', async () => {
    const task = await behaviours(`
<bpmn:serviceTask id="Isolate"><bpmn:extensionElements><zeebe:taskDefinition type="core.http"/><zeebe:ioMapping>
  <zeebe:input source="=alert.source.ip" target="body.host"/>
  <zeebe:input source="isolate" target="body.action"/>
  <zeebe:input source="=alert.severity = &quot;high&quot; and count &gt; 2" target="urgent"/>
  <zeebe:input source="=alert.iocs[type = 'domain'].value" target="body.domains"/>
  <zeebe:input source="=&quot;alert &quot; &amp; alert.id" target="subject"/>
  <zeebe:input source="=5" target="retries"/>
</zeebe:ioMapping></bpmn:extensionElements></bpmn:serviceTask>`);
    assert.deepEqual(await taskInput(task('Isolate'), variables), {
      body: { host: '203.0.113.7', action: 'isolate', domains: 'examp1e.com' },
      urgent: true,
      subject: 'alert A-42',
      retries: 5,
    });
  });

  test('outputs: evaluated over the variables and the output, $output bound, null when there is no output mapping', async () => {
    const task = await behaviours(`
<bpmn:serviceTask id="C7" camunda:type="external" camunda:topic="core.http" camunda:resultVariable="lookup"><bpmn:extensionElements><camunda:inputOutput>
  <camunda:outputParameter name="score">\${reputation.score}</camunda:outputParameter>
  <camunda:outputParameter name="malicious"><camunda:script scriptFormat="jsonata">$output.reputation.score &gt; 80 and alert.severity = 'high'</camunda:script></camunda:outputParameter>
  <camunda:outputParameter name="verdictOf">\${alert.id}</camunda:outputParameter>
</camunda:inputOutput></bpmn:extensionElements></bpmn:serviceTask>
<bpmn:serviceTask id="C8"><bpmn:extensionElements><zeebe:taskDefinition type="core.http"/><zeebe:ioMapping>
  <zeebe:output source="=reputation.score" target="alert.score"/>
  <zeebe:output source="=$output.reputation.engines[0]" target="alert.enrichment.firstEngine"/>
  <zeebe:output source="done" target="status"/>
</zeebe:ioMapping></bpmn:extensionElements></bpmn:serviceTask>
<bpmn:serviceTask id="None" camunda:type="external" camunda:topic="core.http"><bpmn:extensionElements><camunda:inputOutput>
  <camunda:inputParameter name="x">1</camunda:inputParameter>
</camunda:inputOutput></bpmn:extensionElements></bpmn:serviceTask>`);
    const output = { reputation: { score: 91, engines: ['vt', 'misp'] } };
    assert.deepEqual(await taskOutput(task('C7'), output, variables), { score: 91, malicious: true, verdictOf: 'A-42' });
    const set = await taskOutput(task('C8'), output, variables);
    assert.deepEqual(set, {
      alert: { ...variables.alert, score: 91, enrichment: { firstEngine: 'vt' } },
      status: 'done',
    });
    assert.equal((variables.alert as Record<string, unknown>).score, undefined, 'the variables themselves are not changed');
    assert.equal(await taskOutput(task('None'), output, variables), null);
    // an output that is not an object is only $output
    assert.deepEqual(await taskOutput(task('C7'), 'text', variables), { score: null, malicious: false, verdictOf: 'A-42' });
  });

  test('result variables and scripts, Camunda 7 and 8', async () => {
    const task = await behaviours(`
<bpmn:serviceTask id="C7" camunda:type="external" camunda:topic="core.http" camunda:resultVariable="lookup"/>
<bpmn:serviceTask id="Connector"><bpmn:extensionElements><zeebe:taskDefinition type="core.http"/><zeebe:taskHeaders><zeebe:header key="resultVariable" value="reputation"/></zeebe:taskHeaders></bpmn:extensionElements></bpmn:serviceTask>
<bpmn:serviceTask id="Plain" camunda:type="external" camunda:topic="core.http"/>
<bpmn:scriptTask id="Score" scriptFormat="JSONata" camunda:resultVariable="score"><bpmn:script>severity = 'high' ? 90 : 10</bpmn:script></bpmn:scriptTask>
<bpmn:scriptTask id="Unnamed" scriptFormat="jsonata"><bpmn:script>$count(iocs)</bpmn:script></bpmn:scriptTask>
<bpmn:scriptTask id="Zeebe"><bpmn:extensionElements><zeebe:script expression="=count &gt; 2" resultVariable="many"/></bpmn:extensionElements></bpmn:scriptTask>
<bpmn:scriptTask id="ZeebeJsonata"><bpmn:extensionElements><zeebe:script expression="=$sum(iocs.(type = 'ip' ? 1 : 0))" resultVariable="ips"/></bpmn:extensionElements></bpmn:scriptTask>
<bpmn:scriptTask id="Groovy" scriptFormat="groovy"><bpmn:script>1</bpmn:script></bpmn:scriptTask>`);
    assert.equal(resultVariableOf(task('C7')), 'lookup');
    assert.equal(resultVariableOf(task('Connector')), 'reputation');
    assert.equal(resultVariableOf(task('Plain')), undefined);
    assert.deepEqual(scriptOf(task('Score')), { expression: "severity = 'high' ? 90 : 10", resultVariable: 'score' });
    assert.deepEqual(scriptOf(task('Unnamed')), { expression: '$count(iocs)' });
    assert.deepEqual(scriptOf(task('Zeebe')), { expression: 'count > 2', resultVariable: 'many' });
    assert.equal(scriptOf(task('Groovy')), undefined);
    const zeebe = scriptOf(task('ZeebeJsonata'));
    assert.deepEqual(zeebe, { expression: "$sum(iocs.(type = 'ip' ? 1 : 0))", resultVariable: 'ips' });
    assert.equal(await evaluate(zeebe.expression, alert), 2);
    assert.equal(await evaluate(scriptOf(task('Score'))!.expression, alert), 90);
  });

  test('a mapping that cannot be evaluated rejects with the reason; a runaway mapping is bounded', async () => {
    const task = await behaviours(`
<bpmn:serviceTask id="Juel" camunda:type="external" camunda:topic="core.http"><bpmn:extensionElements><camunda:inputOutput>
  <camunda:inputParameter name="x">\${execution.getVariable('alert')}</camunda:inputParameter>
</camunda:inputOutput></bpmn:extensionElements></bpmn:serviceTask>
<bpmn:serviceTask id="Groovy" camunda:type="external" camunda:topic="core.http"><bpmn:extensionElements><camunda:inputOutput>
  <camunda:inputParameter name="x"><camunda:script scriptFormat="groovy">alert</camunda:script></camunda:inputParameter>
</camunda:inputOutput></bpmn:extensionElements></bpmn:serviceTask>
<bpmn:serviceTask id="Loop"><bpmn:extensionElements><zeebe:taskDefinition type="core.http"/><zeebe:ioMapping>
  <zeebe:input source="=( $f := function($n) { $f($n + 1) }; $f(0) )" target="x"/>
</zeebe:ioMapping></bpmn:extensionElements></bpmn:serviceTask>`);
    const juel = await rejectsWith(taskInput(task('Juel'), variables), 'EXPRESSION_SYNTAX');
    assert.match(juel.message, /a method or function call: execution\.getVariable/);
    await rejectsWith(taskInput(task('Groovy'), variables), 'EXPRESSION_SYNTAX');
    await rejectsWith(taskInput(task('Loop'), variables, { timeoutMs: 100 }), 'EXPRESSION_TIMEOUT');
  });

  test('a mapping target never reaches a prototype', async () => {
    const task = await behaviours(`
<bpmn:serviceTask id="Evil"><bpmn:extensionElements><zeebe:taskDefinition type="core.http"/><zeebe:ioMapping>
  <zeebe:input source="yes" target="__proto__.polluted"/>
  <zeebe:input source="yes" target="constructor.prototype.polluted"/>
</zeebe:ioMapping></bpmn:extensionElements></bpmn:serviceTask>`);
    const input = await taskInput(task('Evil'), variables);
    assert.equal(({} as Record<string, unknown>).polluted, undefined);
    assert.equal(Object.getPrototypeOf(input), Object.prototype);
    assert.deepEqual(Object.keys(input), ['__proto__', 'constructor']);
    assert.equal((Object.getOwnPropertyDescriptor(input, '__proto__')?.value as Record<string, unknown>).polluted, 'yes');
  });

  test('mappingSites lets deploy-time validation refuse what taskInput would fail on', async () => {
    const task = await behaviours(`
<bpmn:serviceTask id="Lookup" camunda:type="external" camunda:topic="core.http"><bpmn:extensionElements><camunda:inputOutput>
  <camunda:inputParameter name="url">https://intel.example/ip</camunda:inputParameter>
  <camunda:inputParameter name="headers"><camunda:map><camunda:entry key="X-Id">\${alert.id()}</camunda:entry></camunda:map></camunda:inputParameter>
  <camunda:inputParameter name="script"><camunda:script scriptFormat="groovy">x</camunda:script></camunda:inputParameter>
  <camunda:outputParameter name="score">\${reputation.score}</camunda:outputParameter>
</camunda:inputOutput><zeebe:ioMapping><zeebe:input source="=iocs[" target="iocs"/></zeebe:ioMapping></bpmn:extensionElements></bpmn:serviceTask>`);
    const problems = mappingSites(task('Lookup'), 'Lookup')
      .map(expressionProblem)
      .filter((p) => p !== undefined);
    assert.equal(problems.length, 3, JSON.stringify(problems));
    assert.match(problems[0]!, /^the input headers\.X-Id of Lookup uses \$\{alert\.id\(\)\}, with a method or function call/);
    assert.match(problems[1]!, /^the input script of Lookup is a script in groovy/);
    assert.match(problems[2]!, /^the input iocs of Lookup is not valid: jsonata syntax error/);
  });
});

describe('message templates', () => {
  const variables = {
    alert: { id: 'A-42', severity: 'high', title: 'Invoice <urgent> & overdue', owner: null, iocs: ['203.0.113.7', 'examp1e.com'] },
    enrich: { score: 91 },
  };

  test('render variables into a Slack message, unescaped by default, HTML-escaped on request', () => {
    const text = '{{upper alert.severity}} alert {{alert.id}}: {{alert.title}} (score {{enrich.score}}, owner {{default alert.owner "unassigned"}})';
    assert.equal(renderTemplate(text, variables), 'HIGH alert A-42: Invoice <urgent> & overdue (score 91, owner unassigned)');
    assert.equal(renderTemplate('{{alert.title}}', variables, { escape: true }), 'Invoice &lt;urgent&gt; &amp; overdue');
    assert.equal(renderTemplate('{{{alert.title}}}', variables, { escape: true }), 'Invoice <urgent> & overdue');
  });

  test('helpers: json, upper, lower, default, eq, join; block helpers', () => {
    assert.equal(renderTemplate('{{json alert.iocs}}', variables), '["203.0.113.7","examp1e.com"]');
    assert.equal(renderTemplate('{{json enrich 2}}', variables), '{\n  "score": 91\n}');
    assert.equal(renderTemplate('{{lower "PHISHING"}}', variables), 'phishing');
    assert.equal(renderTemplate('{{join alert.iocs}} | {{join alert.iocs " / "}}', variables), '203.0.113.7, examp1e.com | 203.0.113.7 / examp1e.com');
    assert.equal(renderTemplate('{{#if (eq alert.severity "high")}}page the on-call{{else}}ticket{{/if}}', variables), 'page the on-call');
    assert.equal(renderTemplate('{{#each alert.iocs}}- {{this}}\n{{/each}}', variables), '- 203.0.113.7\n- examp1e.com\n');
    assert.equal(renderTemplate('[{{alert.missing.deeper}}]', variables), '[]');
  });

  test('numbers next to each other are written side by side, not added', () => {
    // a regression test: Handlebars joins output with +, so 9 and 1 rendered "10"
    const numbers = { a: 9, b: 1, list: [1, 2] };
    assert.equal(renderTemplate('{{a}}{{b}}', numbers), '91');
    assert.equal(renderTemplate('{{{a}}}{{{b}}} points', numbers, { escape: true }), '91 points');
    assert.equal(renderTemplate('{{a}}{{b}}{{#each list}}{{this}}{{this}}{{/each}}', numbers), '911122');
    assert.equal(renderTemplate('{{a}}', numbers), '9');
    assert.equal(typeof renderTemplate('{{a}}', numbers), 'string');
  });

  test('no access to prototypes: constructor, __proto__ and friends render nothing', () => {
    assert.equal(renderTemplate('{{alert.id.length}} {{alert.iocs.length}}', variables), '4 2', 'own properties still render');
    for (const t of [
      '{{constructor.constructor}}',
      '{{__proto__}}',
      '{{alert.constructor}}',
      '{{alert.__proto__.constructor}}',
      '{{#with alert}}{{constructor.name}}{{/with}}',
      '{{lookup alert "constructor"}}',
      '{{lookup (lookup alert "constructor") "constructor"}}',
      '{{toString}}{{valueOf}}{{hasOwnProperty}}',
    ]) {
      assert.equal(renderTemplate(t, variables), '', t);
    }
  });

  test('template errors: syntax, unknown helpers, partials and log are TEMPLATE_SYNTAX', () => {
    const cases: Array<[string, RegExp]> = [
      ['{{#if alert}}unclosed', /Parse error on line 1/],
      ['{{shell "rm -rf /"}}', /unknown helper shell/],
      ['{{> header}}', /partials .* are not supported/],
      ['{{log alert}}', /unknown helper log/],
    ];
    for (const [t, message] of cases) {
      assert.throws(
        () => renderTemplate(t, variables),
        (err: unknown) => err instanceof ExpressionError && err.code === 'TEMPLATE_SYNTAX' && message.test(err.message),
        t,
      );
    }
  });
});
