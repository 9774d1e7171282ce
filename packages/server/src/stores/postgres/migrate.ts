// The PostgreSQL stores' migrations: drizzle-kit's (drizzle-postgres/, embedded in
// migrations.ts), applied at start with drizzle's ledger, one replica at a time.
import { MIGRATION_LEDGER, type EmbeddedMigration } from '@mosaic-fed/core/util';
import { sql } from 'drizzle-orm';
import { MIGRATIONS } from './migrations.js';
import type { Database } from './shared.js';

/**
 * Applies every pending migration and answers their tags. All of them go in one
 * transaction under an advisory lock (per schema), so replicas starting together apply
 * each once: the others wait, then find nothing pending. PostgreSQL's DDL is
 * transactional: a migration that fails leaves the database as it was.
 */
export function applyPostgresMigrations(db: Database, migrations: readonly EmbeddedMigration[] = MIGRATIONS): Promise<string[]> {
  return db.transaction(async (tx) => {
    await tx.execute(sql`SELECT pg_advisory_xact_lock(hashtextextended(current_schema() || ':mosaic-fed:migrations', 0))`);
    await tx.execute(sql.raw(`CREATE TABLE IF NOT EXISTS ${MIGRATION_LEDGER} (id SERIAL PRIMARY KEY, hash text NOT NULL, created_at bigint)`));
    const { rows } = await tx.execute<{ created_at: string }>(sql.raw(`SELECT created_at FROM ${MIGRATION_LEDGER} ORDER BY created_at DESC LIMIT 1`));
    const last = Number(rows[0]?.created_at ?? 0);
    const applied: string[] = [];
    for (const migration of migrations) {
      if (last >= migration.folderMillis) continue;
      for (const statement of migration.sql.map((text) => text.trim()).filter(Boolean)) await tx.execute(sql.raw(statement));
      await tx.execute(sql`INSERT INTO ${sql.raw(MIGRATION_LEDGER)} (hash, created_at) VALUES (${migration.hash}, ${migration.folderMillis})`);
      applied.push(migration.tag);
    }
    return applied;
  });
}
