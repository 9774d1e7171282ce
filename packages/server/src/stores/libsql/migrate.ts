// The libSQL stores' migrations: drizzle-kit's (drizzle/, embedded in migrations.ts),
// applied at start with drizzle's ledger; a database made before drizzle-kit is adopted.
import type { Client } from '@libsql/client';
import { applyMigrations as apply, hasTable, lastAppliedMigration, migrationLedgerRow, type EmbeddedMigration } from '@mosaic-fed/core/util';
import { MIGRATIONS } from './migrations.js';

/**
 * Before drizzle-kit, migrations were SQL in code with their own ledger. Its entries, in
 * order; drizzle-kit's migrations start from the release's schema, which the first three
 * made.
 */
const HAND_WRITTEN_LEDGER = 'mosaic_migrations';
const HAND_WRITTEN = [
  '0001_instance_audit_admin_tokens',
  '0002_connections_message_log',
  '0003_agents_outbox',
  '0004_connection_vouching_replaced_keys',
  '0005_admin_token_lifecycle',
  '0006_outbox_order',
  '0007_spawn_requests',
] as const;
const RELEASE_ENTRIES = 3;

/** Applies every pending migration (see core's `applyMigrations`) and answers their tags. */
export async function applyMigrations(client: Client, migrations: readonly EmbeddedMigration[] = MIGRATIONS): Promise<string[]> {
  await adoptHandWrittenLedger(client, migrations);
  return apply(client, migrations);
}

/**
 * A database made before drizzle-kit: its hand-written ledger says which of drizzle-kit's
 * migrations it has already; they are recorded as applied (not run) and that ledger goes,
 * in one batch. The rest are applied as for any database.
 */
async function adoptHandWrittenLedger(client: Client, migrations: readonly EmbeddedMigration[]): Promise<void> {
  if (!(await hasTable(client, HAND_WRITTEN_LEDGER))) return;
  const { rows } = await client.execute(`SELECT id FROM ${HAND_WRITTEN_LEDGER} ORDER BY id`);
  const ids = rows.map((row) => String(row.id));
  if (ids.length < RELEASE_ENTRIES || !ids.every((id, i) => id === HAND_WRITTEN[i])) {
    throw new Error(
      `this database's migrations (${ids.join(', ') || 'none'}) are not a history this version knows; restore it from a backup made by a released version`,
    );
  }
  const already = (await lastAppliedMigration(client)) === 0 ? migrations.slice(0, ids.length - RELEASE_ENTRIES + 1) : [];
  try {
    await client.batch([...already.map(migrationLedgerRow), `DROP TABLE ${HAND_WRITTEN_LEDGER}`], 'write');
  } catch (error) {
    // Another process adopted it first: its ledger is gone.
    if (await hasTable(client, HAND_WRITTEN_LEDGER)) throw error;
  }
}
