import { execFileSync } from 'node:child_process';
import { cpSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readMigrationFiles } from 'drizzle-orm/migrator';
import { describe, expect, it } from 'vitest';
import { MIGRATIONS as ORCHESTRATOR_MIGRATIONS } from '../packages/orchestrator/src/state/libsql-migrations.js';
import { MIGRATIONS as ORCHESTRATOR_POSTGRES_MIGRATIONS } from '../packages/orchestrator/src/state/postgres-migrations.js';
import { createPostgresAgentStateStore, ORCHESTRATOR_MIGRATION_LEDGER } from '../packages/orchestrator/src/postgres.js';
import { MIGRATIONS as SERVER_MIGRATIONS } from '../packages/server/src/stores/libsql/migrations.js';
import { applyPostgresMigrations } from '../packages/server/src/stores/postgres/migrate.js';
import { MIGRATIONS as SERVER_POSTGRES_MIGRATIONS } from '../packages/server/src/stores/postgres/migrations.js';
import { createPostgresSchema, testPostgresAnswers } from './postgres.js';

// One way to change a schema (the server's stores, the orchestrator's agent state, in
// libSQL and in PostgreSQL): edit the drizzle schema, let drizzle-kit write the migration,
// embed it. These fail when one of the three is changed without the others.
const PACKAGES = [
  { name: '@mosaic-fed/server', dialect: 'sqlite', dir: 'packages/server', folder: 'drizzle', schema: 'src/stores/libsql/schema.ts', embedded: SERVER_MIGRATIONS },
  { name: '@mosaic-fed/server', dialect: 'postgresql', dir: 'packages/server', folder: 'drizzle-postgres', schema: 'src/stores/postgres/schema.ts', embedded: SERVER_POSTGRES_MIGRATIONS },
  { name: '@mosaic-fed/orchestrator', dialect: 'sqlite', dir: 'packages/orchestrator', folder: 'drizzle', schema: 'src/state/libsql-schema.ts', embedded: ORCHESTRATOR_MIGRATIONS },
  {
    name: '@mosaic-fed/orchestrator',
    dialect: 'postgresql',
    dir: 'packages/orchestrator',
    folder: 'drizzle-postgres',
    schema: 'src/state/postgres-schema.ts',
    embedded: ORCHESTRATOR_POSTGRES_MIGRATIONS,
  },
];
const root = fileURLToPath(new URL('..', import.meta.url));

describe.each(PACKAGES)('the $dialect migrations of $name', ({ name, dialect, dir, folder, schema, embedded }) => {
  const packageDir = join(root, dir);

  it('are up to date with the schema: drizzle-kit finds nothing to generate', () => {
    const scratch = mkdtempSync(join(tmpdir(), 'mosaic-drizzle-'));
    try {
      const out = join(scratch, 'drizzle');
      cpSync(join(packageDir, folder), out, { recursive: true });
      const before = readdirSync(out).sort();
      // drizzle-kit reads --out relative to where it runs, and exits 0 on its own errors:
      // its words say it read the snapshots and found nothing.
      const said = execFileSync(join(packageDir, 'node_modules/.bin/drizzle-kit'), ['generate', '--dialect', dialect, '--schema', schema, '--out', relative(packageDir, out)], {
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
    const files = readMigrationFiles({ migrationsFolder: join(packageDir, folder) });
    expect(embedded.map(({ sql, hash, folderMillis }) => ({ sql, hash, folderMillis })), `run pnpm --filter ${name} db:generate`).toEqual(
      files.map(({ sql, hash, folderMillis }) => ({ sql, hash, folderMillis })),
    );
  });
});

if (await testPostgresAnswers()) {
  describe('one PostgreSQL database for the server and the orchestrator', () => {
    it('holds both schemas, each with its own ledger, applied once by replicas starting together', async () => {
      const place = await createPostgresSchema();
      try {
        const [first, second] = await Promise.all([applyPostgresMigrations(place.pool), applyPostgresMigrations(place.pool)]);
        expect([...first, ...second]).toEqual(SERVER_POSTGRES_MIGRATIONS.map((m) => m.tag));
        // Created after the server's: its own ledger, so its later journal times do not hide its migrations.
        const states = await Promise.all([createPostgresAgentStateStore(place.pool, { closePool: false }), createPostgresAgentStateStore(place.pool, { closePool: false })]);
        expect(await states[0].listActive()).toEqual([]);
        const ledger = async (table: string) => (await place.pool.query<{ hash: string }>(`SELECT hash FROM ${table} ORDER BY created_at`)).rows.map((row) => row.hash);
        expect(await ledger('__drizzle_migrations')).toEqual(SERVER_POSTGRES_MIGRATIONS.map((m) => m.hash));
        expect(await ledger(ORCHESTRATOR_MIGRATION_LEDGER)).toEqual(ORCHESTRATOR_POSTGRES_MIGRATIONS.map((m) => m.hash));
        expect(await applyPostgresMigrations(place.pool)).toEqual([]);
      } finally {
        await place.drop();
      }
    });
  });
}
