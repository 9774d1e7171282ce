// The event outbox in memory.
import type { OutboxBacklog, OutboxEntry, OutboxStore } from '../types.js';
import { copy, deleteUpTo } from './shared.js';

export class InMemoryOutboxStore implements OutboxStore {
  readonly #entries = new Map<string, OutboxEntry>();

  async enqueue(entry: OutboxEntry): Promise<void> {
    if (!this.#entries.has(entry.id)) this.#entries.set(entry.id, copy(entry));
  }

  async backlog(now: number): Promise<OutboxBacklog> {
    const pending = [...this.#entries.values()].filter((e) => e.deliveredAt === null && e.giveUpAt > now);
    return {
      pending: pending.length,
      retrying: pending.filter((e) => e.attempts > 0).length,
      oldestCreatedAt: pending.reduce<number | null>((oldest, e) => (oldest === null || e.createdAt < oldest ? e.createdAt : oldest), null),
    };
  }

  async due(now: number, limit: number): Promise<OutboxEntry[]> {
    // A stable sort: within a millisecond, in the order they were stored.
    const pending = [...this.#entries.values()].filter((e) => e.deliveredAt === null && e.giveUpAt > now).sort((a, b) => a.createdAt - b.createdAt);
    const heads = new Set<string>();
    const due: OutboxEntry[] = [];
    for (const entry of pending) {
      if (entry.orderKey !== null) {
        if (heads.has(entry.orderKey)) continue;
        heads.add(entry.orderKey);
      }
      if (entry.nextAttemptAt <= now) due.push(entry);
    }
    return due.slice(0, limit).map(copy);
  }

  async markDelivered(id: string, at: number): Promise<void> {
    const entry = this.#entries.get(id);
    if (entry !== undefined) entry.deliveredAt = at;
  }

  async reschedule(id: string, attempts: number, nextAttemptAt: number, lastError: string, giveUpAt?: number): Promise<void> {
    const entry = this.#entries.get(id);
    if (entry !== undefined) Object.assign(entry, { attempts, nextAttemptAt, lastError, ...(giveUpAt === undefined ? {} : { giveUpAt }) });
  }

  async prune(now: number, limit: number): Promise<number> {
    return deleteUpTo(this.#entries, limit, (entry) => entry.deliveredAt !== null || entry.giveUpAt <= now);
  }
}
