import type { ModdleElement, ParseError, ParseReference, ParseWarning } from 'bpmn-moddle';
import type { Findings } from './findings.ts';
import type { SourcePosition } from './source-index.ts';
import type { Definitions } from './model.ts';
import { DROPPED_PROPERTIES, createModdle } from './moddle.ts';

/** A definitions document as bpmn-moddle read it. */
export interface ParsedBpmn {
  definitions: Definitions;
  elementsById: Readonly<Record<string, ModdleElement>>;
  references: readonly ParseReference[];
}

const moddle = createModdle();

const UNPARSABLE = /^unparsable content ([\s\S]*?) ?detected\n\tline: (\d+)\n\tcolumn: (\d+)\n\tnested error: ([\s\S]*)$/;
const ID_ERROR = /^(?:duplicate|illegal) ID <([^>]*)>/;
const UNKNOWN_ELEMENT = /^(?:unknown type|unrecognized element) <([^:>]+):[^>]*>/;
const DIAGRAM_TYPE = /^(?:bpmndi|di|dc):/;

interface Unparsable {
  tag: string;
  at: SourcePosition;
  nested: string;
}

/** moddle-xml puts 0-based line and column of unparsable content in the message text only. */
function unparsable(message: string): Unparsable | undefined {
  const m = UNPARSABLE.exec(message);
  if (!m) return undefined;
  return { tag: (m[1] ?? '').trim(), at: { line: Number(m[2]) + 1, column: Number(m[3]) + 1 }, nested: (m[4] ?? '').trim() };
}

function tagName(tag: string): string | undefined {
  const m = /^<\/?([^\s/>]+)/.exec(tag);
  return m?.[1];
}

function idOf(element: ModdleElement | undefined): string | undefined {
  const id = (element as { readonly id?: unknown } | undefined)?.id;
  return typeof id === 'string' && id ? id : undefined;
}

function nearestId(element: ModdleElement | undefined): string | undefined {
  for (let e = element; e; e = e.$parent) {
    const id = idOf(e);
    if (id) return id;
  }
  return undefined;
}

/** Sorts one reader warning into a problem or a warning. */
function classify(w: ParseWarning, findings: Findings): void {
  if (w.message.startsWith('unresolved reference')) {
    const from = nearestId(w.element) ?? 'definitions';
    const type = w.element?.$type ?? 'element';
    const referrer = idOf(w.element) ? `${type} ${from}` : `a ${type} in ${from}`;
    const property = (w.property ?? 'reference').replace(/^bpmn:/, '');
    const reason = `${referrer} refers to ${w.value ?? '?'} (${property}), which is not defined`;
    if (w.element && DIAGRAM_TYPE.test(w.element.$type)) findings.warn(from, `${reason}; the diagram shape is ignored`);
    else findings.problem(from, reason);
    return;
  }
  if (w.message.startsWith('unknown attribute')) {
    if (w.property && DROPPED_PROPERTIES.has(w.property)) return;
    findings.warn(nearestId(w.element) ?? 'definitions', `unknown attribute ${w.property ?? '?'} is ignored`);
    return;
  }
  if (w.message.startsWith('unsupported document encoding')) {
    findings.warn('definitions', w.message);
    return;
  }
  const u = unparsable(w.message);
  if (!u) {
    findings.problem('definitions', `the BPMN reader reported: ${w.message}`);
    return;
  }
  const idError = ID_ERROR.exec(u.nested);
  if (idError) {
    findings.problem(idError[1] || (tagName(u.tag) ?? 'definitions'), `${u.nested}: the element at line ${u.at.line} is dropped`, u.at);
    return;
  }
  const element = tagName(u.tag) ?? 'definitions';
  const unknown = UNKNOWN_ELEMENT.exec(u.nested);
  if (unknown) {
    if (unknown[1] === 'bpmn') findings.problem(element, `${u.nested}: the element is dropped`, u.at);
    else findings.warn(element, `${u.nested}: the element is ignored`, u.at);
  } else if (u.nested.startsWith('unexpected body text')) {
    findings.warn(element, `${u.nested}: the text is ignored`, u.at);
  } else {
    findings.problem(element, `${u.nested}${u.tag ? ` (at ${u.tag})` : ''}`, u.at);
  }
}

function rejection(err: unknown, xml: string, findings: Findings): void {
  const error = err as Partial<ParseError> | undefined;
  const message = typeof error?.message === 'string' ? error.message : String(err);
  const u = unparsable(message);
  if (u) {
    const atEnd = u.nested === 'unexpected end of file';
    const tag = u.tag.trim() && !atEnd ? ` (at ${u.tag.trim()})` : '';
    findings.problem('definitions', `the XML is not well-formed: ${u.nested}${tag}`, atEnd ? findings.positionOf(xml.length) : u.at);
    return;
  }
  const detail = error?.warnings?.map((w) => unparsable(w.message)).find((x) => x !== undefined);
  findings.problem(
    'definitions',
    `not a BPMN 2.0 definitions document: ${message}${detail ? ` (${detail.nested})` : ''}`,
    detail?.at,
  );
}

/**
 * Reads BPMN XML with the camunda and zeebe descriptors. Never throws: what the reader rejects
 * or reads past is recorded in `findings`; undefined when there is no document to check further.
 */
export async function parseBpmn(xml: string, findings: Findings): Promise<ParsedBpmn | undefined> {
  let result;
  try {
    result = await moddle.fromXML(xml);
  } catch (err) {
    rejection(err, xml, findings);
    return undefined;
  }
  for (const w of result.warnings) classify(w, findings);
  const root = result.rootElement;
  if (root.$type !== 'bpmn:Definitions') {
    findings.problem('definitions', `the document root is ${root.$type}, not bpmn:definitions`);
    return undefined;
  }
  return { definitions: root as Definitions, elementsById: result.elementsById, references: result.references };
}
