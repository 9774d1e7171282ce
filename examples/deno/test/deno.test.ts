import { dirname, join } from 'node:path';
import { describeRuntimeExample } from '../../shared/runtime-example.js';

// The server's main entry served by the real Deno binary (from its npm package), with a
// Node hub and a Node orchestrator service on loopback.
describeRuntimeExample({
  runtime: 'deno',
  // The real binary from its npm package: the package's `.bin` shim is a Node process that
  // runs it with spawnSync and passes no signal on.
  binary: 'node_modules/deno/deno',
  args: ['run', '--allow-net', '--allow-env', '--allow-read', 'server.mjs'],
  dir: join(dirname(new URL(import.meta.url).pathname), '..'),
  name: 'Deno Spoke',
});
