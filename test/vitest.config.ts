import { defineProject } from 'vitest/config';

// Cross-package suites: checks on the built packages as a whole.
export default defineProject({
  test: {
    name: 'workspace',
    include: ['**/*.test.ts'],
    // The fault-injection suite is a project of its own.
    exclude: ['faults/**'],
  },
});
