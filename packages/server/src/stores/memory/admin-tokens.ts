// Admin tokens in memory.
import type { AuditEntry } from '@mosaic-fed/core';
import type { AdminTokenRecord, AdminTokenStore } from '../types.js';
import type { InMemoryAuditStore } from './audit.js';
import { copy } from './shared.js';

export class InMemoryAdminTokenStore implements AdminTokenStore {
  readonly #byHash = new Map<string, AdminTokenRecord>();

  constructor(private readonly audit: InMemoryAuditStore) {}

  async create(record: AdminTokenRecord, audit: AuditEntry): Promise<void> {
    if (this.#byHash.has(record.tokenHash)) throw new Error('an admin token with this hash exists');
    this.#byHash.set(record.tokenHash, copy(record));
    await this.audit.append(audit);
  }

  async findByHash(tokenHash: string): Promise<AdminTokenRecord | undefined> {
    const record = this.#byHash.get(tokenHash);
    return record === undefined ? undefined : copy(record);
  }

  async get(id: string): Promise<AdminTokenRecord | undefined> {
    const record = this.#find(id);
    return record === undefined ? undefined : copy(record);
  }

  async list(): Promise<AdminTokenRecord[]> {
    return [...this.#byHash.values()].sort((a, b) => a.createdAt.localeCompare(b.createdAt) || a.id.localeCompare(b.id)).map(copy);
  }

  async revoke(id: string, at: string, audit: AuditEntry): Promise<boolean> {
    const record = this.#find(id);
    if (record === undefined || record.revokedAt !== null) return false;
    record.revokedAt = at;
    await this.audit.append(audit);
    return true;
  }

  async recordUse(id: string, at: string): Promise<void> {
    const record = this.#find(id);
    if (record !== undefined && (record.lastUsedAt === null || record.lastUsedAt < at)) record.lastUsedAt = at;
  }

  #find(id: string): AdminTokenRecord | undefined {
    return [...this.#byHash.values()].find((record) => record.id === id);
  }
}
