import { defineProject } from 'vitest/config';

export default defineProject({
  test: { name: 'example-self-host', include: ['test/**/*.test.ts'], testTimeout: 90_000, hookTimeout: 60_000 },
});
