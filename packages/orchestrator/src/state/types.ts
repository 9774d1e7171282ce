// The agent state store contract: every agent's latest status and its numbered status
// events, written with compare-and-set so two writers never both move an agent.
import type { AgentSpawnPayload, AgentStatus, AgentStatusChangedPayload, ApprovalAnswer, ApprovalRules, TranscriptEntry } from '@mosaic-fed/core';

/** A transcript entry before the store numbers it. */
export type NewTranscriptEntry = Omit<TranscriptEntry, 'index'>;

/** A person's answer to one of an agent's approvals, as the orchestrator keeps it. */
export type StoredAnswer = ApprovalAnswer & { answeredAt: string };

/** An agent as the orchestrator keeps it. */
export interface StoredAgent {
  agentId: string;
  ownerInstanceId: string;
  spec: AgentSpawnPayload;
  /** The hosts its sandbox may reach through the egress proxy (core's egress rules). Left out: none. */
  egress?: string[] | undefined;
  /** The most model tokens it may use, its attempts together. Left out: no limit. */
  maxTokens?: number | undefined;
  /** What waits for approval besides what its spec asks (the connection's rules). Left out: none. */
  approvals?: ApprovalRules | undefined;
  /** The W3C `traceparent` of the spawn, so the agent's run continues its trace (on any worker). Left out: not traced. */
  traceparent?: string | undefined;
  status: AgentStatus;
  /** The `sequence` of `status`: 1 for the first, growing by one per change (PROTOCOL 5). */
  sequence: number;
}

export interface AgentStateStore {
  /** Records a new agent and its first event (its `sequence` must be 1). `exists`, writing nothing, for a known id. */
  create(agent: StoredAgent): Promise<'created' | 'exists'>;
  get(agentId: string): Promise<StoredAgent | undefined>;
  /**
   * The latest status of several agents in one read, in the order asked (`undefined` for
   * an unknown one), each its own copy. Reads nothing else of them: what a status costs
   * does not grow with an agent's instructions and work items.
   */
  statuses(agentIds: readonly string[]): Promise<(AgentStatus | undefined)[]>;
  /**
   * Stores `status` as the agent's next event if its sequence is still
   * `expectedSequence`, atomically. Returns that event, or `undefined` (nothing written)
   * when another writer came first.
   */
  update(agentId: string, expectedSequence: number, status: AgentStatus): Promise<AgentStatusChangedPayload | undefined>;
  /** Events with a sequence above `afterSequence`, in order. */
  events(agentId: string, afterSequence: number): Promise<AgentStatusChangedPayload[]>;
  /** Agents whose status is not terminal. */
  listActive(): Promise<StoredAgent[]>;
  /** Appends to the agent's transcript, numbering the entries on from the last (1 for the first). */
  appendTranscript(agentId: string, entries: readonly NewTranscriptEntry[]): Promise<void>;
  /** Up to `limit` entries with an index above `after`, in order. */
  transcript(agentId: string, after: number, limit: number): Promise<TranscriptEntry[]>;
  /**
   * Keeps the git bundle of the agent's commits, replacing any earlier one: written before
   * the status that names it (`result.bundle`), so a reader who sees that status finds it.
   */
  putBundle(agentId: string, bundle: Uint8Array): Promise<void>;
  /** Up to `length` bytes of the agent's bundle from `offset`; `undefined` when it has none. */
  readBundle(agentId: string, offset: number, length: number): Promise<Uint8Array | undefined>;
  /**
   * Keeps the first answer to one of the agent's approvals, atomically: false, writing
   * nothing, when that approval has an answer already.
   */
  putAnswer(agentId: string, answer: StoredAnswer): Promise<boolean>;
  /** The answer to one of the agent's approvals, once there is one. */
  answer(agentId: string, approvalId: string): Promise<StoredAnswer | undefined>;
  /** Releases connections. */
  close?(): Promise<void>;
}
