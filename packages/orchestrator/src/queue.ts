/**
 * @mosaic-fed/orchestrator/queue: agents on a pool of worker processes over BullMQ on
 * Valkey. `QueueOrchestrator` for every server replica, `AgentWorker` for every worker.
 *
 * @packageDocumentation
 */
export { AgentWorker, QueueOrchestrator } from './queue/index.js';
export type { AgentQueueOptions, AgentWorkerOptions, QueueOrchestratorOptions } from './queue/index.js';
