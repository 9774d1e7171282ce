import { createClient, type Client } from '@libsql/client';
import { getTableConfig } from 'drizzle-orm/sqlite-core';
import { describe, expect, it } from 'vitest';
import { createInMemoryStores } from '../src/stores/memory/index.js';
import { applyMigrations } from '../src/stores/libsql/migrate.js';
import { MIGRATIONS } from '../src/stores/libsql/migrations.js';
import { schema } from '../src/stores/libsql/schema.js';
import { testPostgresAnswers } from '../../../test/postgres.js';
import { createFileStores, createPostgresStores, createTempDir } from './helpers.js';
import { RELEASE_MIGRATIONS } from './release-database.js';
import { describeStoreContract } from './store-contract.js';

describeStoreContract('in-memory', async () => ({ stores: createInMemoryStores(), cleanup: () => Promise.resolve() }));
describeStoreContract('libSQL file', async () => {
  const { stores, cleanup } = await createFileStores();
  return { stores, cleanup };
});

if (await testPostgresAnswers()) {
  describeStoreContract('PostgreSQL', createPostgresStores);
} else {
  describe.skip('PostgreSQL stores (no PostgreSQL: set MOSAIC_FED_TEST_POSTGRES_URL or start one)', () => {
    it('need PostgreSQL', () => undefined);
  });
}

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
      expect([...appliedA, ...appliedB].sort()).toEqual(MIGRATIONS.map((m) => m.tag).sort());
      expect(await applyMigrations(a)).toEqual([]);
      const ledger = await a.execute('SELECT hash FROM __drizzle_migrations ORDER BY created_at');
      expect(ledger.rows.map((r) => r.hash)).toEqual(MIGRATIONS.map((m) => m.hash));
    } finally {
      a.close();
      b.close();
      dir.remove();
    }
  });

  it('upgrade a database from an older migration, keeping its rows', async () => {
    const dir = createTempDir();
    const client = createClient({ url: `file:${dir.path}/older.db` });
    try {
      expect(await applyMigrations(client, MIGRATIONS.slice(0, 3))).toEqual(MIGRATIONS.slice(0, 3).map((m) => m.tag));
      await client.execute(OUTBOX_ROW);
      expect(await applyMigrations(client)).toEqual(MIGRATIONS.slice(3).map((m) => m.tag));
      const { rows } = await client.execute('SELECT id, order_key FROM outbox');
      expect(rows.map((row) => ({ ...row }))).toEqual([{ id: 'o1', order_key: null }]);
      expect(await schemaOf(client)).toEqual(await freshSchema());
    } finally {
      client.close();
      dir.remove();
    }
  });

  it('adopt a database the first release made, with its hand-written ledger, and finish it', async () => {
    const dir = createTempDir();
    const client = createClient({ url: `file:${dir.path}/release.db` });
    try {
      await client.execute('CREATE TABLE mosaic_migrations (id TEXT PRIMARY KEY NOT NULL, applied_at TEXT NOT NULL)');
      for (const migration of RELEASE_MIGRATIONS) {
        await client.batch([...migration.statements, { sql: 'INSERT INTO mosaic_migrations VALUES (?, ?)', args: [migration.id, '2026-11-25T12:00:00Z'] }], 'write');
      }
      await client.execute(
        `INSERT INTO connections VALUES ('c1', 'peer-1', 'https://peer.example.com', 'Peer', 'ACTIVE', 'outgoing', '{}', '{}', '{}', '[]', '2026-11-25T12:00:00Z', '2026-11-25T12:00:00Z', 1)`,
      );
      await client.execute(OUTBOX_ROW);
      // The release's schema is drizzle-kit's first migration: only the later ones run.
      expect(await applyMigrations(client)).toEqual(MIGRATIONS.slice(1).map((m) => m.tag));
      expect(await applyMigrations(client)).toEqual([]);
      const { rows } = await client.execute('SELECT id, peer_url_vouches, replaced_peer_keys FROM connections');
      // A connection this instance asked for vouched by construction.
      expect(rows.map((row) => ({ ...row }))).toEqual([{ id: 'c1', peer_url_vouches: 1, replaced_peer_keys: '[]' }]);
      expect((await client.execute("SELECT name FROM sqlite_master WHERE name = 'mosaic_migrations'")).rows).toEqual([]);
      expect(await schemaOf(client)).toEqual(await freshSchema());
    } finally {
      client.close();
      dir.remove();
    }
  });

  it('refuse a hand-written ledger whose history this version does not know, changing nothing', async () => {
    const dir = createTempDir();
    const client = createClient({ url: `file:${dir.path}/unknown.db` });
    try {
      await client.execute('CREATE TABLE mosaic_migrations (id TEXT PRIMARY KEY NOT NULL, applied_at TEXT NOT NULL)');
      await client.execute("INSERT INTO mosaic_migrations VALUES ('0001_instance_audit_admin_tokens', 'x'), ('0009_from_a_fork', 'x')");
      await expect(applyMigrations(client)).rejects.toThrow(/0001_instance_audit_admin_tokens, 0009_from_a_fork.*not a history this version knows/);
      expect((await client.execute("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")).rows.map((row) => row.name)).toEqual(['mosaic_migrations']);
      expect((await client.execute('SELECT count(*) AS n FROM mosaic_migrations')).rows[0]?.n).toBe(2);
    } finally {
      client.close();
      dir.remove();
    }
  });
});

const OUTBOX_ROW = `INSERT INTO outbox (id, connection_id, peer_instance_id, event_type, payload, attempts, next_attempt_at, give_up_at, created_at)
  VALUES ('o1', 'c1', 'peer-1', 'agent.status.changed', '{}', 0, 0, 0, 0)`;

/**
 * Each table's columns (name, type, NOT NULL, key) and indexes (columns, unique), in
 * name order: what a store relies on, whichever statements made it.
 */
async function schemaOf(client: Client) {
  const { rows: tables } = await client.execute("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name != '__drizzle_migrations' ORDER BY name");
  const schema: Record<string, unknown> = {};
  for (const { name } of tables) {
    const columns = (await client.execute(`PRAGMA table_info(${String(name)})`)).rows
      .map((row) => {
        const type = String(row.type).toLowerCase();
        // An INTEGER PRIMARY KEY is the rowid: never null, whether it says so or not.
        const notNull = Number(row.notnull) === 1 || (type === 'integer' && Number(row.pk) === 1);
        return `${String(row.name)} ${type}${notNull ? ' not null' : ''}${Number(row.pk) > 0 ? ` pk${String(row.pk)}` : ''}`;
      })
      .sort();
    const indexes: string[] = [];
    for (const index of (await client.execute(`PRAGMA index_list(${String(name)})`)).rows) {
      if (index.origin === 'pk') continue;
      const on = (await client.execute(`PRAGMA index_info(${String(index.name)})`)).rows.map((row) => String(row.name));
      indexes.push(`${Number(index.unique) === 1 ? 'unique ' : ''}(${on.join(', ')})`);
    }
    schema[String(name)] = { columns, indexes: indexes.sort() };
  }
  return schema;
}

async function freshSchema() {
  const client = createClient({ url: ':memory:' });
  try {
    await applyMigrations(client);
    return await schemaOf(client);
  } finally {
    client.close();
  }
}
