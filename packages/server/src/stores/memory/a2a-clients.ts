// A2A clients in memory.
import type { AuditEntry } from '@mosaic-fed/core';
import type { A2AClientChange, A2AClientRecord, A2AClientStore } from '../types.js';
import type { InMemoryAuditStore } from './audit.js';
import { copy } from './shared.js';

export class InMemoryA2AClientStore implements A2AClientStore {
  readonly #byId = new Map<string, A2AClientRecord>();

  constructor(private readonly audit: InMemoryAuditStore) {}

  async create(record: A2AClientRecord, audit: AuditEntry): Promise<void> {
    if (
      this.#byId.has(record.id) ||
      [...this.#byId.values()].some((r) => r.tokenHash === record.tokenHash || (record.oidcSubject !== undefined && r.oidcSubject === record.oidcSubject))
    ) {
      throw new Error('an A2A client with this id, token hash or OIDC subject exists');
    }
    this.#byId.set(record.id, copy(record));
    await this.audit.append(audit);
  }

  async get(id: string): Promise<A2AClientRecord | undefined> {
    const record = this.#byId.get(id);
    return record === undefined ? undefined : copy(record);
  }

  async findByHash(tokenHash: string): Promise<A2AClientRecord | undefined> {
    const record = [...this.#byId.values()].find((r) => r.tokenHash === tokenHash);
    return record === undefined ? undefined : copy(record);
  }

  async findBySubject(subject: string): Promise<A2AClientRecord | undefined> {
    const record = [...this.#byId.values()].find((r) => r.oidcSubject === subject);
    return record === undefined ? undefined : copy(record);
  }

  async list(): Promise<A2AClientRecord[]> {
    return [...this.#byId.values()].sort((a, b) => a.createdAt.localeCompare(b.createdAt) || a.id.localeCompare(b.id)).map(copy);
  }

  async update(id: string, change: A2AClientChange, audit: AuditEntry): Promise<boolean> {
    const record = this.#byId.get(id);
    if (record === undefined || record.revokedAt !== null) return false;
    if (change.oidcSubject !== undefined && [...this.#byId.values()].some((r) => r.id !== id && r.oidcSubject === change.oidcSubject)) {
      throw new Error('another A2A client has this OIDC subject');
    }
    const { oidcSubject: _previous, ...rest } = record;
    this.#byId.set(id, { ...rest, name: change.name, grants: copy(change.grants), ...(change.oidcSubject === undefined ? {} : { oidcSubject: change.oidcSubject }) });
    await this.audit.append(audit);
    return true;
  }

  async revoke(id: string, at: string, audit: AuditEntry): Promise<boolean> {
    const record = this.#byId.get(id);
    if (record === undefined || record.revokedAt !== null) return false;
    record.revokedAt = at;
    await this.audit.append(audit);
    return true;
  }

  async recordUse(id: string, at: string): Promise<void> {
    const record = this.#byId.get(id);
    if (record !== undefined && (record.lastUsedAt === null || record.lastUsedAt < at)) record.lastUsedAt = at;
  }
}
