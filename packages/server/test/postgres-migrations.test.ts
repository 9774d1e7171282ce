import { getTableConfig } from 'drizzle-orm/pg-core';
import { describe, expect, it } from 'vitest';
import type { EmbeddedMigration } from '@mosaic-fed/core/util';
import { applyPostgresMigrations } from '../src/stores/postgres/migrate.js';
import { MIGRATIONS } from '../src/stores/postgres/migrations.js';
import { schema } from '../src/stores/postgres/schema.js';
import { createPostgresSchema, testPostgresAnswers } from '../../../test/postgres.js';

// The PostgreSQL stores' migrations against a real server, each test in a schema of its own.
const answers = await testPostgresAnswers();

/** A migration after the embedded ones, as the next release would bring. */
function laterMigration(tag: string, statements: string[]): EmbeddedMigration {
  const last = MIGRATIONS.at(-1);
  if (last === undefined) throw new Error('no migrations embedded');
  return { tag, folderMillis: last.folderMillis + 1000, hash: `hash-of-${tag}`, sql: statements };
}

async function withSchema<T>(run: (place: Awaited<ReturnType<typeof createPostgresSchema>>) => Promise<T>): Promise<T> {
  const place = await createPostgresSchema();
  try {
    return await run(place);
  } finally {
    await place.drop();
  }
}

if (!answers) {
  describe.skip('PostgreSQL migrations (no PostgreSQL: set MOSAIC_FED_TEST_POSTGRES_URL or start one)', () => {
    it('need PostgreSQL', () => undefined);
  });
}

describe.runIf(answers)('PostgreSQL migrations', () => {
  it('create every table and column the drizzle schema declares, text compared byte by byte', async () => {
    await withSchema(async ({ pool, schema: name }) => {
      await applyPostgresMigrations(pool);
      for (const table of Object.values(schema)) {
        const config = getTableConfig(table);
        const { rows } = await pool.query<{ column_name: string; is_nullable: string; data_type: string; collation_name: string | null }>(
          'SELECT column_name, is_nullable, data_type, collation_name FROM information_schema.columns WHERE table_schema = $1 AND table_name = $2',
          [name, config.name],
        );
        const columns = new Map(rows.map((row) => [row.column_name, row]));
        for (const column of config.columns) {
          const found = columns.get(column.name);
          expect(found, `${config.name}.${column.name}`).toBeDefined();
          expect(found?.is_nullable === 'NO', `${config.name}.${column.name} NOT NULL`).toBe(column.notNull || column.primary);
          if (found?.data_type === 'text') expect(found.collation_name, `${config.name}.${column.name} collation`).toBe('C');
        }
        expect(columns.size, `${config.name} has no undeclared columns`).toBe(config.columns.length);
      }
    });
  });

  it('apply once, even from several replicas starting together', async () => {
    await withSchema(async ({ url, pool }) => {
      const pg = (await import('pg')).default;
      const pools = [pool, new pg.Pool({ connectionString: url }), new pg.Pool({ connectionString: url })];
      try {
        const applied = await Promise.all(pools.map((each) => applyPostgresMigrations(each)));
        expect(applied.flat().sort()).toEqual(MIGRATIONS.map((m) => m.tag).sort());
        expect(await applyPostgresMigrations(pool)).toEqual([]);
        const { rows } = await pool.query<{ hash: string }>('SELECT hash FROM __drizzle_migrations ORDER BY created_at');
        expect(rows.map((row) => row.hash)).toEqual(MIGRATIONS.map((m) => m.hash));
      } finally {
        await Promise.all(pools.slice(1).map((each) => each.end()));
      }
    });
  });

  it('upgrade a database from an older migration, keeping its rows; a migration that fails changes nothing', async () => {
    await withSchema(async ({ pool }) => {
      await applyPostgresMigrations(pool);
      await pool.query(`INSERT INTO outbox (id, connection_id, peer_instance_id, event_type, payload, attempts, next_attempt_at, give_up_at, created_at)
        VALUES ('o1', 'c1', 'peer-1', 'agent.status.changed', '{}', 0, 0, 0, 0)`);
      const next = laterMigration('0001_outbox_note', ['ALTER TABLE outbox ADD COLUMN note text', "UPDATE outbox SET note = 'kept'"]);
      expect(await applyPostgresMigrations(pool, [...MIGRATIONS, next])).toEqual(['0001_outbox_note']);
      expect((await pool.query('SELECT id, note FROM outbox')).rows).toEqual([{ id: 'o1', note: 'kept' }]);

      const broken = { ...laterMigration('0002_broken', ['ALTER TABLE outbox ADD COLUMN other text', 'SELECT * FROM no_such_table']), folderMillis: next.folderMillis + 1000 };
      await expect(applyPostgresMigrations(pool, [...MIGRATIONS, next, broken])).rejects.toThrow(/no_such_table/);
      const { rows } = await pool.query<{ column_name: string }>("SELECT column_name FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = 'outbox' AND column_name = 'other'");
      expect(rows).toEqual([]);
      expect((await pool.query('SELECT count(*)::int AS n FROM __drizzle_migrations')).rows).toEqual([{ n: MIGRATIONS.length + 1 }]);
    });
  });
});
