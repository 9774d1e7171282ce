/**
 * @mosaic-fed/orchestrator/libsql: agent state in a SQLite file or a libSQL server.
 *
 * @packageDocumentation
 */
export { createLibsqlAgentStateStore } from './state/libsql.js';
export type { LibsqlAgentStateOptions } from './state/libsql.js';
