// The agents this instance runs for peers, in memory.
import { isTerminalState, type AgentStatus, type AuditEntry } from '@mosaic-fed/core';
import {
  agentKept,
  type AuditStore,
  type HostedAgentFilter,
  type HostedAgentListQuery,
  type HostedAgentRecord,
  type HostedAgentStore,
  type OutboxEntry,
  type OutboxStore,
  type ReserveLimits,
} from '../types.js';
import { copy, page } from './shared.js';

/** Memory's steps cannot be interrupted halfway: the audit entry or the outbox entries go in with the change. */
export class InMemoryHostedAgentStore implements HostedAgentStore {
  readonly #agents = new Map<string, HostedAgentRecord>();

  constructor(
    private readonly audit: AuditStore,
    private readonly outbox: OutboxStore,
  ) {}

  async reserve(record: HostedAgentRecord, limits: ReserveLimits, audit?: AuditEntry): Promise<'reserved' | 'exists' | 'limit' | 'workspace-limit'> {
    if (this.#agents.has(record.agentId)) return 'exists';
    const active = [...this.#agents.values()].filter((a) => a.connectionId === record.connectionId && !isTerminalState(a.status.status));
    if (active.length >= limits.connection) return 'limit';
    const workspace = record.actor?.workspaceId;
    if (limits.workspace !== undefined && active.filter((a) => a.actor?.workspaceId === workspace).length >= limits.workspace) return 'workspace-limit';
    this.#agents.set(record.agentId, copy(record));
    if (audit !== undefined) await this.audit.append(audit);
    return 'reserved';
  }

  async get(agentId: string): Promise<HostedAgentRecord | undefined> {
    const record = this.#agents.get(agentId);
    return record === undefined ? undefined : copy(record);
  }

  async getMany(agentIds: readonly string[]): Promise<HostedAgentRecord[]> {
    return [...new Set(agentIds)].flatMap((agentId) => {
      const record = this.#agents.get(agentId);
      return record === undefined ? [] : [copy(record)];
    });
  }

  async remove(agentId: string): Promise<void> {
    this.#agents.delete(agentId);
  }

  async updateStatus(agentId: string, status: AgentStatus, sequence: number, tell: readonly OutboxEntry[] = []): Promise<boolean> {
    const record = this.#agents.get(agentId);
    if (record === undefined || sequence <= record.sequence) return false;
    this.#agents.set(agentId, { ...record, status: copy(status), sequence });
    for (const entry of tell) await this.outbox.enqueue(entry);
    return true;
  }

  async list(query: HostedAgentListQuery) {
    const mine = this.#kept(query);
    const { items, nextCursor } = page(mine, (a) => ({ createdAt: a.createdAt, id: a.agentId }), query.limit, query.cursor, query.newestFirst);
    return { agents: items.map(copy), nextCursor };
  }

  async count(query: HostedAgentFilter): Promise<number> {
    return this.#kept(query).length;
  }

  #kept(query: HostedAgentFilter): HostedAgentRecord[] {
    return [...this.#agents.values()].filter(
      (a) =>
        (query.ownerInstanceId === undefined || a.ownerInstanceId === query.ownerInstanceId) &&
        (query.workspaceId === undefined || a.actor?.workspaceId === query.workspaceId) &&
        agentKept(a.status, a.connectionId, query),
    );
  }

  async listActive(): Promise<HostedAgentRecord[]> {
    return [...this.#agents.values()].filter((a) => !isTerminalState(a.status.status)).map(copy);
  }
}
