import { conditionToJsonata, languageName } from '../expr/condition.ts';
import { EXPRESSION_LANGUAGE, compileExpression } from '../expr/jsonata.ts';
import { collectionToJsonata, valueToJsonata, type ValueSyntax } from '../expr/value.ts';

/** The only expression language this engine evaluates. */
export { EXPRESSION_LANGUAGE };

/** An expression as written in a playbook. */
export type ExpressionSite = CodeSite | ValueSite;

/** A script task's script, or a sequence flow's conditionExpression. */
export interface CodeSite {
  /** `script`: a script task's script; `condition`: a sequence flow's conditionExpression. */
  kind: 'script' | 'condition';
  /** The id of the element the expression belongs to. */
  element: string;
  /** scriptFormat of a script, `language` of a condition; undefined when not written. */
  language: string | undefined;
  body: string | undefined;
}

/**
 * A value that may be an expression: `mapping` (an input/output mapping value, see engine/io.ts
 * mappingSites), `timer` (a timer's duration, date or cycle), `collection` (a multi-instance collection).
 */
export interface ValueSite {
  kind: 'mapping' | 'timer' | 'collection';
  element: string;
  /** Camunda 7 (`${...}`) or Camunda 8 (`=...`) reading of the text. */
  syntax: ValueSyntax;
  /** What the value is, for the message: e.g. `input url`. */
  what?: string;
  /** Only for a `camunda:script` mapping: its scriptFormat. */
  language?: string | undefined;
  body: string | undefined;
}

/**
 * Why the engine cannot run this expression, or undefined when it can. The single place where
 * deploy-time expression checks live; pure apart from the compile cache.
 *
 * - script: scriptFormat must be jsonata (any case) and the script must compile;
 * - condition: accepted when conditionToJsonata translates it (jsonata, simple `${}` or `=` comparisons)
 *   and the result compiles; other languages are refused naming the language;
 * - mapping, timer, collection: literal text is accepted; an expression must translate and compile.
 */
export function expressionProblem(site: ExpressionSite): string | undefined {
  switch (site.kind) {
    case 'script':
      return scriptProblem(site);
    case 'condition': {
      const subject = `the condition of ${site.element}`;
      const condition = conditionToJsonata(site.body ?? '', site.language);
      return 'problem' in condition ? `${subject} ${condition.problem}` : syntaxProblem(subject, condition.expression);
    }
    default:
      return valueProblem(site);
  }
}

function scriptProblem(site: CodeSite): string | undefined {
  const language = site.language?.trim();
  const subject = `script task ${site.element}`;
  if (!language) return `${subject} has no scriptFormat; only ${EXPRESSION_LANGUAGE} expressions are run (set scriptFormat="${EXPRESSION_LANGUAGE}")`;
  if (language.toLowerCase() !== EXPRESSION_LANGUAGE) return `${subject} is written in ${languageName(language)}; only ${EXPRESSION_LANGUAGE} expressions are run`;
  if (!site.body?.trim()) return `${subject} has no script`;
  return syntaxProblem(subject, site.body);
}

function valueProblem(site: ValueSite): string | undefined {
  const subject = `the ${site.what ?? site.kind} of ${site.element}`;
  if (site.language !== undefined) {
    const language = site.language.trim();
    if (language.toLowerCase() !== EXPRESSION_LANGUAGE) return `${subject} is a script in ${languageName(language)}; only ${EXPRESSION_LANGUAGE} expressions are run`;
    if (!site.body?.trim()) return `${subject} is a script with no inline ${EXPRESSION_LANGUAGE} (an external resource is not loaded)`;
    return syntaxProblem(subject, site.body);
  }
  if (site.body === undefined) return site.kind === 'mapping' ? undefined : `${subject} is empty`;
  const form = site.kind === 'collection' ? collectionToJsonata(site.body, site.syntax) : valueToJsonata(site.body, site.syntax);
  if ('problem' in form) return `${subject} ${form.problem}`;
  return 'expression' in form ? syntaxProblem(subject, form.expression) : undefined;
}

function syntaxProblem(subject: string, expression: string): string | undefined {
  try {
    compileExpression(expression);
    return undefined;
  } catch (err) {
    return `${subject} is not valid: ${err instanceof Error ? err.message : String(err)}`;
  }
}
