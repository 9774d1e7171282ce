// A2A agents elsewhere, and the tasks started on them, in memory.
import type { AuditEntry } from '@mosaic-fed/core';
import type { A2AAgentRecord, A2AAgentStore, A2ATaskRecord } from '../types.js';
import type { InMemoryAuditStore } from './audit.js';
import { copy } from './shared.js';

export class InMemoryA2AAgentStore implements A2AAgentStore {
  readonly #agents = new Map<string, A2AAgentRecord>();
  readonly #tasks = new Map<string, A2ATaskRecord>();

  constructor(private readonly audit: InMemoryAuditStore) {}

  async add(record: A2AAgentRecord, audit: AuditEntry): Promise<void> {
    if (this.#agents.has(record.id)) throw new Error('an A2A agent with this id exists');
    this.#agents.set(record.id, copy(record));
    await this.audit.append(audit);
  }

  async get(id: string): Promise<A2AAgentRecord | undefined> {
    const record = this.#agents.get(id);
    return record === undefined ? undefined : copy(record);
  }

  async list(): Promise<A2AAgentRecord[]> {
    return [...this.#agents.values()].sort((a, b) => a.createdAt.localeCompare(b.createdAt) || a.id.localeCompare(b.id)).map(copy);
  }

  async remove(id: string, audit: AuditEntry): Promise<boolean> {
    if (!this.#agents.delete(id)) return false;
    await this.audit.append(audit);
    return true;
  }

  async addTask(record: A2ATaskRecord): Promise<void> {
    if (!this.#tasks.has(record.agentId)) this.#tasks.set(record.agentId, copy(record));
  }

  async task(agentId: string): Promise<A2ATaskRecord | undefined> {
    const record = this.#tasks.get(agentId);
    return record === undefined ? undefined : copy(record);
  }

  async activeTasks(limit: number): Promise<A2ATaskRecord[]> {
    return [...this.#tasks.values()]
      .filter((task) => !task.done)
      .sort((a, b) => a.createdAt.localeCompare(b.createdAt) || a.agentId.localeCompare(b.agentId))
      .slice(0, limit)
      .map(copy);
  }

  async finishTask(agentId: string): Promise<void> {
    const record = this.#tasks.get(agentId);
    if (record !== undefined) record.done = true;
  }
}
