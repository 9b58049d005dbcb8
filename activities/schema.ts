import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import addFormatsModule from 'ajv-formats';
import { NonRetryableError } from '../engine/errors.ts';

/** A JSON Schema (draft-07 as ajv reads it). `x-` keywords are annotations for element templates. */
export type JsonSchema = Record<string, unknown>;

export interface Validator {
  readonly schema: JsonSchema;
  /** Returns the value, coerced and with defaults applied, or throws a SchemaViolationError. */
  check(value: unknown, what: 'input' | 'config' | 'output'): unknown;
}

/*
 * One Ajv for every activity. Input comes from BPMN mappings, where literals are strings: "200" must
 * pass as an integer, "true" as a boolean (coerceTypes). Defaults are written into the value.
 */
const ajv = new Ajv({ allErrors: true, coerceTypes: true, useDefaults: true, strict: false });
// ajv-formats is CommonJS: its default export arrives wrapped under NodeNext
const addFormats = ((addFormatsModule as unknown as { default?: typeof addFormatsModule }).default ?? addFormatsModule) as unknown as (a: Ajv) => Ajv;
addFormats(ajv);

/** A schema violation: not retryable, whatever the try. */
export class SchemaViolationError extends NonRetryableError {
  constructor(
    message: string,
    readonly details: Array<{ field: string; reason: string }>,
  ) {
    super(message);
  }
}

export function compileSchema(schema: JsonSchema): Validator {
  const validate: ValidateFunction = ajv.compile(schema);
  return {
    schema,
    check(value, what) {
      // ajv writes defaults and coercions into the object it checks: give it a copy
      const copy = value && typeof value === 'object' ? structuredClone(value) : value;
      if (validate(copy)) return copy;
      const details = (validate.errors ?? []).map(describe);
      throw new SchemaViolationError(`the ${what} does not match its schema: ${details.map((d) => `${d.field} ${d.reason}`).join('; ')}`, details);
    },
  };
}

function describe(e: ErrorObject): { field: string; reason: string } {
  const missing = e.keyword === 'required' ? `/${String((e.params as { missingProperty?: string }).missingProperty)}` : '';
  return { field: (e.instancePath + missing || '/').replace(/^\//, '') || '(root)', reason: e.keyword === 'required' ? 'is required' : (e.message ?? e.keyword) };
}
