import { setTimeout as sleep } from 'node:timers/promises';
import { defineActivity } from '../define.ts';
import { NonRetryableError } from '../../engine/errors.ts';

export default defineActivity<{ ms?: number | string }, { waitedMs: number }>({
  id: 'core.delay',
  description: 'Waits `ms` milliseconds, then completes.',
  input: { type: 'object', required: ['ms'], properties: { ms: { type: 'integer', minimum: 0 } } },
  // no call to protect: a breaker would only cost two Redis round trips per task
  breaker: false,
  async run(input, ctx) {
    const ms = Number(input.ms);
    if (!Number.isFinite(ms) || ms < 0) throw new NonRetryableError(`ms must be a non-negative number, got ${String(input.ms)}`);
    const started = Date.now();
    await sleep(ms, undefined, { signal: ctx.signal });
    return { waitedMs: Date.now() - started };
  },
});
