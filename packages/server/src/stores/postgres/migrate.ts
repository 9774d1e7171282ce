// The PostgreSQL stores' migrations: drizzle-kit's (drizzle-postgres/, embedded in
// migrations.ts), applied at start with drizzle's ledger, one replica at a time.
import { applyPostgresMigrations as apply, type EmbeddedMigration, type PostgresMigrationPool } from '@mosaic-fed/core/util';
import { MIGRATIONS } from './migrations.js';

/** Applies every pending migration (see core's `applyPostgresMigrations`) and answers their tags. */
export function applyPostgresMigrations(pool: PostgresMigrationPool, migrations: readonly EmbeddedMigration[] = MIGRATIONS): Promise<string[]> {
  return apply(pool, migrations);
}
