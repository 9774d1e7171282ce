/**
 * @mosaic-fed/orchestrator: runs agents (lifecycle, Anthropic SDK runners, sandboxes, a
 * BullMQ worker pool) behind core's `OrchestratorAdapter`.
 *
 * `LocalOrchestrator` arrives with the orchestrator issue; this entry exports nothing yet.
 *
 * @packageDocumentation
 */
export {};
