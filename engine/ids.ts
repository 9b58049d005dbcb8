import { createHash } from 'node:crypto';

/**
 * A stable uuid-shaped id derived from a name: the same name always gives the same id, so work
 * done again after a crash or by a second process (a child execution, a delivery, a start) finds
 * what the first did instead of doing it twice.
 */
export function uuidFrom(name: string): string {
  const h = createHash('sha256').update(name).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-5${h.slice(13, 16)}-a${h.slice(17, 20)}-${h.slice(20, 32)}`;
}
