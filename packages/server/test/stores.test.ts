import { createClient } from '@libsql/client';
import { getTableConfig } from 'drizzle-orm/sqlite-core';
import { describe, expect, it } from 'vitest';
import { createInMemoryStores } from '../src/stores/memory/index.js';
import { applyMigrations } from '../src/stores/libsql/migrate.js';
import { MIGRATIONS } from '../src/stores/libsql/migrations.js';
import { schema } from '../src/stores/libsql/schema.js';
import { createFileStores, createTempDir } from './helpers.js';
import { describeStoreContract } from './store-contract.js';

describeStoreContract('in-memory', async () => ({ stores: createInMemoryStores(), cleanup: () => Promise.resolve() }));
describeStoreContract('libSQL file', async () => {
  const { stores, cleanup } = await createFileStores();
  return { stores, cleanup };
});

describe('libSQL migrations', () => {
  it('create every table and column the drizzle schema declares', async () => {
    const dir = createTempDir();
    const client = createClient({ url: `file:${dir.path}/schema.db` });
    try {
      await applyMigrations(client);
      for (const table of Object.values(schema)) {
        const config = getTableConfig(table);
        const info = await client.execute(`PRAGMA table_info(${config.name})`);
        const columns = new Map(info.rows.map((row) => [String(row.name), row]));
        for (const column of config.columns) {
          expect(columns.has(column.name), `${config.name}.${column.name}`).toBe(true);
          expect(Number(columns.get(column.name)?.notnull) === 1 || Number(columns.get(column.name)?.pk) === 1, `${config.name}.${column.name} NOT NULL`).toBe(
            column.notNull,
          );
        }
        expect(columns.size, `${config.name} has no undeclared columns`).toBe(config.columns.length);
      }
    } finally {
      client.close();
      dir.remove();
    }
  });

  it('apply once, even from two clients starting together on one file', async () => {
    const dir = createTempDir();
    const [a, b] = [createClient({ url: `file:${dir.path}/race.db` }), createClient({ url: `file:${dir.path}/race.db` })];
    try {
      const [appliedA, appliedB] = await Promise.all([applyMigrations(a), applyMigrations(b)]);
      expect([...appliedA, ...appliedB].sort()).toEqual(MIGRATIONS.map((m) => m.id).sort());
      expect(await applyMigrations(a)).toEqual([]);
      const ledger = await a.execute('SELECT id FROM mosaic_migrations');
      expect(ledger.rows.map((r) => r.id)).toEqual(MIGRATIONS.map((m) => m.id));
    } finally {
      a.close();
      b.close();
      dir.remove();
    }
  });
});
