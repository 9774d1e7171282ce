import { isTerminalState, type AgentStatus, type AgentStatusChangedPayload, type TranscriptEntry } from '@mosaic-fed/core';
import type { AgentStateStore, NewTranscriptEntry, StoredAgent, StoredAnswer } from './types.js';

/** Agent state in this process's memory: for tests, demos and a single process that may forget on restart. */
export class InMemoryAgentStateStore implements AgentStateStore {
  readonly #agents = new Map<string, StoredAgent>();
  readonly #events = new Map<string, AgentStatusChangedPayload[]>();
  readonly #transcripts = new Map<string, TranscriptEntry[]>();
  readonly #bundles = new Map<string, Uint8Array>();
  /** Answers by agent, then by approval. */
  readonly #answers = new Map<string, Map<string, StoredAnswer>>();

  async create(agent: StoredAgent): Promise<'created' | 'exists'> {
    if (this.#agents.has(agent.agentId)) return 'exists';
    this.#agents.set(agent.agentId, structuredClone(agent));
    this.#events.set(agent.agentId, [{ ...structuredClone(agent.status), sequence: agent.sequence }]);
    return 'created';
  }

  async get(agentId: string): Promise<StoredAgent | undefined> {
    const agent = this.#agents.get(agentId);
    return agent === undefined ? undefined : structuredClone(agent);
  }

  async statuses(agentIds: readonly string[]): Promise<(AgentStatus | undefined)[]> {
    return agentIds.map((agentId) => {
      const agent = this.#agents.get(agentId);
      return agent === undefined ? undefined : structuredClone(agent.status);
    });
  }

  async update(agentId: string, expectedSequence: number, status: AgentStatus): Promise<AgentStatusChangedPayload | undefined> {
    const agent = this.#agents.get(agentId);
    if (agent === undefined || agent.sequence !== expectedSequence) return undefined;
    const event: AgentStatusChangedPayload = { ...structuredClone(status), sequence: expectedSequence + 1 };
    agent.status = structuredClone(status);
    agent.sequence = event.sequence;
    this.#events.get(agentId)?.push(event);
    return structuredClone(event);
  }

  async events(agentId: string, afterSequence: number): Promise<AgentStatusChangedPayload[]> {
    return structuredClone((this.#events.get(agentId) ?? []).filter((event) => event.sequence > afterSequence));
  }

  async listActive(): Promise<StoredAgent[]> {
    return [...this.#agents.values()].filter((agent) => !isTerminalState(agent.status.status)).map((agent) => structuredClone(agent));
  }

  async appendTranscript(agentId: string, entries: readonly NewTranscriptEntry[]): Promise<void> {
    const transcript = this.#transcripts.get(agentId) ?? [];
    for (const entry of entries) transcript.push({ ...structuredClone(entry), index: transcript.length + 1 });
    this.#transcripts.set(agentId, transcript);
  }

  async transcript(agentId: string, after: number, limit: number): Promise<TranscriptEntry[]> {
    return structuredClone((this.#transcripts.get(agentId) ?? []).slice(after, after + limit));
  }

  async putBundle(agentId: string, bundle: Uint8Array): Promise<void> {
    this.#bundles.set(agentId, bundle.slice());
  }

  async readBundle(agentId: string, offset: number, length: number): Promise<Uint8Array | undefined> {
    return this.#bundles.get(agentId)?.slice(offset, offset + length);
  }

  async putAnswer(agentId: string, answer: StoredAnswer): Promise<boolean> {
    const answers = this.#answers.get(agentId) ?? new Map<string, StoredAnswer>();
    if (answers.has(answer.approvalId)) return false;
    answers.set(answer.approvalId, structuredClone(answer));
    this.#answers.set(agentId, answers);
    return true;
  }

  async answer(agentId: string, approvalId: string): Promise<StoredAnswer | undefined> {
    const answer = this.#answers.get(agentId)?.get(approvalId);
    return answer === undefined ? undefined : structuredClone(answer);
  }
}
