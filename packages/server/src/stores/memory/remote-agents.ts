// The agents this instance spawned on peers, in memory.
import { isTerminalState, type AgentStatus, type AgentStatusChangedPayload } from '@mosaic-fed/core';
import { agentKept, type RemoteAgentListQuery, type RemoteAgentRecord, type RemoteAgentStore } from '../types.js';
import { copy, page } from './shared.js';

export class InMemoryRemoteAgentStore implements RemoteAgentStore {
  readonly #agents = new Map<string, RemoteAgentRecord>();
  readonly #events = new Map<string, AgentStatusChangedPayload[]>();

  async create(record: RemoteAgentRecord): Promise<void> {
    if (!this.#agents.has(record.agentId)) this.#agents.set(record.agentId, copy(record));
  }

  async get(agentId: string): Promise<RemoteAgentRecord | undefined> {
    const record = this.#agents.get(agentId);
    return record === undefined ? undefined : copy(record);
  }

  async list(query: RemoteAgentListQuery) {
    const { workspaceIds } = query;
    const { items, nextCursor } = page(
      [...this.#agents.values()].filter(
        (a) => agentKept(a.status, a.connectionId, query) && (workspaceIds === undefined || (a.owner !== undefined && workspaceIds.includes(a.owner.workspaceId))),
      ),
      (a) => ({ createdAt: a.createdAt, id: a.agentId }),
      query.limit,
      query.cursor,
      query.newestFirst,
    );
    return { agents: items.map(copy), nextCursor };
  }

  async applyEvent(agentId: string, event: AgentStatusChangedPayload): Promise<'applied' | 'stale' | 'terminal'> {
    const record = this.#agents.get(agentId);
    if (record === undefined || event.sequence <= record.sequence) return 'stale';
    if (isTerminalState(record.status.status)) return 'terminal';
    const { sequence, ...status } = event;
    this.#agents.set(agentId, { ...record, status: copy(status), sequence });
    this.#events.set(agentId, [...(this.#events.get(agentId) ?? []), copy(event)]);
    return 'applied';
  }

  async getMany(agentIds: readonly string[]): Promise<RemoteAgentRecord[]> {
    return [...new Set(agentIds)].flatMap((agentId) => {
      const record = this.#agents.get(agentId);
      return record === undefined ? [] : [copy(record)];
    });
  }

  async refreshStatuses(statuses: readonly AgentStatus[]): Promise<void> {
    for (const status of statuses) {
      const record = this.#agents.get(status.agentId);
      if (record !== undefined && !isTerminalState(record.status.status)) this.#agents.set(status.agentId, { ...record, status: copy(status) });
    }
  }

  async events(agentId: string, afterSequence: number): Promise<AgentStatusChangedPayload[]> {
    return (this.#events.get(agentId) ?? []).filter((e) => e.sequence > afterSequence).map(copy);
  }
}
