import { defineActivity } from '../define.ts';

export default defineActivity({
  id: 'core.noop',
  description: 'Does nothing and returns its input. For drafts, tests and benchmarks.',
  input: { type: 'object' },
  async run(input) {
    return input;
  },
});
