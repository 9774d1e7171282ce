// In-memory stores: for tests, demos and edge deployments that keep no state. Values are
// copied in and out, so a caller can never change what is stored by holding a reference.
import { isTerminalState, type AgentStatus, type AgentStatusChangedPayload, type AuditEntry, type AuditPage } from '@mosaic-fed/core';
import { decodeCursor, encodeCursor, isAfter } from '../lib-cursor.js';
import type {
  AdminTokenRecord,
  AdminTokenStore,
  AuditStore,
  ClaimOutcome,
  ConnectionRecord,
  ConnectionStore,
  AgentListQuery,
  FederationStores,
  HostedAgentRecord,
  HostedAgentStore,
  InstanceRecord,
  InstanceStore,
  MessageClaim,
  MessageLogStore,
  OutboxEntry,
  OutboxStore,
  RemoteAgentRecord,
  RemoteAgentStore,
  SpawnRequestRecord,
  SpawnRequestStore,
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

/** Deletes up to `limit` entries that `done` picks, in insertion order; answers how many. */
function deleteUpTo<K, V>(entries: Map<K, V>, limit: number, done: (entry: V) => boolean): number {
  let deleted = 0;
  for (const [key, entry] of entries) {
    if (deleted >= limit) break;
    if (!done(entry)) continue;
    entries.delete(key);
    deleted++;
  }
  return deleted;
}

interface LogEntry {
  hash: string;
  expiresAt: number;
  reply: StoredReply | undefined;
}

export class InMemoryMessageLogStore implements MessageLogStore {
  readonly #entries = new Map<string, LogEntry>();

  async claim(entry: MessageClaim): Promise<ClaimOutcome> {
    const key = `${entry.issuer} ${entry.jti}`;
    const existing = this.#entries.get(key);
    if (existing === undefined || existing.expiresAt <= entry.now.getTime()) {
      const reply = entry.reply === undefined ? undefined : copy(entry.reply);
      this.#entries.set(key, { hash: entry.hash, expiresAt: entry.expiresAt.getTime(), reply });
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

  async prune(now: Date, limit: number): Promise<number> {
    return deleteUpTo(this.#entries, limit, (entry) => entry.expiresAt <= now.getTime());
  }
}

/** One page of `items` after `cursor`, ordered by (createdAt, id). */
function page<T>(
  items: T[],
  key: (item: T) => { createdAt: string; id: string },
  limit: number,
  cursor: string | undefined,
): { items: T[]; nextCursor: string | null } {
  const after = decodeCursor(cursor);
  if (cursor !== undefined && after === undefined) return { items: [], nextCursor: null };
  const sorted = items
    .filter((item) => isAfter(key(item), after))
    .sort((a, b) => {
      const [ka, kb] = [key(a), key(b)];
      return ka.createdAt < kb.createdAt ? -1 : ka.createdAt > kb.createdAt ? 1 : ka.id < kb.id ? -1 : ka.id > kb.id ? 1 : 0;
    });
  const taken = sorted.slice(0, limit);
  const last = taken.at(-1);
  return {
    items: taken,
    nextCursor: sorted.length > limit && last !== undefined ? encodeCursor(key(last).createdAt, key(last).id) : null,
  };
}

export class InMemoryHostedAgentStore implements HostedAgentStore {
  readonly #agents = new Map<string, HostedAgentRecord>();

  async reserve(record: HostedAgentRecord, maxActive: number): Promise<'reserved' | 'exists' | 'limit'> {
    if (this.#agents.has(record.agentId)) return 'exists';
    const active = [...this.#agents.values()].filter(
      (a) => a.connectionId === record.connectionId && !isTerminalState(a.status.status),
    ).length;
    if (active >= maxActive) return 'limit';
    this.#agents.set(record.agentId, copy(record));
    return 'reserved';
  }

  async get(agentId: string): Promise<HostedAgentRecord | undefined> {
    const record = this.#agents.get(agentId);
    return record === undefined ? undefined : copy(record);
  }

  async remove(agentId: string): Promise<void> {
    this.#agents.delete(agentId);
  }

  async updateStatus(agentId: string, status: AgentStatus, sequence: number): Promise<boolean> {
    const record = this.#agents.get(agentId);
    if (record === undefined || sequence <= record.sequence) return false;
    this.#agents.set(agentId, { ...record, status: copy(status), sequence });
    return true;
  }

  async list(query: AgentListQuery & { ownerInstanceId?: string | undefined }) {
    const mine = [...this.#agents.values()].filter(
      (a) =>
        (query.ownerInstanceId === undefined || a.ownerInstanceId === query.ownerInstanceId) &&
        (query.status === undefined || a.status.status === query.status) &&
        (query.taskId === undefined || a.status.taskId === query.taskId),
    );
    const { items, nextCursor } = page(mine, (a) => ({ createdAt: a.createdAt, id: a.agentId }), query.limit, query.cursor);
    return { agents: items.map(copy), nextCursor };
  }

  async listActive(): Promise<HostedAgentRecord[]> {
    return [...this.#agents.values()].filter((a) => !isTerminalState(a.status.status)).map(copy);
  }
}

export class InMemoryRemoteAgentStore implements RemoteAgentStore {
  readonly #agents = new Map<string, RemoteAgentRecord>();
  readonly #events = new Map<string, AgentStatusChangedPayload[]>();

  async create(record: RemoteAgentRecord): Promise<void> {
    if (!this.#agents.has(record.agentId)) this.#agents.set(record.agentId, copy(record));
  }

  async get(agentId: string): Promise<RemoteAgentRecord | undefined> {
    const record = this.#agents.get(agentId);
    return record === undefined ? undefined : copy(record);
  }

  async list(query: { limit: number; cursor?: string | undefined }) {
    const { items, nextCursor } = page(
      [...this.#agents.values()],
      (a) => ({ createdAt: a.createdAt, id: a.agentId }),
      query.limit,
      query.cursor,
    );
    return { agents: items.map(copy), nextCursor };
  }

  async applyEvent(agentId: string, event: AgentStatusChangedPayload): Promise<'applied' | 'stale' | 'terminal'> {
    const record = this.#agents.get(agentId);
    if (record === undefined || event.sequence <= record.sequence) return 'stale';
    if (isTerminalState(record.status.status)) return 'terminal';
    const { sequence, ...status } = event;
    this.#agents.set(agentId, { ...record, status: copy(status), sequence });
    this.#events.set(agentId, [...(this.#events.get(agentId) ?? []), copy(event)]);
    return 'applied';
  }

  async refreshStatus(agentId: string, status: AgentStatus): Promise<void> {
    const record = this.#agents.get(agentId);
    if (record !== undefined && !isTerminalState(record.status.status)) this.#agents.set(agentId, { ...record, status: copy(status) });
  }

  async events(agentId: string, afterSequence: number): Promise<AgentStatusChangedPayload[]> {
    return (this.#events.get(agentId) ?? []).filter((e) => e.sequence > afterSequence).map(copy);
  }
}

export class InMemorySpawnRequestStore implements SpawnRequestStore {
  readonly #requests = new Map<string, SpawnRequestRecord>();

  async begin(record: SpawnRequestRecord): Promise<SpawnRequestRecord> {
    const existing = this.#requests.get(record.idempotencyKey);
    if (existing !== undefined) return copy(existing);
    this.#requests.set(record.idempotencyKey, copy(record));
    return copy(record);
  }

  async answer(idempotencyKey: string, response: SpawnRequestRecord['response']): Promise<void> {
    const request = this.#requests.get(idempotencyKey);
    if (request !== undefined) request.response = copy(response);
  }

  async forget(idempotencyKey: string): Promise<void> {
    this.#requests.delete(idempotencyKey);
  }

  async unanswered(before: string, limit: number): Promise<SpawnRequestRecord[]> {
    return [...this.#requests.values()]
      .filter((request) => request.response === null && request.createdAt < before)
      .sort((a, b) => a.createdAt.localeCompare(b.createdAt))
      .slice(0, limit)
      .map(copy);
  }

  async prune(before: string, limit: number): Promise<number> {
    return deleteUpTo(this.#requests, limit, (request) => request.createdAt < before);
  }
}

export class InMemoryOutboxStore implements OutboxStore {
  readonly #entries = new Map<string, OutboxEntry>();

  async enqueue(entry: OutboxEntry): Promise<void> {
    if (!this.#entries.has(entry.id)) this.#entries.set(entry.id, copy(entry));
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

/** A fresh set of in-memory stores that share one audit log. */
export function createInMemoryStores(): FederationStores {
  const audit = new InMemoryAuditStore();
  return {
    audit,
    instance: new InMemoryInstanceStore(audit),
    adminTokens: new InMemoryAdminTokenStore(audit),
    connections: new InMemoryConnectionStore(audit),
    messageLog: new InMemoryMessageLogStore(),
    hostedAgents: new InMemoryHostedAgentStore(),
    remoteAgents: new InMemoryRemoteAgentStore(),
    spawnRequests: new InMemorySpawnRequestStore(),
    outbox: new InMemoryOutboxStore(),
  };
}
