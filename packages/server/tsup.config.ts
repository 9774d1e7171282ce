import { defineConfig } from 'tsup';
import { libraryBuild } from '../../tsup.base.js';

// `clean` is off: two configs build in parallel into one folder, so the build script
// empties dist/ once beforehand.
const shared = libraryBuild({ platform: 'node', tsconfig: 'tsconfig.node.json', clean: false });

export default defineConfig([
  // The edge-ready main entry and the Node entry share chunks, so the Node entry uses the
  // very same classes as the main entry. The main entry itself imports nothing Node-only
  // (checked by test/edge-safety.test.ts on this output).
  { ...shared, entry: { index: 'src/index.ts', node: 'src/node/index.ts', valkey: 'src/valkey.ts' }, splitting: true },
  // The `mosaic-fed` executable: a leaf nothing imports, bundled on its own.
  {
    ...shared,
    entry: { bin: 'src/bin.ts' },
    format: ['esm'],
    dts: false,
    banner: { js: '#!/usr/bin/env node' },
  },
]);
