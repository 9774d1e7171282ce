import type { Client } from '@libsql/client';
import { MIGRATIONS, type Migration } from './migrations.js';

const LEDGER = 'CREATE TABLE IF NOT EXISTS mosaic_migrations (id TEXT PRIMARY KEY NOT NULL, applied_at TEXT NOT NULL)';

async function appliedIds(client: Client): Promise<Set<string>> {
  const result = await client.execute('SELECT id FROM mosaic_migrations');
  return new Set(result.rows.map((row) => String(row.id)));
}

/**
 * Applies every pending migration, each atomically with its ledger row. Two processes
 * starting together on one database are fine: the loser's batch fails and rolls back,
 * and it finds the migration applied when it looks again.
 */
export async function applyMigrations(
  client: Client,
  migrations: readonly Migration[] = MIGRATIONS,
): Promise<string[]> {
  await client.execute(LEDGER);
  const applied: string[] = [];
  for (const migration of migrations) {
    if ((await appliedIds(client)).has(migration.id)) continue;
    try {
      await client.batch(
        [
          ...migration.statements,
          { sql: 'INSERT INTO mosaic_migrations (id, applied_at) VALUES (?, ?)', args: [migration.id, new Date().toISOString()] },
        ],
        'write',
      );
      applied.push(migration.id);
    } catch (error) {
      if (!(await appliedIds(client)).has(migration.id)) throw error;
    }
  }
  return applied;
}
