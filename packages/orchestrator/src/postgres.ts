/**
 * @mosaic-fed/orchestrator/postgres: agent state in PostgreSQL, for many machines.
 *
 * @packageDocumentation
 */
export { createPostgresAgentStateStore, ORCHESTRATOR_MIGRATION_LEDGER } from './state/postgres.js';
export type { PostgresAgentStateOptions } from './state/postgres.js';
