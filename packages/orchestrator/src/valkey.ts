/**
 * @mosaic-fed/orchestrator/valkey: agent state in Valkey or Redis, shared by orchestrators on many machines.
 *
 * @packageDocumentation
 */
export { ValkeyAgentStateStore } from './state/valkey.js';
export type { ValkeyAgentStateStoreOptions } from './state/valkey.js';
