import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, test } from 'node:test';
import { Engine } from 'bpmn-engine';
import { Findings } from '../engine/bpmn/findings.ts';
import { checkLoadable } from '../engine/bpmn/loadable.ts';
import { moddleOptions } from '../engine/bpmn/moddle.ts';
import { parseBpmn } from '../engine/bpmn/parse.ts';
import { activityOf, validateBpmn, type Problem, type ValidationResult } from '../engine/bpmn/validate.ts';

const opts = { hasActivity: (id: string) => id.startsWith('core.') };
const fixture = (name: string): string => readFileSync(new URL(`./fixtures/bpmn/${name}`, import.meta.url), 'utf8');

function definitions(body: string, namespaces = ''): string {
  return `<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" xmlns:camunda="http://camunda.org/schema/1.0/bpmn" xmlns:zeebe="http://camunda.org/schema/zeebe/1.0" ${namespaces} id="Defs">
${body}
</bpmn:definitions>`;
}

/** An executable process: start -> the given nodes in a row -> end. */
function chain(nodes: string[], attrs = 'isExecutable="true"'): string {
  const ids = ['start', ...nodes.map((n) => /id="([^"]+)"/.exec(n)?.[1] ?? '?'), 'end'];
  const flows = ids.slice(1).map((id, i) => `<bpmn:sequenceFlow id="f${i}" sourceRef="${ids[i]}" targetRef="${id}"/>`);
  return `<bpmn:process id="P" ${attrs}>
  <bpmn:startEvent id="start"/>
  ${nodes.join('\n  ')}
  <bpmn:endEvent id="end"/>
  ${flows.join('\n  ')}
</bpmn:process>`;
}

function problemOf(result: ValidationResult, element: string): Problem {
  const p = result.problems.find((x) => x.element === element);
  assert.ok(p, `expected a problem naming ${element}, got ${JSON.stringify(result.problems)}`);
  return p;
}

async function engineLoads(xml: string): Promise<void> {
  const engine = new Engine({ source: xml, moddleOptions } as ConstructorParameters<typeof Engine>[0]);
  await engine.getDefinitions();
}

describe('validateBpmn', () => {
  test('a Camunda 7 playbook binds its external tasks by camunda:topic', async () => {
    const r = await validateBpmn(fixture('camunda7-enrich-alert.bpmn'), opts);
    // its condition `score > 80` is jsonata (language="jsonata"), which the engine evaluates
    assert.deepEqual(r.problems, []);
    assert.deepEqual(r.warnings, [], 'diagram colours and modeler metadata are not worth a warning');
    assert.equal(r.ok, true);
    const { shape, ...proc } = r.process!;
    assert.deepEqual([...shape.parentOf.keys()].includes('LookupIp'), true);
    assert.deepEqual(proc, {
      id: 'enrich-alert',
      name: 'Enrich alert',
      tasks: [
        { id: 'LookupIp', name: 'Look up source IP', type: 'bpmn:ServiceTask', activity: 'core.http' },
        { id: 'NotifySoc', name: 'Notify SOC', type: 'bpmn:SendTask', activity: 'core.noop' },
      ],
    });
  });

  test('a Camunda 8 playbook binds its tasks by zeebe:taskDefinition type', async () => {
    const r = await validateBpmn(fixture('camunda8-contain-host.bpmn'), opts);
    // its script task `severity * 10` is jsonata (scriptFormat="jsonata"), which the engine evaluates
    assert.deepEqual(r.problems, []);
    assert.deepEqual(r.warnings, []);
    const { shape, ...proc } = r.process!;
    assert.deepEqual(shape.starts.map((s) => s.kind), ['none']);
    assert.deepEqual(proc, {
      id: 'contain-host',
      name: 'Contain host',
      tasks: [
        { id: 'Isolate', name: 'Isolate host', type: 'bpmn:ServiceTask', activity: 'core.http' },
        { id: 'Classify', name: 'Classify incident', type: 'bpmn:BusinessRuleTask', activity: 'core.noop' },
      ],
    });
  });

  test('bpmn-engine loads what validation accepts, with the same descriptors, and activityOf reads its behaviour', async () => {
    for (const name of ['camunda7-enrich-alert.bpmn', 'camunda8-contain-host.bpmn']) {
      const engine = new Engine({ source: fixture(name), moddleOptions } as ConstructorParameters<typeof Engine>[0]);
      const [definition] = await engine.getDefinitions();
      assert.ok(definition);
      const processes = definition.getExecutableProcesses();
      assert.equal(processes.length, 1, `${name}: camunda and zeebe together must not drop the process`);
      const r = await validateBpmn(fixture(name), opts);
      for (const task of r.process?.tasks ?? []) {
        const activity = definition.getActivityById(task.id) as unknown as { behaviour: Parameters<typeof activityOf>[0] };
        assert.equal(activityOf(activity.behaviour), task.activity);
      }
    }
  });

  test('malformed XML is one problem with the line and column the parser reports', async () => {
    const xml = definitions(`<bpmn:process id="P" isExecutable="true">
  <bpmn:startEvent id="start">
</bpmn:process>`);
    const r = await validateBpmn(xml, opts);
    assert.equal(r.ok, false);
    assert.equal(r.problems.length, 1);
    const [p] = r.problems;
    assert.equal(p?.element, 'definitions');
    assert.match(p?.reason ?? '', /not well-formed: closing tag mismatch/);
    assert.equal(p?.line, 5);
    assert.equal(p?.column, 1);
  });

  test('text that is not BPMN is rejected, not thrown', async () => {
    for (const input of ['', 'hello', '<foo xmlns="urn:x"><bar/></foo>', '<?xml version="1.0"?>']) {
      const r = await validateBpmn(input, opts);
      assert.equal(r.ok, false, input);
      assert.equal(r.problems[0]?.element, 'definitions');
      assert.ok(r.problems[0]?.reason, input);
    }
    const notText = await validateBpmn(undefined as unknown as string, opts);
    assert.equal(notText.ok, false);
  });

  test('an unresolved reference names the referencing element and the missing id', async () => {
    const xml = definitions(`<bpmn:process id="P" isExecutable="true">
  <bpmn:startEvent id="start"/>
  <bpmn:sequenceFlow id="toNowhere" sourceRef="start" targetRef="Ghost"/>
  <bpmn:sequenceFlow id="fromNowhere" targetRef="start"/>
</bpmn:process>`);
    const r = await validateBpmn(xml, opts);
    assert.equal(r.ok, false);
    const p = problemOf(r, 'toNowhere');
    assert.match(p.reason, /Ghost/);
    assert.equal(p.line, 5);
    assert.match(problemOf(r, 'fromNowhere').reason, /has no sourceRef/);
  });

  test('a diagram shape of a missing element is only a warning', async () => {
    const xml = definitions(
      `${chain([])}
<bpmndi:BPMNDiagram id="Diagram"><bpmndi:BPMNPlane id="Plane" bpmnElement="P"><bpmndi:BPMNShape id="Stale_di" bpmnElement="Deleted"/></bpmndi:BPMNPlane></bpmndi:BPMNDiagram>`,
      'xmlns:bpmndi="http://www.omg.org/spec/BPMN/20100524/DI"',
    );
    const r = await validateBpmn(xml, opts);
    assert.equal(r.ok, true, JSON.stringify(r.problems));
    assert.match(r.warnings.find((w) => w.element === 'Stale_di')?.reason ?? '', /refers to Deleted/);
  });

  test('a duplicate id is a problem: the reader drops the second element', async () => {
    const r = await validateBpmn(definitions(chain(['<bpmn:task id="start"/>'])), opts);
    assert.match(problemOf(r, 'start').reason, /duplicate ID/);
  });

  test('definitions without an executable process are rejected naming each process', async () => {
    const r = await validateBpmn(definitions(chain([], 'isExecutable="false"')), opts);
    assert.equal(r.ok, false);
    assert.equal(problemOf(r, 'P').reason, 'process P is not executable (isExecutable is not true)');
    assert.equal(r.process, undefined);

    const none = await validateBpmn(definitions('<bpmn:message id="m" name="m"/>'), opts);
    assert.match(problemOf(none, 'definitions').reason, /no process/);
  });

  test('an executable process with nothing to start is rejected', async () => {
    const empty = await validateBpmn(definitions('<bpmn:process id="P" isExecutable="true"/>'), opts);
    assert.match(problemOf(empty, 'P').reason, /has no flow nodes/);

    const loop = await validateBpmn(
      definitions(`<bpmn:process id="P" isExecutable="true">
  <bpmn:task id="a"/><bpmn:task id="b"/>
  <bpmn:sequenceFlow id="ab" sourceRef="a" targetRef="b"/><bpmn:sequenceFlow id="ba" sourceRef="b" targetRef="a"/>
</bpmn:process>`),
      opts,
    );
    assert.match(problemOf(loop, 'P').reason, /nothing can start it/);
  });

  test('the first executable process is deployed; the others are named in a warning', async () => {
    const second = `<bpmn:process id="Q" isExecutable="true">
  <bpmn:startEvent id="qStart"/><bpmn:endEvent id="qEnd"/><bpmn:sequenceFlow id="qFlow" sourceRef="qStart" targetRef="qEnd"/>
</bpmn:process>`;
    const r = await validateBpmn(definitions(`${chain([])}\n${second}`), opts);
    assert.equal(r.ok, true, JSON.stringify(r.problems));
    assert.equal(r.process?.id, 'P');
    assert.match(r.warnings.find((w) => w.element === 'Q')?.reason ?? '', /also executable but is not run/);
  });

  test('a service task that names no connector activity is a problem', async () => {
    const r = await validateBpmn(definitions(chain(['<bpmn:serviceTask id="Lookup"/>'])), opts);
    assert.equal(r.ok, false);
    assert.equal(
      problemOf(r, 'Lookup').reason,
      'service task Lookup names no connector activity (set camunda:topic with camunda:type=external, or zeebe:taskDefinition type)',
    );
  });

  test('a task naming an unregistered activity is a problem naming the activity', async () => {
    const r = await validateBpmn(
      definitions(
        chain([
          '<bpmn:serviceTask id="C7" camunda:type="external" camunda:topic="virustotal.lookupHash"/>',
          '<bpmn:sendTask id="C8"><bpmn:extensionElements><zeebe:taskDefinition type="io.camunda:sendgrid:1"/></bpmn:extensionElements></bpmn:sendTask>',
        ]),
      ),
      opts,
    );
    assert.match(problemOf(r, 'C7').reason, /"virustotal\.lookupHash", which is not registered/);
    assert.match(problemOf(r, 'C8').reason, /"io\.camunda:sendgrid:1", which is not registered/);
    assert.deepEqual(
      r.process?.tasks.map((t) => t.activity),
      ['virustotal.lookupHash', 'io.camunda:sendgrid:1'],
    );
  });

  test('Camunda 7 Java and JUEL implementations are problems that say so', async () => {
    const r = await validateBpmn(
      definitions(
        chain([
          '<bpmn:serviceTask id="Java" camunda:class="com.acme.Lookup"/>',
          '<bpmn:serviceTask id="Juel" camunda:expression="${lookup.run()}"/>',
          '<bpmn:serviceTask id="Connect"><bpmn:extensionElements><camunda:connector><camunda:connectorId>http-connector</camunda:connectorId></camunda:connector></bpmn:extensionElements></bpmn:serviceTask>',
          '<bpmn:businessRuleTask id="Dmn" camunda:decisionRef="risk"/>',
        ]),
      ),
      opts,
    );
    assert.match(problemOf(r, 'Java').reason, /camunda:class names a Java class, which this engine does not run/);
    assert.match(problemOf(r, 'Juel').reason, /camunda:expression is a JUEL expression/);
    assert.match(problemOf(r, 'Connect').reason, /camunda:connector/);
    assert.match(problemOf(r, 'Dmn').reason, /DMN decision/);
  });

  test('a script task in javascript, groovy or no language is rejected; a jsonata script that compiles is run', async () => {
    const r = await validateBpmn(
      definitions(
        chain([
          '<bpmn:scriptTask id="Js" scriptFormat="javascript"><bpmn:script>next(null, 1)</bpmn:script></bpmn:scriptTask>',
          '<bpmn:scriptTask id="Bare"><bpmn:script>1</bpmn:script></bpmn:scriptTask>',
          '<bpmn:scriptTask id="Groovy" scriptFormat="groovy"><bpmn:script>1</bpmn:script></bpmn:scriptTask>',
          '<bpmn:scriptTask id="Ok" scriptFormat="JSONata"><bpmn:script>$sum([1,2])</bpmn:script></bpmn:scriptTask>',
          '<bpmn:scriptTask id="Broken" scriptFormat="jsonata"><bpmn:script>$sum([1,2)</bpmn:script></bpmn:scriptTask>',
        ]),
      ),
      opts,
    );
    assert.equal(problemOf(r, 'Js').reason, 'script task Js is written in javascript; only jsonata expressions are run');
    assert.match(problemOf(r, 'Bare').reason, /has no scriptFormat/);
    assert.match(problemOf(r, 'Groovy').reason, /script task Groovy is written in groovy/);
    assert.match(problemOf(r, 'Broken').reason, /^script task Broken is not valid: jsonata syntax error at position \d+/);
    // a jsonata script (scriptFormat in any case) that compiles is run
    assert.deepEqual(
      r.problems.map((p) => p.element),
      ['Js', 'Bare', 'Groovy', 'Broken'],
    );
  });

  test('a condition in a language other than jsonata is rejected', async () => {
    const xml = definitions(
      chain(['<bpmn:exclusiveGateway id="g"/>']).replace(
        '<bpmn:sequenceFlow id="f1" sourceRef="g" targetRef="end"/>',
        '<bpmn:sequenceFlow id="f1" sourceRef="g" targetRef="end"><bpmn:conditionExpression xsi:type="bpmn:tFormalExpression" language="javascript">this.x</bpmn:conditionExpression></bpmn:sequenceFlow>',
      ),
      'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"',
    );
    const r = await validateBpmn(xml, opts);
    assert.match(problemOf(r, 'f1').reason, /written in javascript; only jsonata expressions are run/);
  });

  test('conditions in jsonata, in simple ${} or = comparisons, deploy; other forms are rejected naming the flow', async () => {
    const flows: Record<string, string> = {
      jsonata: '<bpmn:conditionExpression xsi:type="bpmn:tFormalExpression" language="jsonata">severity in [\'high\', \'critical\'] and event.type = \'phishing\'</bpmn:conditionExpression>',
      bare: '<bpmn:conditionExpression xsi:type="bpmn:tFormalExpression">score &gt; 80</bpmn:conditionExpression>',
      juel: '<bpmn:conditionExpression xsi:type="bpmn:tFormalExpression">${alert.severity == \'high\' &amp;&amp; !closed}</bpmn:conditionExpression>',
      feel: '<bpmn:conditionExpression xsi:type="bpmn:tFormalExpression">=alert.severity = "high" and not(closed)</bpmn:conditionExpression>',
      method: '<bpmn:conditionExpression xsi:type="bpmn:tFormalExpression">${execution.getVariable(\'x\') == 1}</bpmn:conditionExpression>',
      broken: '<bpmn:conditionExpression xsi:type="bpmn:tFormalExpression">severity = </bpmn:conditionExpression>',
      groovy: '<bpmn:conditionExpression xsi:type="bpmn:tFormalExpression" language="groovy">x == 1</bpmn:conditionExpression>',
    };
    const ids = Object.keys(flows);
    const xml = definitions(
      `<bpmn:process id="P" isExecutable="true">
  <bpmn:startEvent id="start"/><bpmn:exclusiveGateway id="g"/><bpmn:endEvent id="end"/>
  <bpmn:sequenceFlow id="in" sourceRef="start" targetRef="g"/>
  ${ids.map((id) => `<bpmn:sequenceFlow id="${id}" sourceRef="g" targetRef="end">${flows[id]}</bpmn:sequenceFlow>`).join('\n  ')}
</bpmn:process>`,
      'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"',
    );
    const r = await validateBpmn(xml, opts);
    assert.deepEqual(
      r.problems.map((p) => p.element),
      ['method', 'broken', 'groovy'],
    );
    assert.match(problemOf(r, 'method').reason, /a method or function call: execution\.getVariable\(\.\.\.\).*write the condition in jsonata instead/);
    assert.match(problemOf(r, 'broken').reason, /^the condition of broken is not valid: jsonata syntax error at position \d+/);
    assert.match(problemOf(r, 'groovy').reason, /^the condition of groovy is written in groovy; only jsonata expressions are run$/);
  });

  test('element types bpmn-engine cannot load are problems', async () => {
    const xml = definitions(`<bpmn:itemDefinition id="item" structureRef="string"/>\n${chain(['<bpmn:complexGateway id="cg"/>'])}`);
    const r = await validateBpmn(xml, opts);
    assert.match(problemOf(r, 'item').reason, /bpmn:ItemDefinition, which the engine does not support/);
    assert.match(problemOf(r, 'cg').reason, /bpmn:ComplexGateway/);
    await assert.rejects(engineLoads(xml), /Unknown activity type/);
  });

  test('foreign extensions and ignored listeners are warnings, one per namespace', async () => {
    const xml = definitions(
      chain([
        '<bpmn:task id="a" acme:owner="x" acme:team="y"><bpmn:extensionElements><acme:meta/><camunda:executionListener class="com.acme.L" event="start"/></bpmn:extensionElements></bpmn:task>',
      ]),
      'xmlns:acme="urn:acme"',
    );
    const r = await validateBpmn(xml, opts);
    assert.equal(r.ok, true, JSON.stringify(r.problems));
    assert.equal(r.warnings.filter((w) => w.reason.includes('urn:acme')).length, 1);
    assert.match(r.warnings.find((w) => w.reason.includes('urn:acme'))?.reason ?? '', /acme:owner on a, acme:team on a, <acme:meta> in a/);
    assert.match(r.warnings.find((w) => w.reason.includes('executionListener'))?.reason ?? '', /ignored: this engine runs no listeners/);
  });

  test('a 200-element playbook is validated in a few milliseconds', async (t) => {
    const nodes = Array.from({ length: 100 }, (_, i) => `<bpmn:serviceTask id="t${i}" camunda:type="external" camunda:topic="core.http"/>`);
    const xml = definitions(chain(nodes));
    for (let i = 0; i < 20; i++) await validateBpmn(xml, opts);
    const times: number[] = [];
    for (let i = 0; i < 21; i++) {
      const started = performance.now();
      const r = await validateBpmn(xml, opts);
      times.push(performance.now() - started);
      assert.equal(r.process?.tasks.length, 100);
    }
    const median = times.sort((a, b) => a - b)[10] ?? Infinity;
    t.diagnostic(`median ${median.toFixed(2)} ms for ${xml.length} bytes`);
    assert.ok(median < 50, `median ${median} ms`);
  });
});

describe('the public corpus', () => {
  const root = fileURLToPath(new URL('../../shared/corpus/', import.meta.url));
  const dirs = ['miwg', 'cisa'].map((d) => `${root}${d}`).filter((d) => existsSync(d));
  const files = dirs.flatMap((d) => readdirSync(d).filter((f) => f.endsWith('.bpmn')).map((f) => `${d}/${f}`));

  test('every file is deployable or rejected with named problems, never a throw', { skip: files.length === 0 && `no corpus at ${root}` }, async (t) => {
    let deployable = 0;
    const reasons = new Map<string, number>();
    for (const file of files) {
      const xml = readFileSync(file, 'utf8');
      const r = await validateBpmn(xml, opts);
      assert.equal(r.ok, r.problems.length === 0, file);
      for (const p of [...r.problems, ...r.warnings]) {
        assert.ok(typeof p.element === 'string' && p.element.length > 0, `${file}: ${JSON.stringify(p)}`);
        assert.ok(typeof p.reason === 'string' && p.reason.length > 0, `${file}: ${JSON.stringify(p)}`);
      }
      if (r.ok) deployable += 1;
      const ids = new Set([...xml.matchAll(/\sid="([^"]+)"/g)].map((m) => m[1]));
      for (const kind of new Set(r.problems.map((p) => reasonKind(p.reason, ids)))) reasons.set(kind, (reasons.get(kind) ?? 0) + 1);
    }
    t.diagnostic(`${files.length} files: ${deployable} deployable, ${files.length - deployable} rejected`);
    for (const [kind, count] of [...reasons].sort((a, b) => b[1] - a[1]).slice(0, 8)) t.diagnostic(`  ${count} files: ${kind}`);
    assert.ok(files.length > 0);
  });

  test('the load check rejects exactly the files bpmn-engine cannot load', { skip: files.length === 0 && `no corpus at ${root}` }, async (t) => {
    let unloadable = 0;
    for (const file of files) {
      const xml = readFileSync(file, 'utf8');
      const findings = new Findings(xml);
      const parsed = await parseBpmn(xml, findings);
      assert.ok(parsed, file);
      const before = findings.problems.length;
      checkLoadable(parsed.definitions, parsed.references, findings);
      const loadProblems = findings.problems.slice(before);
      const loads = await engineLoads(xml).then(
        () => true,
        () => false,
      );
      if (!loads) unloadable += 1;
      assert.equal(loadProblems.length === 0, loads, `${file}: bpmn-engine ${loads ? 'loads' : 'cannot load'} it; load problems: ${JSON.stringify(loadProblems.slice(0, 2))}`);
    }
    t.diagnostic(`${unloadable} of ${files.length} files cannot be loaded by bpmn-engine, and the load check says so for each`);
  });
});

/** A reason with the element ids and activity names taken out, to count reasons across files. */
function reasonKind(reason: string, ids: ReadonlySet<string | undefined>): string {
  return reason
    .replace(/"[^"]*"/g, '"…"')
    .split(' ')
    .map((word) => (ids.has(word) ? '…' : word))
    .join(' ')
    .replace(/^(service|send|business rule) task/, 'task');
}
