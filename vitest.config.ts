import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    // One project per workspace package (its vitest.config.ts says what it runs), one per
    // example, the cross-package suites in test/, and fault injection in test/faults/.
    projects: ['packages/*/vitest.config.ts', 'examples/*/vitest.config.ts', 'test/vitest.config.ts', 'test/faults/vitest.config.ts'],
    reporters: ['default', './test/summary-reporter.ts'],
  },
});
