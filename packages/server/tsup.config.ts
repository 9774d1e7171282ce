import { defineConfig } from 'tsup';
import { libraryBuild } from '../../tsup.base.js';

// The main entry is edge-ready: it imports nothing Node-only (checked by
// test/edge-safety.test.ts on this output). `postgres` is the PostgreSQL stores, for the
// Node entry only (node-postgres). The Node entry and the CLI are in @mosaic-fed/node.
export default defineConfig(libraryBuild({ entry: { index: 'src/index.ts', postgres: 'src/stores/postgres/index.ts' } }));
