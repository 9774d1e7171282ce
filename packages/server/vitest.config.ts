import { defineProject } from 'vitest/config';

export default defineProject({
  test: {
    name: 'server',
    include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
    // Some suites start real server processes.
    testTimeout: 30_000,
    hookTimeout: 30_000,
  },
});
