import { defineConfig } from 'tsup';
import { libraryBuild } from '../../tsup.base.js';

export default defineConfig(
  libraryBuild({
    entry: ['src/index.ts', 'src/node.ts', 'src/docker.ts', 'src/anthropic.ts', 'src/libsql.ts', 'src/postgres.ts', 'src/valkey.ts', 'src/queue.ts', 'src/testing.ts'],
    platform: 'node',
  }),
);
