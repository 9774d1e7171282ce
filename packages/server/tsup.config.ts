import { defineConfig } from 'tsup';

// removeNodeProtocol: keep `node:` specifiers, so Node-only imports stay visible in the output.
const shared = { sourcemap: true, target: 'es2022', tsconfig: 'tsconfig.node.json', removeNodeProtocol: false } as const;

export default defineConfig([
  // The edge-ready main entry and the Node entry share chunks, so the Node entry uses the
  // very same classes as the main entry. The main entry itself imports nothing Node-only
  // (checked by test/edge-safety.test.ts on this output).
  {
    ...shared,
    entry: { index: 'src/index.ts', node: 'src/node/index.ts' },
    format: ['esm', 'cjs'],
    platform: 'node',
    splitting: true,
    dts: true,
    clean: true,
  },
  // The `mosaic-fed` executable: a leaf nothing imports, bundled on its own.
  {
    ...shared,
    entry: { bin: 'src/bin.ts' },
    format: ['esm'],
    platform: 'node',
    banner: { js: '#!/usr/bin/env node' },
  },
]);
