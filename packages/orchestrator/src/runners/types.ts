import type { AgentProgress, AgentResult, AgentSpawnPayload, AgentType, AgentUsage, ApprovalDecision, PendingApproval, TranscriptEntry } from '@mosaic-fed/core';
import type { Sandbox } from '../sandboxes/types.js';

/** Progress of one attempt: model turns so far and what the agent did last. */
export type RunnerProgress = AgentProgress;

/** A transcript entry as a runner records it; the orchestrator adds the attempt, the time and the number. */
export type TranscriptRecord = Omit<TranscriptEntry, 'index' | 'attempt' | 'at'>;

/** What an agent asks a person to approve: its plan, or a tool use the rules hold. */
export type ApprovalRequest = Omit<PendingApproval, 'id'>;

/** A person's answer, as the agent hears it. */
export interface ApprovalReply {
  decision: ApprovalDecision;
  note?: string | undefined;
}

/** What waits for a person's approval in this run (PROTOCOL 5, Approvals). */
export interface RunApprovals {
  /** The agent proposes its plan and acts only once it is approved. */
  plan: boolean;
  /** Bash commands a step of which matches one of these patterns wait for approval (core's `commandNeedsApproval`). */
  commands: readonly string[];
}

/** What a runner gets for one attempt. */
export interface AgentRunContext {
  agentId: string;
  spec: AgentSpawnPayload;
  attempt: number;
  /** The repository checkout the agent works in. */
  sandbox: Sandbox;
  /** Aborted on kill and on timeout: stop the model call and the tools. */
  signal: AbortSignal;
  reportProgress(progress: RunnerProgress): void;
  /**
   * The model tokens this attempt may still use (the agent's budget less what its earlier
   * attempts used; cache tokens count): a runner that reaches them stops at that turn with
   * a `BudgetExhausted`. Left out: no limit.
   */
  tokenBudget?: number | undefined;
  /** What the attempt has used so far, after each model turn: it counts toward the agent's budget. */
  reportUsage(usage: AgentUsage): void;
  /**
   * Adds to the agent's transcript (written with the progress, at most once a second).
   * The runner clips and cleans what it records: no secret and no host path.
   */
  record(entry: TranscriptRecord): void;
  /** What must wait for a person's approval in this run. */
  approvals: RunApprovals;
  /**
   * Moves the agent to `waiting` with the request as its `pendingApproval`, and resolves
   * with the hub's answer once it comes (the agent is `running` again by then). Rejects
   * when the run's signal aborts: a kill, or the timeout, which the wait counts toward.
   */
  requestApproval(request: ApprovalRequest): Promise<ApprovalReply>;
}

/**
 * Runs one attempt of one agent type. Throw to fail the attempt (it is retried while
 * `maxRetries` allows). The orchestrator adds the `patch` from the sandbox afterwards,
 * and the `outcome` from the patch and the `checks` when the runner gives none.
 */
export interface AgentRunner {
  run(context: AgentRunContext): Promise<Omit<AgentResult, 'patch'>>;
}

/** A runner per agent type; a type with no runner cannot be spawned. */
export type AgentRunners = Partial<Record<AgentType, AgentRunner>>;
