// How the processes a test starts take part in `pnpm test`'s coverage: while coverage is
// measured, the provider (./provider.ts) names a folder in CHILD_COVERAGE, and a helper that
// starts a process adds `coverageEnv()` to the environment it gives it.

/** The environment variable naming the folder started processes write their coverage to. */
export const CHILD_COVERAGE = 'MOSAIC_FED_CHILD_COVERAGE';

/** NODE_V8_COVERAGE for a process a test starts, while coverage is measured; else nothing. */
export function coverageEnv(): Record<string, string> {
  const folder = process.env[CHILD_COVERAGE];
  return folder ? { NODE_V8_COVERAGE: folder } : {};
}
