import { dirname, join } from 'node:path';
import { describeRuntimeExample } from '../../shared/runtime-example.js';

// The server's main entry served by the real Bun binary (from its npm package), with a
// Node hub and a Node orchestrator service on loopback.
describeRuntimeExample({
  runtime: 'bun',
  binary: 'node_modules/.bin/bun',
  args: ['run', 'server.mjs'],
  dir: join(dirname(new URL(import.meta.url).pathname), '..'),
  name: 'Bun Spoke',
});
