import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    // One project per workspace package (its vitest.config.ts says what it runs), one per
    // example, and the cross-package suites in test/.
    projects: ['packages/*/vitest.config.ts', 'examples/*/vitest.config.ts', 'test/vitest.config.ts'],
    reporters: ['default', './test/summary-reporter.ts'],
  },
});
