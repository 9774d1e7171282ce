// In-memory stores: for tests, demos and edge deployments that keep no state. Values are
// copied in and out, so a caller can never change what is stored by holding a reference.
import type { AuditEntry } from '@mosaic-fed/core';
import type {
  AdminTokenRecord,
  AdminTokenStore,
  AuditPage,
  AuditStore,
  FederationStores,
  InstanceRecord,
  InstanceStore,
} from '../types.js';

const copy = <T>(value: T): T => structuredClone(value);

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

export class InMemoryInstanceStore implements InstanceStore {
  #record: InstanceRecord | undefined;

  constructor(private readonly audit: InMemoryAuditStore) {}

  async get(): Promise<InstanceRecord | undefined> {
    return this.#record === undefined ? undefined : copy(this.#record);
  }

  async initialise(record: InstanceRecord, audit: AuditEntry): Promise<InstanceRecord> {
    if (this.#record === undefined) {
      this.#record = copy(record);
      await this.audit.append(audit);
    }
    return copy(this.#record);
  }

  async update(record: InstanceRecord, expectedVersion: number, audit: AuditEntry): Promise<boolean> {
    if (this.#record?.version !== expectedVersion) return false;
    this.#record = copy(record);
    await this.audit.append(audit);
    return true;
  }
}

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
}

/** A fresh set of in-memory stores that share one audit log. */
export function createInMemoryStores(): FederationStores {
  const audit = new InMemoryAuditStore();
  return {
    audit,
    instance: new InMemoryInstanceStore(audit),
    adminTokens: new InMemoryAdminTokenStore(audit),
  };
}
