import { z } from 'zod';
import { SoarError } from '../engine/errors.ts';

/** Parses `value` with `schema`, or answers 400 naming every bad field. */
export function parse<T extends z.ZodType>(schema: T, value: unknown, what: string): z.infer<T> {
  const r = schema.safeParse(value);
  if (r.success) return r.data;
  throw new SoarError(
    'BAD_REQUEST',
    `invalid ${what}`,
    r.error.issues.map((i) => ({ field: i.path.join('.') || what, reason: i.message })),
  );
}

export const pagination = {
  limit: z.coerce.number().int().min(1).max(1000).default(50),
  offset: z.coerce.number().int().min(0).default(0),
};

/** Whether any string in a JSON value (keys included) holds a NUL character, which PostgreSQL cannot store. */
export function hasNul(value: unknown, depth = 0): boolean {
  if (typeof value === 'string') return value.includes('\u0000');
  if (depth > 64 || value === null || typeof value !== 'object') return false;
  for (const [k, v] of Object.entries(value)) if (k.includes('\u0000') || hasNul(v, depth + 1)) return true;
  return false;
}

export const NUL_REFUSED = () => new SoarError('BAD_REQUEST', 'text may not contain NUL characters (\\u0000)', [{ reason: 'NUL characters are not accepted' }]);
