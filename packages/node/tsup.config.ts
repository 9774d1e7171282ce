import { defineConfig } from 'tsup';
import { libraryBuild } from '../../tsup.base.js';

// `clean` is off: two configs build in parallel into one folder, so the build script
// empties dist/ once beforehand.
// `shims`: `import.meta.url` in the CommonJS build too (the checkpointer finds the SQLite
// binding from it).
const shared = libraryBuild({ platform: 'node', clean: false, shims: true });

export default defineConfig([
  { ...shared, entry: { index: 'src/index.ts', valkey: 'src/valkey.ts' }, splitting: true },
  // The `mosaic-fed` executable: a leaf nothing imports, bundled on its own.
  {
    ...shared,
    entry: { bin: 'src/bin.ts' },
    format: ['esm'],
    dts: false,
    banner: { js: '#!/usr/bin/env node' },
  },
]);
