// The audit log in memory.
import type { AuditEntry, AuditPage } from '@mosaic-fed/core';
import type { AuditStore } from '../types.js';
import { copy } from './shared.js';

/** Audit entries in memory, newest first by insertion order. */
export class InMemoryAuditStore implements AuditStore {
  readonly #entries: AuditEntry[] = [];

  async append(entry: AuditEntry): Promise<void> {
    this.#entries.push(copy(entry));
  }

  async list({ limit, cursor }: { limit: number; cursor?: string | undefined }): Promise<AuditPage> {
    // The cursor is the insertion index of the next entry to return, counting down.
    const start = cursor === undefined ? this.#entries.length - 1 : Number.parseInt(cursor, 10);
    if (!Number.isInteger(start) || start >= this.#entries.length) return { items: [], nextCursor: null };
    const items: AuditEntry[] = [];
    let index = start;
    for (; index >= 0 && items.length < limit; index--) items.push(copy(this.#entries[index] as AuditEntry));
    return { items, nextCursor: index >= 0 ? String(index) : null };
  }
}
