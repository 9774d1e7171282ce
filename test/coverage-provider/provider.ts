// The coverage provider of `pnpm test`: @vitest/coverage-v8, which counts what runs in the
// test workers, and, beside it, the packages' built code that ran in the processes the
// tests start (the `mosaic-fed` CLI, servers, replicas and workers). Test helpers pass
// NODE_V8_COVERAGE, set to the folder named by ./children.ts, to those processes; Node
// writes each one's coverage there when it exits (a process killed with SIGKILL writes
// none). This module is loaded in the test workers too, so it imports only what the
// workers need; the provider itself is loaded in the main process, by `getProvider`.
import v8 from '@vitest/coverage-v8';
import type { CoverageProviderModule } from 'vitest/node';

const provider: CoverageProviderModule = {
  ...v8,
  async getProvider() {
    const { WithChildProcesses } = await import('./with-children.js');
    return new WithChildProcesses();
  },
};

export default provider;
