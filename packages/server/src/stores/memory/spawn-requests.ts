// Spawns sent to peers and not yet answered, in memory.
import type { SpawnRequestRecord, SpawnRequestStore } from '../types.js';
import { copy, deleteUpTo } from './shared.js';

export class InMemorySpawnRequestStore implements SpawnRequestStore {
  readonly #requests = new Map<string, SpawnRequestRecord>();

  async begin(record: SpawnRequestRecord): Promise<SpawnRequestRecord> {
    const existing = this.#requests.get(record.idempotencyKey);
    if (existing !== undefined) return copy(existing);
    this.#requests.set(record.idempotencyKey, copy(record));
    return copy(record);
  }

  async answer(idempotencyKey: string, response: SpawnRequestRecord['response']): Promise<void> {
    const request = this.#requests.get(idempotencyKey);
    if (request !== undefined) request.response = copy(response);
  }

  async forget(idempotencyKey: string): Promise<void> {
    this.#requests.delete(idempotencyKey);
  }

  async unanswered(before: string, limit: number): Promise<SpawnRequestRecord[]> {
    return [...this.#requests.values()]
      .filter((request) => request.response === null && request.createdAt < before)
      .sort((a, b) => a.createdAt.localeCompare(b.createdAt))
      .slice(0, limit)
      .map(copy);
  }

  async prune(before: string, limit: number): Promise<number> {
    return deleteUpTo(this.#requests, limit, (request) => request.createdAt < before);
  }
}
