/**
 * @mosaic-fed/core/util: runtime-neutral helpers the packages share that are not part of
 * the protocol.
 *
 * @packageDocumentation
 */
export { batchPerTurn, distinctRounds, rowsStatement } from './batch.js';
export { canonicalJson } from './lib/canonical-json.js';
export { sha256 } from './lib/sha256.js';
export type { BatchPerTurnOptions } from './batch.js';
export { applyMigrations, applyPostgresMigrations, hasTable, lastAppliedMigration, MIGRATION_LEDGER, migrationLedgerRow } from './migrations.js';
export type { EmbeddedMigration, MigrationClient, MigrationStatement, PostgresMigrationConnection, PostgresMigrationPool } from './migrations.js';
