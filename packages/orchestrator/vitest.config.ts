import { defineProject } from 'vitest/config';

export default defineProject({
  test: {
    name: 'orchestrator',
    include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
    // Agents clone repositories, start containers and talk to a scripted model.
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});
