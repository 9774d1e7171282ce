// A2A push notification configs in memory.
import type { A2APushConfigRecord, A2APushConfigStore } from '../types.js';
import { copy } from './shared.js';

export class InMemoryA2APushConfigStore implements A2APushConfigStore {
  readonly #configs = new Map<string, A2APushConfigRecord>();

  async create(record: A2APushConfigRecord): Promise<boolean> {
    const key = keyOf(record.taskId, record.id);
    if (this.#configs.has(key)) return false;
    this.#configs.set(key, copy(record));
    return true;
  }

  async get(taskId: string, id: string): Promise<A2APushConfigRecord | undefined> {
    const record = this.#configs.get(keyOf(taskId, id));
    return record === undefined ? undefined : copy(record);
  }

  async list(taskId: string): Promise<A2APushConfigRecord[]> {
    return [...this.#configs.values()]
      .filter((record) => record.taskId === taskId)
      .sort((a, b) => a.createdAt.localeCompare(b.createdAt) || a.id.localeCompare(b.id))
      .map(copy);
  }

  async delete(taskId: string, id: string): Promise<boolean> {
    return this.#configs.delete(keyOf(taskId, id));
  }
}

const keyOf = (taskId: string, id: string) => `${taskId}\n${id}`;
