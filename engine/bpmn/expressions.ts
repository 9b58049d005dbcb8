/** The only expression language this engine evaluates. */
export const EXPRESSION_LANGUAGE = 'jsonata';

/** An expression as written in a playbook. */
export interface ExpressionSite {
  /** `script`: a script task's script; `condition`: a sequence flow's conditionExpression. */
  kind: 'script' | 'condition';
  /** The id of the element the expression belongs to. */
  element: string;
  /** scriptFormat of a script, `language` of a condition; undefined when not written. */
  language: string | undefined;
  body: string | undefined;
}

/**
 * Why the engine cannot run this expression, or undefined when it can. The single place
 * deploy-time expression checks live: today the language; later the jsonata syntax and limits.
 */
export function expressionProblem(site: ExpressionSite): string | undefined {
  const language = site.language?.trim();
  if (site.kind === 'script') {
    if (!language) return `script task ${site.element} has no scriptFormat; only ${EXPRESSION_LANGUAGE} expressions are run (set scriptFormat="${EXPRESSION_LANGUAGE}")`;
    if (language.toLowerCase() !== EXPRESSION_LANGUAGE) return `script task ${site.element} is written in ${language}; only ${EXPRESSION_LANGUAGE} expressions are run`;
    if (!site.body?.trim()) return `script task ${site.element} has no script`;
    return notYetEvaluated(site);
  }
  if (language && language.toLowerCase() !== EXPRESSION_LANGUAGE) {
    return `the condition of ${site.element} is written in ${language}; only ${EXPRESSION_LANGUAGE} expressions are run`;
  }
  return notYetEvaluated(site);
}

/*
 * Until expressions are evaluated (jsonata through bpmn-engine's `scripts`), bpmn-engine would take
 * any condition text as truthy and refuse every script at run time: refuse them at deploy instead.
 */
function notYetEvaluated(site: ExpressionSite): string | undefined {
  if (!site.body?.trim()) return undefined;
  return site.kind === 'script'
    ? `script task ${site.element} cannot run yet: this engine version does not evaluate expressions`
    : `the condition of ${site.element} cannot be evaluated yet by this engine version; decide in a connector task, or remove the condition`;
}
