// The audit log in memory.
import type { AuditEntry, AuditPage } from '@mosaic-fed/core';
import { auditEntryKept, type AuditListOptions, type AuditStore } from '../types.js';
import { copy } from './shared.js';

/** Audit entries in memory, newest first by insertion order. */
export class InMemoryAuditStore implements AuditStore {
  readonly #entries: AuditEntry[] = [];

  async append(entry: AuditEntry): Promise<void> {
    this.#entries.push(copy(entry));
  }

  async list({ limit, cursor, ...filters }: AuditListOptions): Promise<AuditPage> {
    // The cursor is the insertion index of the next entry to look at, counting down.
    const start = cursor === undefined ? this.#entries.length - 1 : Number.parseInt(cursor, 10);
    if (!Number.isInteger(start) || start >= this.#entries.length) return { items: [], nextCursor: null };
    const items: AuditEntry[] = [];
    let index = start;
    for (; index >= 0 && items.length < limit; index--) {
      const entry = this.#entries[index] as AuditEntry;
      if (auditEntryKept(entry, filters)) items.push(copy(entry));
    }
    // More only if another kept entry is below: a last page says so.
    while (index >= 0 && !auditEntryKept(this.#entries[index] as AuditEntry, filters)) index--;
    return { items, nextCursor: index >= 0 ? String(index) : null };
  }
}
