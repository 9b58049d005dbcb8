import { defineActivity } from '../define.ts';

export default defineActivity({
  id: 'core.noop',
  description: 'Does nothing and returns its input. For drafts, tests and benchmarks.',
  input: { type: 'object' },
  // no call to protect: a breaker would only cost two Redis round trips per task
  breaker: false,
  async run(input) {
    return input;
  },
});
