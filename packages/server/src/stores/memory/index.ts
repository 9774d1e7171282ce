// In-memory stores: for tests, demos and edge deployments that keep no state. Values are
// copied in and out, so a caller can never change what is stored by holding a reference.
import type { AuditEntry } from '@mosaic-fed/core';
import type {
  AdminTokenRecord,
  AdminTokenStore,
  AuditPage,
  AuditStore,
  ClaimOutcome,
  ConnectionRecord,
  ConnectionStore,
  FederationStores,
  InstanceRecord,
  InstanceStore,
  MessageLogStore,
  StoredReply,
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

export class InMemoryConnectionStore implements ConnectionStore {
  readonly #byId = new Map<string, ConnectionRecord>();

  constructor(private readonly audit: InMemoryAuditStore) {}

  async create(record: ConnectionRecord, audit: AuditEntry): Promise<void> {
    if (this.#byId.has(record.id)) throw new Error('a connection with this id exists');
    if ([...this.#byId.values()].some((c) => c.peerInstanceId === record.peerInstanceId)) {
      throw new Error('a connection with this peer exists');
    }
    this.#byId.set(record.id, copy(record));
    await this.audit.append(audit);
  }

  async get(id: string): Promise<ConnectionRecord | undefined> {
    const record = this.#byId.get(id);
    return record === undefined ? undefined : copy(record);
  }

  async getByPeer(peerInstanceId: string): Promise<ConnectionRecord | undefined> {
    const record = [...this.#byId.values()].find((c) => c.peerInstanceId === peerInstanceId);
    return record === undefined ? undefined : copy(record);
  }

  async list(filter: { status?: ConnectionRecord['status'] | undefined } = {}): Promise<ConnectionRecord[]> {
    return [...this.#byId.values()]
      .filter((c) => filter.status === undefined || c.status === filter.status)
      .map(copy);
  }

  async update(record: ConnectionRecord, expectedVersion: number, audit: AuditEntry): Promise<boolean> {
    if (this.#byId.get(record.id)?.version !== expectedVersion) return false;
    this.#byId.set(record.id, copy(record));
    await this.audit.append(audit);
    return true;
  }
}

interface LogEntry {
  hash: string;
  expiresAt: number;
  reply: StoredReply | undefined;
}

export class InMemoryMessageLogStore implements MessageLogStore {
  readonly #entries = new Map<string, LogEntry>();

  async claim(entry: { issuer: string; jti: string; hash: string; now: Date; expiresAt: Date }): Promise<ClaimOutcome> {
    const key = `${entry.issuer} ${entry.jti}`;
    const existing = this.#entries.get(key);
    if (existing === undefined || existing.expiresAt <= entry.now.getTime()) {
      this.#entries.set(key, { hash: entry.hash, expiresAt: entry.expiresAt.getTime(), reply: undefined });
      return { outcome: 'claimed' };
    }
    if (existing.hash !== entry.hash) return { outcome: 'conflict' };
    if (existing.reply === undefined) return { outcome: 'in-progress' };
    return { outcome: 'completed', reply: copy(existing.reply) };
  }

  async complete(issuer: string, jti: string, reply: StoredReply): Promise<void> {
    const existing = this.#entries.get(`${issuer} ${jti}`);
    if (existing !== undefined) existing.reply = copy(reply);
  }

  async release(issuer: string, jti: string): Promise<void> {
    const key = `${issuer} ${jti}`;
    if (this.#entries.get(key)?.reply === undefined) this.#entries.delete(key);
  }
}

/** A fresh set of in-memory stores that share one audit log. */
export function createInMemoryStores(): FederationStores {
  const audit = new InMemoryAuditStore();
  return {
    audit,
    instance: new InMemoryInstanceStore(audit),
    adminTokens: new InMemoryAdminTokenStore(audit),
    connections: new InMemoryConnectionStore(audit),
    messageLog: new InMemoryMessageLogStore(),
  };
}
