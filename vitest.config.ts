import { defineConfig } from 'vitest/config';

// One vitest project per workspace package; each package's vitest.config.ts says what it runs.
export default defineConfig({
  test: {
    projects: ['packages/*/vitest.config.ts', 'examples/*/vitest.config.ts', 'test/vitest.config.ts'],
  },
});
