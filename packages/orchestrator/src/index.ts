/**
 * @mosaic-fed/orchestrator: runs agents behind core's `OrchestratorAdapter`.
 *
 * This entry loads no vendor SDK and no Node built-in. The pieces that do sit behind
 * subpaths: `/node` (process sandbox, git workspaces), `/docker` (Docker or Podman
 * sandboxes), `/anthropic` (Claude runners), `/libsql` and `/valkey` (state stores),
 * `/queue` (a BullMQ worker pool), `/testing` (a scripted Messages API server).
 *
 * @packageDocumentation
 */
export { LocalOrchestrator, ORCHESTRATOR_RESTARTED, ORCHESTRATOR_STOPPED } from './local-orchestrator.js';
export { WORKER_STOPPED } from './executor.js';
export { AgentFailure, UNEXPLAINED_FAILURE } from './lib/failure.js';
export { REPOSITORY_SETUP_FILE } from './setup.js';
export type { SetupOptions } from './setup.js';
export type { LocalOrchestratorOptions } from './local-orchestrator.js';
export type { OrchestratorBacklog, OrchestratorObserver } from './observer.js';
export { HttpOrchestrator } from './http/client.js';
export type { HttpOrchestratorOptions } from './http/client.js';
export { createOrchestratorService } from './http/service.js';
export type { OrchestratorServiceOptions } from './http/service.js';
export { InMemoryAgentStateStore } from './state/memory.js';
export type { AgentStateStore, NewTranscriptEntry, StoredAgent, StoredAnswer } from './state/types.js';
export type { SandboxEgress } from './sandboxes/egress.js';
export type { CreateSandboxOptions, ExecOptions, ExecResult, Sandbox, SandboxProvider } from './sandboxes/types.js';
export type { AgentRunContext, AgentRunner, AgentRunners, ApprovalReply, ApprovalRequest, RunApprovals, RunnerProgress, TranscriptRecord } from './runners/types.js';
export type { CheckoutSource, Workspace, WorkspaceChanges, WorkspaceProvider } from './workspaces/types.js';
