import { defineProject } from 'vitest/config';

export default defineProject({
  test: {
    name: 'node',
    include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
    // The suites start real servers and processes: instances on loopback ports, the CLI,
    // replicas on Redis, agents in sandboxes.
    testTimeout: 30_000,
    hookTimeout: 30_000,
  },
});
