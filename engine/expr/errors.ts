/**
 * Why an expression or a template could not give a value. Crosses process boundaries as
 * `{ name: 'ExpressionError', code, message }`: classify by `code`, never by instanceof.
 *
 * - EXPRESSION_SYNTAX: the jsonata text does not parse (`position` is the offset jsonata reports).
 * - EXPRESSION_TIMEOUT: the evaluation ran past its time limit and was stopped.
 * - EXPRESSION_LIMIT: the evaluation went deeper than its depth limit, or built a value too large.
 * - EXPRESSION_FAILED: jsonata failed at run time (a type error, `$error()`...), or the result is not a value.
 * - TEMPLATE_SYNTAX: a message template does not compile.
 * - TEMPLATE_FAILED: a message template failed while rendering.
 */
export type ExpressionErrorCode =
  | 'EXPRESSION_SYNTAX'
  | 'EXPRESSION_TIMEOUT'
  | 'EXPRESSION_LIMIT'
  | 'EXPRESSION_FAILED'
  | 'TEMPLATE_SYNTAX'
  | 'TEMPLATE_FAILED';

export class ExpressionError extends Error {
  override name = 'ExpressionError';
  constructor(
    readonly code: ExpressionErrorCode,
    message: string,
    /** Character offset in the expression (jsonata) or line (templates) the error was found at, when known. */
    readonly position?: number,
  ) {
    super(message);
  }
}

/** An expression's text, shortened for an error message. */
export function excerpt(text: string, max = 80): string {
  const oneLine = text.replace(/\s+/g, ' ').trim();
  return JSON.stringify(oneLine.length > max ? `${oneLine.slice(0, max - 1)}…` : oneLine);
}
