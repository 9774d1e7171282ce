// Connections in memory.
import type { AuditEntry } from '@mosaic-fed/core';
import { peerSeenThreshold, type ConnectionRecord, type ConnectionStore } from '../types.js';
import type { InMemoryAuditStore } from './audit.js';
import { copy } from './shared.js';

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
    const current = this.#byId.get(record.id);
    if (current?.version !== expectedVersion) return false;
    const { peerPausedAt: _paused, peerSeenAt: _seen, ...changes } = copy(record);
    this.#byId.set(record.id, {
      ...changes,
      ...(current.peerPausedAt === undefined ? {} : { peerPausedAt: current.peerPausedAt }),
      ...(current.peerSeenAt === undefined ? {} : { peerSeenAt: current.peerSeenAt }),
    });
    await this.audit.append(audit);
    return true;
  }

  async markPeerPaused(id: string, since: string | null): Promise<void> {
    const current = this.#byId.get(id);
    if (current === undefined) return;
    const { peerPausedAt: _before, ...rest } = current;
    this.#byId.set(id, since === null ? rest : { ...rest, peerPausedAt: since });
  }

  async markPeerSeen(id: string, at: string): Promise<void> {
    const current = this.#byId.get(id);
    if (current === undefined || (current.peerSeenAt !== undefined && current.peerSeenAt > peerSeenThreshold(at))) return;
    this.#byId.set(id, { ...current, peerSeenAt: at });
  }
}
