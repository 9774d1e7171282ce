// Applies drizzle-kit's migrations, embedded in migrations.ts, with drizzle's own ledger
// (`__drizzle_migrations`: a file's hash and its journal time), so that drizzle-kit's
// tools read the same history. Embedded rather than read from drizzle/ because the
// store also runs where there is no file system.
import type { Client } from '@libsql/client';
import { MIGRATIONS } from './migrations.js';

/** One migration as drizzle's migrator reads it from drizzle/. */
export interface EmbeddedMigration {
  tag: string;
  /** The journal's `when`: migrations later than the last applied one are pending. */
  folderMillis: number;
  /** sha256 of the SQL file. */
  hash: string;
  /** Statements, split at drizzle-kit's breakpoints. */
  sql: string[];
}

const LEDGER = '__drizzle_migrations';

/**
 * Before drizzle-kit, migrations were SQL in code with their own ledger. Its entries, in
 * order, and how many of drizzle-kit's migrations (which start from the release's schema)
 * a database that has the first n of them already has: 0001 to 0003 made the release.
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

/**
 * Applies every pending migration, each atomically with its ledger row, and answers the
 * tags it applied. Two processes starting together on one database are fine: the
 * loser's batch fails and rolls back, and it finds the migration applied when it looks
 * again.
 */
export async function applyMigrations(client: Client, migrations: readonly EmbeddedMigration[] = MIGRATIONS): Promise<string[]> {
  await client.execute(`CREATE TABLE IF NOT EXISTS ${LEDGER} (id SERIAL PRIMARY KEY, hash text NOT NULL, created_at numeric)`);
  await adoptHandWrittenLedger(client, migrations);
  const applied: string[] = [];
  for (const migration of migrations) {
    if ((await lastApplied(client)) >= migration.folderMillis) continue;
    try {
      await client.batch([...migration.sql.map((statement) => statement.trim()).filter(Boolean), ledgerRow(migration)], 'write');
      applied.push(migration.tag);
    } catch (error) {
      if ((await lastApplied(client)) < migration.folderMillis) throw error;
    }
  }
  return applied;
}

async function lastApplied(client: Client): Promise<number> {
  const { rows } = await client.execute(`SELECT created_at FROM ${LEDGER} ORDER BY created_at DESC LIMIT 1`);
  return rows[0] === undefined ? 0 : Number(rows[0].created_at);
}

function ledgerRow(migration: EmbeddedMigration) {
  return { sql: `INSERT INTO ${LEDGER} (hash, created_at) VALUES (?, ?)`, args: [migration.hash, migration.folderMillis] };
}

/**
 * A database made before drizzle-kit: its hand-written ledger says which of drizzle-kit's
 * migrations it has already; they are recorded as applied (not run) and that ledger goes,
 * in one batch. The rest are applied as for any database.
 */
async function adoptHandWrittenLedger(client: Client, migrations: readonly EmbeddedMigration[]): Promise<void> {
  const { rows: tables } = await client.execute({ sql: "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", args: [HAND_WRITTEN_LEDGER] });
  if (tables.length === 0) return;
  const { rows } = await client.execute(`SELECT id FROM ${HAND_WRITTEN_LEDGER} ORDER BY id`);
  const ids = rows.map((row) => String(row.id));
  const known = ids.length >= RELEASE_ENTRIES && ids.every((id, i) => id === HAND_WRITTEN[i]);
  if (!known) {
    throw new Error(
      `this database's migrations (${ids.join(', ') || 'none'}) are not a history this version knows; restore it from a backup made by a released version`,
    );
  }
  const already = migrations.slice(0, ids.length - RELEASE_ENTRIES + 1);
  try {
    await client.batch([...((await lastApplied(client)) === 0 ? already.map(ledgerRow) : []), `DROP TABLE ${HAND_WRITTEN_LEDGER}`], 'write');
  } catch (error) {
    // Another process adopted it first: its ledger is gone.
    const { rows: left } = await client.execute({ sql: "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", args: [HAND_WRITTEN_LEDGER] });
    if (left.length > 0) throw error;
  }
}
