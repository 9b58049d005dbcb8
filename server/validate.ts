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
