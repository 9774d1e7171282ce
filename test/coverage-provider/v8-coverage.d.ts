// The one function test/coverage-provider/with-children.ts uses of @bcoe/v8-coverage, which ships
// no types (the same library @vitest/coverage-v8 merges its coverage with).
declare module '@bcoe/v8-coverage' {
  import type { Profiler } from 'node:inspector';

  /** What one process wrote: NODE_V8_COVERAGE's file, or a Profiler.takePreciseCoverage answer. */
  export interface ProcessCov {
    result: Profiler.ScriptCoverage[];
  }

  /** Sums the counts of several processes' coverage, script by script. */
  export function mergeProcessCovs(processCovs: readonly ProcessCov[]): ProcessCov;
}
