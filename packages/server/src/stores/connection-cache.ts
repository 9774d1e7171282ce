// The connection store as the federation uses it. Every incoming message is checked
// against its sender's connection (state, keys, grants); that read is served from memory
// for a short while, because a connection changes rarely and messages arrive often.
import type { AuditEntry } from '@mosaic-fed/core';
import { peerSeenThreshold, type ConnectionRecord, type ConnectionStore } from './types.js';

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const inner of Object.values(value)) deepFreeze(inner);
  }
  return value;
}

/**
 * Wraps a {@link ConnectionStore}: reads and writes go to the store as before, and
 * {@link senderConnection} answers from memory when the peer's connection was read less
 * than `ttlMs` ago. A write through this store is seen at once; one made by another
 * replica within `ttlMs`. Only connections that exist are remembered, so messages from
 * unknown senders cannot fill the memory.
 */
export class CachedConnectionStore implements ConnectionStore {
  readonly #store: ConnectionStore;
  readonly #ttlMs: number;
  readonly #monotonic: () => number;
  readonly #byPeer = new Map<string, { record: ConnectionRecord; readAt: number }>();
  /** Grows with every write, so that a read which overlapped a write is not remembered. */
  #generation = 0;
  /** Reads under way, one per peer, shared by the messages that arrive meanwhile. */
  readonly #reading = new Map<string, Promise<ConnectionRecord | undefined>>();
  /** When each connection's peer was last noted as seen by this process: one entry per connection. */
  readonly #seen = new Map<string, string>();

  /** `monotonic`: a clock in milliseconds that never goes back; default `performance.now`. */
  constructor(store: ConnectionStore, ttlMs: number, monotonic: () => number = () => performance.now()) {
    if (!Number.isFinite(ttlMs) || ttlMs < 0) throw new TypeError('ttlMs must be a number of milliseconds, 0 or more');
    this.#store = store;
    this.#ttlMs = ttlMs;
    this.#monotonic = monotonic;
  }

  /**
   * The sender's connection for an incoming message, frozen: from memory when read in the
   * last `ttlMs`, else from the store. Messages from one peer that arrive while its
   * connection is being read share that read.
   */
  async senderConnection(peerInstanceId: string): Promise<ConnectionRecord | undefined> {
    const cached = this.#byPeer.get(peerInstanceId);
    if (cached !== undefined && this.#monotonic() - cached.readAt < this.#ttlMs) return cached.record;
    let reading = this.#reading.get(peerInstanceId);
    if (reading === undefined) {
      const started = this.#read(peerInstanceId).finally(() => {
        if (this.#reading.get(peerInstanceId) === started) this.#reading.delete(peerInstanceId);
      });
      this.#reading.set(peerInstanceId, started);
      reading = started;
    }
    return reading;
  }

  async #read(peerInstanceId: string): Promise<ConnectionRecord | undefined> {
    const generation = this.#generation;
    const readAt = this.#monotonic();
    const record = await this.#store.getByPeer(peerInstanceId);
    if (record === undefined || this.#ttlMs === 0) {
      this.#byPeer.delete(peerInstanceId);
      return record === undefined ? undefined : deepFreeze(record);
    }
    if (generation === this.#generation) this.#byPeer.set(peerInstanceId, { record: deepFreeze(record), readAt });
    return deepFreeze(record);
  }

  async create(record: ConnectionRecord, audit: AuditEntry): Promise<void> {
    try {
      await this.#store.create(record, audit);
    } finally {
      this.#forget(record.peerInstanceId);
    }
  }

  async update(record: ConnectionRecord, expectedVersion: number, audit: AuditEntry): Promise<boolean> {
    try {
      return await this.#store.update(record, expectedVersion, audit);
    } finally {
      this.#forget(record.peerInstanceId);
    }
  }

  /** An observation about the peer, not a change of the connection: what is remembered stays, for at most `ttlMs`. */
  markPeerPaused(id: string, since: string | null): Promise<void> {
    return this.#store.markPeerPaused(id, since);
  }

  /**
   * An observation too, and the one every message makes: passed on to the store only when
   * this process has not noted one in the last minute, so that a busy peer costs the store
   * one write a minute (the store keeps replicas to about the same).
   */
  async markPeerSeen(id: string, at: string): Promise<void> {
    const noted = this.#seen.get(id);
    if (noted !== undefined && noted > peerSeenThreshold(at)) return;
    this.#seen.set(id, at);
    await this.#store.markPeerSeen(id, at);
  }

  get(id: string): Promise<ConnectionRecord | undefined> {
    return this.#store.get(id);
  }

  getByPeer(peerInstanceId: string): Promise<ConnectionRecord | undefined> {
    return this.#store.getByPeer(peerInstanceId);
  }

  list(filter?: { status?: ConnectionRecord['status'] | undefined }): Promise<ConnectionRecord[]> {
    return this.#store.list(filter);
  }

  #forget(peerInstanceId: string): void {
    this.#generation++;
    this.#byPeer.delete(peerInstanceId);
    // A read begun before this write may answer what was there before it: later messages
    // start their own.
    this.#reading.delete(peerInstanceId);
  }
}
