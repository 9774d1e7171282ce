import { execFileSync } from 'node:child_process';
import { cpSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readMigrationFiles } from 'drizzle-orm/migrator';
import { describe, expect, it } from 'vitest';
import { MIGRATIONS as ORCHESTRATOR_MIGRATIONS } from '../packages/orchestrator/src/state/libsql-migrations.js';
import { MIGRATIONS as SERVER_MIGRATIONS } from '../packages/server/src/stores/libsql/migrations.js';

// One way to change a libSQL schema (the server's stores, the orchestrator's agent
// state): edit the drizzle schema, let drizzle-kit write the migration, embed it. These
// fail when one of the three is changed without the others.
const PACKAGES = [
  { name: '@mosaic-fed/server', dir: 'packages/server', schema: 'src/stores/libsql/schema.ts', embedded: SERVER_MIGRATIONS },
  { name: '@mosaic-fed/orchestrator', dir: 'packages/orchestrator', schema: 'src/state/libsql-schema.ts', embedded: ORCHESTRATOR_MIGRATIONS },
];
const root = fileURLToPath(new URL('..', import.meta.url));

describe.each(PACKAGES)('the libSQL migrations of $name', ({ name, dir, schema, embedded }) => {
  const packageDir = join(root, dir);

  it('are up to date with the schema: drizzle-kit finds nothing to generate', () => {
    const scratch = mkdtempSync(join(tmpdir(), 'mosaic-drizzle-'));
    try {
      const out = join(scratch, 'drizzle');
      cpSync(join(packageDir, 'drizzle'), out, { recursive: true });
      const before = readdirSync(out).sort();
      // drizzle-kit reads --out relative to where it runs, and exits 0 on its own errors:
      // its words say it read the snapshots and found nothing.
      const said = execFileSync(join(packageDir, 'node_modules/.bin/drizzle-kit'), ['generate', '--dialect', 'sqlite', '--schema', schema, '--out', relative(packageDir, out)], {
        cwd: packageDir,
        encoding: 'utf8',
        stdio: 'pipe',
      });
      expect(readdirSync(out).sort(), `the schema changed without a migration: run pnpm --filter ${name} db:generate`).toEqual(before);
      expect(said).toContain('No schema changes');
    } finally {
      rmSync(scratch, { recursive: true, force: true });
    }
  });

  it('are drizzle-kit\'s files, embedded as drizzle\'s migrator reads them', () => {
    const files = readMigrationFiles({ migrationsFolder: join(packageDir, 'drizzle') });
    expect(embedded.map(({ sql, hash, folderMillis }) => ({ sql, hash, folderMillis })), `run pnpm --filter ${name} db:generate`).toEqual(
      files.map(({ sql, hash, folderMillis }) => ({ sql, hash, folderMillis })),
    );
  });
});
