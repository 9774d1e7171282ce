import { defineProject } from 'vitest/config';

export default defineProject({
  test: {
    name: 'core',
    include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
    // The workerd suite boots a runtime; give it room on a 2-core machine.
    testTimeout: 30_000,
  },
});
