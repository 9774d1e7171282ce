import { z } from 'zod';
import {
  AgentIdSchema,
  AgentSpawnPayloadSchema,
  type AgentBundleResponse,
  type AgentKillResponse,
  type AgentRespondResponse,
  type ApprovalAnswer,
  type AgentSpawnResponse,
  type AgentStatus,
  type AgentStatusChangedPayload,
  type TranscriptEntry,
} from './schemas/agents.js';
import { EgressRuleSchema } from './egress.js';
import { ApprovalRulesSchema } from './schemas/connections.js';
import { LIMITS } from './limits.js';
import { InstanceIdSchema } from './schemas/instance.js';
import { ActorSchema } from './schemas/messages.js';

/**
 * What the server asks an orchestrator to run; also the body of the orchestrator
 * service's `POST /agents/spawn` (PROTOCOL 7).
 */
export const OrchestratorSpawnRequestSchema = z.strictObject({
  /**
   * Chosen by the server before it calls `spawn`, and recorded with the message that
   * asked for it, so a retried spawn names the same agent and never runs twice.
   */
  agentId: AgentIdSchema,
  /** The instance that asked for the agent; only it may see or kill it (PROTOCOL 5). */
  ownerInstanceId: InstanceIdSchema,
  /** The validated `agent.spawn` payload, defaults filled in. */
  spec: AgentSpawnPayloadSchema,
  /** The hub's user on whose behalf the agent runs, if the hub said. */
  actor: ActorSchema.optional(),
  /**
   * The most model tokens the agent may use, its attempts together (the connection's
   * `maxTokensPerAgent`): it stops at the turn that reaches them and ends `failed`.
   */
  maxTokens: z.number().int().min(1).optional(),
  /**
   * The hosts the agent's sandbox may reach through the orchestrator's egress proxy: the
   * instance's rules and the connection's `egress` grant (PROTOCOL 3). Left out: no network.
   */
  egress: z.array(EgressRuleSchema).max(2 * LIMITS.egressRulesMax).optional(),
  /**
   * What waits for the hub's approval besides what the spec asks (the connection's
   * `approvals` grant): every plan, and commands matching these patterns. Left out: only the spec's.
   */
  approvals: ApprovalRulesSchema.optional(),
});
export type OrchestratorSpawnRequest = z.output<typeof OrchestratorSpawnRequestSchema>;

/** Options for {@link OrchestratorAdapter.watch}. */
export interface WatchAgentOptions {
  /** Yield only changes with a greater `sequence` (resume after a reconnect). */
  afterSequence?: number;
  /** Ends the iteration when aborted. */
  signal?: AbortSignal;
}

/** Which part of a transcript to read: entries with an `index` above `after`, at most `limit`. */
export interface TranscriptPage {
  after: number;
  limit: number;
}

/** Which part of a bundle to read: from `offset`, at most `length` bytes (default a whole chunk). */
export interface BundleRange {
  offset: number;
  length?: number | undefined;
}

/**
 * The seam between the federation server and whatever runs agents (ARCHITECTURE,
 * "Dependency direction"): in process, over HTTP (PROTOCOL 7) or through a queue.
 *
 * Every method reports failures as `FederationError`s: `NOT_FOUND` for an unknown agent,
 * `AGENT_ALREADY_TERMINAL` for a kill that comes too late, and
 * `ORCHESTRATOR_UNAVAILABLE` when the orchestrator cannot be reached.
 */
export interface OrchestratorAdapter {
  /**
   * Starts an agent in `spawning`. Idempotent by `agentId`: a second call for the same
   * id answers as the first did and starts nothing.
   */
  spawn(request: OrchestratorSpawnRequest): Promise<AgentSpawnResponse>;
  /** The agent's current status. */
  getStatus(agentId: string): Promise<AgentStatus>;
  /**
   * Kills the agent: the model call, its tools and its sandbox stop. Killing a killed
   * agent answers the same again; a completed or failed one is `AGENT_ALREADY_TERMINAL`.
   */
  kill(agentId: string): Promise<AgentKillResponse>;
  /**
   * Status changes of one agent, in `sequence` order, starting with its current status.
   * The iteration ends after a terminal status or when the signal aborts.
   */
  watch(agentId: string, options?: WatchAgentOptions): AsyncIterable<AgentStatusChangedPayload>;
  /** Part of the agent's transcript, oldest first: its tool calls, its text and the runner's notes. */
  transcript(agentId: string, page: TranscriptPage): Promise<TranscriptEntry[]>;
  /**
   * A chunk of the git bundle of a completed worker's commits (`result.bundle`), from
   * `offset`: `NOT_FOUND` for an agent without one, `VALIDATION_FAILED` past its end.
   */
  bundle(agentId: string, range: BundleRange): Promise<AgentBundleResponse>;
  /**
   * Answers the agent's pending approval (PROTOCOL 5, Approvals); the agent goes on once it
   * reads the answer. `VALIDATION_FAILED` when that approval is not pending (answered
   * already, or the agent moved on), `NOT_FOUND` for an unknown agent.
   */
  respond(agentId: string, answer: ApprovalAnswer): Promise<AgentRespondResponse>;
  /** Releases connections, timers and workers. */
  close?(): Promise<void>;
}
