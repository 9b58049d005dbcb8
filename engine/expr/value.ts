import { splitJuel, translateSimple } from './camunda.ts';

/** Where a value was written: Camunda 7 (`${...}` in text) or Camunda 8 (`=` prefix). */
export type ValueSyntax = 'camunda' | 'zeebe';

/**
 * A mapping or timer value as the engine runs it: literal text, jsonata text, or why it cannot be
 * run (`problem` reads after its subject, like "the input url of Lookup " + problem).
 */
export type ValueForm = { literal: string } | { expression: string } | { problem: string };

const REWRITE_CAMUNDA = 'write the value in jsonata instead with <camunda:script scriptFormat="jsonata">';

/**
 * How a value written in a playbook is evaluated. Pure.
 *
 * - Camunda 7 (`camunda:inputParameter` and `outputParameter` text, map entries, list values):
 *   text with no `${...}` is a literal string; a value that is one `${...}` is that simple
 *   comparison or variable path (its result keeps its type: `${alert}` is the object);
 *   text with `${...}` inside (`Alert ${alert.id} is ${alert.severity}`) is a string with each
 *   expression's value put in. Only simple comparisons and paths are translated (see ./camunda.ts).
 * - Camunda 8 (`zeebe:input` / `zeebe:output` source): text starting with `=` is an expression:
 *   a simple FEEL comparison or path is translated, anything else is read as jsonata; other text
 *   is a literal string.
 */
export function valueToJsonata(text: string, syntax: ValueSyntax): ValueForm {
  if (syntax === 'zeebe') {
    const trimmed = text.trim();
    if (!trimmed.startsWith('=')) return { literal: text };
    const body = trimmed.slice(1).trim();
    if (!body) return { problem: 'is "=" with no expression after it' };
    const feel = translateSimple(body, 'feel', text.indexOf('=') + 1);
    return { expression: 'expression' in feel ? feel.expression : body };
  }
  const trimmed = text.trim();
  const whole = splitJuel(trimmed);
  if (whole?.length === 1 && whole[0] && 'juel' in whole[0]) return juelValue(whole[0].juel, whole[0].at + text.indexOf(trimmed));
  const parts = splitJuel(text);
  if (!parts) return { problem: `has a \${ with no closing }; ${REWRITE_CAMUNDA}` };
  if (!parts.some((p) => 'juel' in p)) return { literal: text };
  const pieces: string[] = [];
  for (const part of parts) {
    if ('literal' in part) {
      pieces.push(JSON.stringify(part.literal));
      continue;
    }
    const value = juelValue(part.juel, part.at);
    if (!('expression' in value)) return value;
    pieces.push(`$string(${value.expression})`);
  }
  return { expression: pieces.join(' & ') };
}

function juelValue(juel: string, at: number): ValueForm {
  const t = translateSimple(juel, 'juel', at);
  if ('expression' in t) return t;
  return { problem: `uses \${${juel.trim()}}, with ${t.unsupported}: only variable paths and simple comparisons are translated; ${REWRITE_CAMUNDA}` };
}

/**
 * A multi-instance collection as jsonata: Camunda 7 `camunda:collection` is a `${...}` expression
 * or a variable name; Camunda 8 `zeebe:loopCharacteristics inputCollection` is an `=` expression.
 */
export function collectionToJsonata(text: string, syntax: ValueSyntax): { expression: string } | { problem: string } {
  const trimmed = text.trim();
  if (syntax === 'camunda' && /^[A-Za-z_][A-Za-z0-9_]*$/.test(trimmed)) return { expression: `\`${trimmed}\`` };
  const form = valueToJsonata(text, syntax);
  if ('literal' in form) {
    return { problem: syntax === 'zeebe' ? 'is not an expression: start it with "=", e.g. =alert.iocs' : 'is neither a variable name nor a ${...} expression' };
  }
  return form;
}
