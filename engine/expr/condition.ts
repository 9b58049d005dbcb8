import { translateSimple } from './camunda.ts';
import { EXPRESSION_LANGUAGE } from './jsonata.ts';

/**
 * A sequence flow's condition as the engine runs it: jsonata text, or why it cannot be run.
 * `problem` is a phrase about the condition that reads after its subject
 * ("the condition of Flow_1 " + "is written in groovy; only jsonata expressions are run").
 *
 * - language `jsonata` (any case) or none: the body is jsonata, except
 *   - `${...}` / `#{...}` (Camunda 7 JUEL) when a simple comparison: translated (`==` to `=`, `&&` to `and`, `!x` to `$not(x)`);
 *   - `=...` (Camunda 8 FEEL) when a simple comparison: translated (`not(x)` to `$not(x)`);
 *   anything else in those two forms is a problem: it must be rewritten in jsonata.
 * - any other language (javascript, groovy, python, juel, feel, XPath...): a problem naming it.
 *
 * Pure: it does not check the jsonata syntax (compileExpression does).
 */
export function conditionToJsonata(body: string, language?: string): { expression: string } | { problem: string } {
  const lang = language?.trim();
  if (lang && lang.toLowerCase() !== EXPRESSION_LANGUAGE) {
    return { problem: `is written in ${languageName(lang)}; only ${EXPRESSION_LANGUAGE} expressions are run` };
  }
  const text = body.trim();
  const lead = body.length - body.trimStart().length;
  if (!text) return { problem: `is empty; write a ${EXPRESSION_LANGUAGE} condition, or remove the conditionExpression to make the flow unconditional` };
  const juel = /^[$#]\{([\s\S]*)\}$/.exec(text);
  if (juel) {
    const t = translateSimple(juel[1] ?? '', 'juel', lead + 2);
    if ('expression' in t) return t;
    return {
      problem:
        `uses the \${} form with ${t.unsupported}: the \${} form supports only simple comparisons of variables and literals ` +
        `(==, !=, <, <=, >, >=, &&, ||, !); write the condition in ${EXPRESSION_LANGUAGE} instead, e.g. alert.severity = "high" and score > 50`,
    };
  }
  if (text.startsWith('=')) {
    const t = translateSimple(text.slice(1), 'feel', lead + 1);
    if ('expression' in t) return t;
    return {
      problem:
        `is a FEEL expression with ${t.unsupported}: only simple FEEL comparisons of variables and literals ` +
        `(=, !=, <, <=, >, >=, and, or, not(...)) are translated; write the condition in ${EXPRESSION_LANGUAGE} instead, e.g. alert.severity = "high" and score > 50`,
    };
  }
  return { expression: text };
}

const KNOWN_LANGUAGES: ReadonlyArray<[RegExp, string]> = [
  [/feel/i, 'FEEL'],
  [/xpath/i, 'XPath'],
  [/javascript|ecmascript/i, 'JavaScript'],
  [/groovy/i, 'Groovy'],
  [/python/i, 'Python'],
  [/juel/i, 'JUEL'],
];

/** A language as written, with a readable name in front when it is written as a URI. */
export function languageName(language: string): string {
  if (!/[/:]/.test(language)) return language;
  const known = KNOWN_LANGUAGES.find(([pattern]) => pattern.test(language));
  return known ? `${known[1]} (${language})` : language;
}
