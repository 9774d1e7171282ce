import { defineConfig } from 'tsup';
import { libraryBuild } from '../../tsup.base.js';

// One entry, edge-ready: it imports nothing Node-only (checked by test/edge-safety.test.ts
// on this output). The Node entry and the CLI are in @mosaic-fed/node.
export default defineConfig(libraryBuild({ entry: { index: 'src/index.ts' } }));
