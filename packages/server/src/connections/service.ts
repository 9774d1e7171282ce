// Connections (PROTOCOL 3): connect by URL, CONNECT / CONNECT_ACCEPT / CONNECT_REJECT /
// DISCONNECT, suspend and resume, grants, and the auto-accept allowlist. Every change of
// a connection record is written with its audit entry.
import {
  applyGrantsUpdate,
  ConnectionReplySchema,
  defaultGrants,
  FederationError,
  type AuditActor,
  type AuditEntry,
  type Connection,
  type ConnectionReply,
  type ConnectionStatus,
  type InstanceDocument,
  type MessageOfKind,
  type SigningKey,
  type UpdateGrantsDto,
} from '@mosaic-fed/core';
import { pinnedKeys } from '@mosaic-fed/sdk';
import { fetchInstanceDocument, sameInstance } from '../peers/instance-document.js';
import { mergeReplaced, pinsOf } from '../peers/keyring.js';
import type { PeerMessenger } from '../peers/messenger.js';
import type { InstanceService } from '../instance/service.js';
import { describeError, type Logger } from '../logger.js';
import type { ConnectionRecord, FederationStores } from '../stores/types.js';

export interface ConnectionServiceOptions {
  stores: FederationStores;
  instance: InstanceService;
  messenger: PeerMessenger;
  fetch: typeof fetch;
  now: () => Date;
  generateId: () => string;
  logger: Logger;
  /**
   * Who is accepted without an admin (PROTOCOL 3, step 2): peers at these URLs, with these
   * instance ids, or holding a key with one of these thumbprints. In every case the
   * instance document at the request's URL must vouch for it.
   */
  autoAccept: AutoAcceptPolicy;
}

/** The auto-accept allowlists (PROTOCOL 3, step 2). */
export interface AutoAcceptPolicy {
  urls?: readonly string[] | undefined;
  instanceIds?: readonly string[] | undefined;
  /** RFC 7638 thumbprints (the `kid`) of peers' keys. */
  keyThumbprints?: readonly string[] | undefined;
}

type ConnectionMessage = MessageOfKind<'CONNECT' | 'CONNECT_ACCEPT' | 'CONNECT_REJECT' | 'DISCONNECT'>;

/** States in which a peer stays pinned: a new CONNECT must be signed with its pinned keys. */
const LIVE: readonly ConnectionStatus[] = ['PENDING', 'ACTIVE', 'SUSPENDED'];

/** The admin view of a record. */
export function toConnection(record: ConnectionRecord): Connection {
  const { version: _version, ...connection } = record;
  return connection;
}

function normaliseUrl(url: string): string {
  const parsed = new URL(url);
  return `${parsed.origin}${parsed.pathname.replace(/\/+$/, '')}`;
}

function invalidState(record: ConnectionRecord, expected: string): FederationError {
  return new FederationError('VALIDATION_FAILED', `the connection is ${record.status}; ${expected}`, {
    details: [{ path: 'status', message: `is ${record.status}; ${expected}` }],
  });
}

export class ConnectionService {
  readonly #o: ConnectionServiceOptions;
  readonly #autoAcceptUrls: Set<string>;
  readonly #autoAcceptIds: Set<string>;
  readonly #autoAcceptKids: Set<string>;

  constructor(options: ConnectionServiceOptions) {
    this.#o = options;
    this.#autoAcceptUrls = new Set((options.autoAccept.urls ?? []).map(normaliseUrl));
    this.#autoAcceptIds = new Set((options.autoAccept.instanceIds ?? []).map((id) => id.toLowerCase()));
    this.#autoAcceptKids = new Set(options.autoAccept.keyThumbprints ?? []);
  }

  async list(status?: ConnectionStatus): Promise<Connection[]> {
    return (await this.#o.stores.connections.list({ status })).map(toConnection);
  }

  /** `NOT_FOUND` for an unknown id. */
  async get(id: string): Promise<ConnectionRecord> {
    const record = await this.#o.stores.connections.get(id);
    if (record === undefined) throw new FederationError('NOT_FOUND', 'there is no such connection');
    return record;
  }

  /**
   * PROTOCOL 3, step 1: fetch the peer's document, send it CONNECT with ours, and record
   * the connection as the peer answered: `PENDING` until its admin accepts, or `ACTIVE`
   * when the peer's allowlist accepted at once. Nothing is stored if the peer cannot be
   * reached or refuses.
   */
  async connect(url: string, actor: AuditActor): Promise<Connection> {
    const document = await fetchInstanceDocument(this.#o.fetch, url, this.#o.logger);
    const self = await this.#o.instance.load();
    if (document.instanceId === self.instanceId) {
      throw new FederationError('VALIDATION_FAILED', 'that address is this instance itself', {
        details: [{ path: 'url', message: 'is this instance' }],
      });
    }
    const existing = await this.#o.stores.connections.getByPeer(document.instanceId);
    if (existing !== undefined && LIVE.includes(existing.status)) return toConnection(existing);

    const data = await this.#o.messenger.send(
      {
        peerInstanceId: document.instanceId,
        peerUrl: document.url,
        resolveKey: await pinnedKeys(document.instanceId, document.keys),
      },
      { kind: 'CONNECT', payload: this.#o.instance.document(self) },
    );
    const reply = ConnectionReplySchema.parse(data);
    const status: ConnectionStatus = reply.status === 'ACTIVE' ? 'ACTIVE' : 'PENDING';
    // The document came from the URL itself: it vouches for the peer.
    const record = await this.#save(existing, document, { status, direction: 'outgoing', peerUrlVouches: true }, actor);
    return toConnection(record);
  }

  /** PROTOCOL 3, step 2: accept a peer's request; both sides become ACTIVE. */
  async accept(id: string, actor: AuditActor): Promise<Connection> {
    const record = await this.get(id);
    if (record.status === 'ACTIVE') return toConnection(record);
    if (record.status !== 'PENDING' || record.direction !== 'incoming') {
      throw invalidState(record, 'only a PENDING request from a peer can be accepted');
    }
    const self = await this.#o.instance.load();
    const data = await this.#o.messenger.send(this.#o.messenger.target(record), {
      kind: 'CONNECT_ACCEPT',
      payload: this.#o.instance.document(self),
    });
    ConnectionReplySchema.parse(data);
    return toConnection(await this.#transition(record, 'ACTIVE', 'connection.accept', actor));
  }

  /** Rejects a peer's request. The peer is told if it can be reached. */
  async reject(id: string, actor: AuditActor): Promise<Connection> {
    const record = await this.get(id);
    if (record.status === 'REJECTED') return toConnection(record);
    if (record.status !== 'PENDING' || record.direction !== 'incoming') {
      throw invalidState(record, 'only a PENDING request from a peer can be rejected');
    }
    await this.#tell(record, { kind: 'CONNECT_REJECT', payload: {} });
    return toConnection(await this.#transition(record, 'REJECTED', 'connection.reject', actor));
  }

  /** Ends a connection (or withdraws a request) on both sides. The peer is told if it can be reached. */
  async disconnect(id: string, actor: AuditActor): Promise<Connection> {
    const record = await this.get(id);
    if (record.status === 'DISCONNECTED') return toConnection(record);
    if (record.status !== 'REJECTED') await this.#tell(record, { kind: 'DISCONNECT', payload: {} });
    return toConnection(await this.#transition(record, 'DISCONNECTED', 'connection.disconnect', actor));
  }

  /** Stops obeying the peer, on this side only, until resumed. */
  async suspend(id: string, actor: AuditActor): Promise<Connection> {
    const record = await this.get(id);
    if (record.status === 'SUSPENDED') return toConnection(record);
    if (record.status !== 'ACTIVE') throw invalidState(record, 'only an ACTIVE connection can be suspended');
    return toConnection(await this.#transition(record, 'SUSPENDED', 'connection.suspend', actor));
  }

  async resume(id: string, actor: AuditActor): Promise<Connection> {
    const record = await this.get(id);
    if (record.status === 'ACTIVE') return toConnection(record);
    if (record.status !== 'SUSPENDED') throw invalidState(record, 'only a SUSPENDED connection can be resumed');
    return toConnection(await this.#transition(record, 'ACTIVE', 'connection.resume', actor));
  }

  /** Changes what the peer may do here (PROTOCOL 3, grants). */
  async updateGrants(id: string, dto: UpdateGrantsDto, actor: AuditActor): Promise<Connection> {
    const record = await this.#change(id, 'connection.grants.update', actor, (current) => ({ ...current, grants: applyGrantsUpdate(current.grants, dto) }), (r) => ({ grants: r.grants }));
    return toConnection(record);
  }

  /**
   * Answers CONNECT, CONNECT_ACCEPT, CONNECT_REJECT and DISCONNECT from a peer whose
   * signature has been verified (for CONNECT, with the key in its own document, or with
   * the pinned keys when a live connection exists) by the key `kid`.
   */
  async handleIncoming(message: ConnectionMessage, kid: string): Promise<ConnectionReply> {
    const existing = await this.#o.stores.connections.getByPeer(message.iss);
    const actor: AuditActor = { type: 'peer', id: message.iss };
    switch (message.kind) {
      case 'CONNECT': {
        const document = message.payload;
        if (document.instanceId !== message.iss) {
          throw new FederationError('VALIDATION_FAILED', 'the document is not the sender\'s', {
            details: [{ path: 'payload.instanceId', message: 'must be the sender (iss)' }],
          });
        }
        if (existing !== undefined && LIVE.includes(existing.status)) return { status: existing.status };
        // PROTOCOL 3, step 2: the URL in a CONNECT is only a claim until the document there
        // names the same instance with the same keys.
        const peerUrlVouches = await this.#vouches(document);
        const listed = this.#autoAccepts(document, kid);
        const status = peerUrlVouches && listed ? 'ACTIVE' : 'PENDING';
        const record = await this.#save(existing, document, { status, direction: 'incoming', peerUrlVouches }, actor);
        if (!peerUrlVouches && listed) {
          this.#o.logger.warn('a connection request matched auto-accept, but its URL does not vouch for it; it waits for an admin', {
            peerInstanceId: document.instanceId,
            peerUrl: document.url,
          });
        }
        return { status: record.status };
      }
      case 'CONNECT_ACCEPT': {
        if (existing?.status === 'ACTIVE') return { status: 'ACTIVE' };
        if (existing?.status !== 'PENDING' || existing.direction !== 'outgoing') {
          throw new FederationError('NOT_FOUND', 'there is no pending request to this peer');
        }
        const document = message.payload;
        const pins = pinsOf(document, this.#o.now());
        const record = await this.#change(existing.id, 'connection.accepted', actor, (current) => ({
          ...current,
          ...this.#peerFacts(document),
          // The acceptor's current keys join the pinned ones: it signed this with one of them.
          peerKeys: [...pins.peerKeys, ...current.peerKeys.filter((k) => !pins.peerKeys.some((d) => d.kid === k.kid))],
          replacedPeerKeys: mergeReplaced(current.replacedPeerKeys, pins.replacedPeerKeys),
          status: 'ACTIVE',
        }));
        return { status: record.status };
      }
      case 'CONNECT_REJECT': {
        if (existing?.status !== 'PENDING' || existing.direction !== 'outgoing') {
          throw new FederationError('NOT_FOUND', 'there is no pending request to this peer');
        }
        return { status: (await this.#transition(existing, 'REJECTED', 'connection.rejected', actor)).status };
      }
      case 'DISCONNECT': {
        if (existing === undefined) throw new FederationError('NOT_FOUND', 'there is no connection with this peer');
        if (existing.status === 'DISCONNECTED') return { status: 'DISCONNECTED' };
        return { status: (await this.#transition(existing, 'DISCONNECTED', 'connection.disconnected', actor)).status };
      }
    }
  }

  /**
   * PROTOCOL 4: tells every ACTIVE peer about a new key with `federation.keys.rotated`,
   * signed with the previous key that they have pinned. A peer that cannot be reached
   * now follows the chain from the instance document later.
   */
  async announceRotation(certificate: string, previousKey: SigningKey): Promise<void> {
    const active = await this.#o.stores.connections.list({ status: 'ACTIVE' });
    await Promise.all(
      active.map(async (connection) => {
        try {
          await this.#o.messenger.send(
            this.#o.messenger.target(connection),
            { kind: 'EVENT', eventType: 'federation.keys.rotated', payload: { certificate } },
            { signingKey: previousKey, retries: 0, timeoutMs: 5_000 },
          );
        } catch (error) {
          this.#o.logger.warn('a peer did not hear of the key rotation; it will find the chain itself', {
            peerInstanceId: connection.peerInstanceId,
            ...describeError(error),
          });
        }
      }),
    );
  }

  /** Whether a CONNECT from this sender must be verified with pinned keys rather than its document. */
  async pinnedConnection(peerInstanceId: string): Promise<ConnectionRecord | undefined> {
    const existing = await this.#o.stores.connections.getByPeer(peerInstanceId);
    return existing !== undefined && LIVE.includes(existing.status) ? existing : undefined;
  }

  /**
   * Whether an auto-accept allowlist names the sender of this document. A thumbprint
   * counts only for the key that signed (`kid`): a document can list anyone's public key.
   */
  #autoAccepts(document: InstanceDocument, kid: string): boolean {
    return (
      this.#autoAcceptUrls.has(normaliseUrl(document.url)) ||
      this.#autoAcceptIds.has(document.instanceId.toLowerCase()) ||
      this.#autoAcceptKids.has(kid)
    );
  }

  /** Whether the document at the claimed URL is the sender's, with the same keys (PROTOCOL 3). */
  async #vouches(claimed: InstanceDocument): Promise<boolean> {
    try {
      return sameInstance(await fetchInstanceDocument(this.#o.fetch, claimed.url, this.#o.logger), claimed);
    } catch {
      return false;
    }
  }

  #peerFacts(document: InstanceDocument) {
    return {
      peerUrl: document.url,
      peerName: document.name,
      peerCapabilities: document.capabilities,
      peerMetadata: document.metadata,
    };
  }

  /** Creates the connection, or revives a DISCONNECTED/REJECTED one with fresh pins. */
  async #save(
    existing: ConnectionRecord | undefined,
    document: InstanceDocument,
    state: Pick<ConnectionRecord, 'status' | 'direction' | 'peerUrlVouches'>,
    actor: AuditActor,
  ): Promise<ConnectionRecord> {
    const self = await this.#o.instance.load();
    const now = this.#o.now();
    const at = now.toISOString();
    const fresh = {
      ...this.#peerFacts(document),
      ...pinsOf(document, now),
      ...state,
      peerInstanceId: document.instanceId,
      grants: defaultGrants(self.capabilities),
      updatedAt: at,
    };
    if (existing === undefined) {
      const record: ConnectionRecord = { id: this.#o.generateId(), ...fresh, createdAt: at, version: 1 };
      try {
        await this.#o.stores.connections.create(record, this.#audit(actor, 'connection.create', record, null, summary(record)));
      } catch (error) {
        // Two CONNECTs raced: the other one stored the connection.
        const raced = await this.#o.stores.connections.getByPeer(document.instanceId);
        if (raced !== undefined) return raced;
        throw error;
      }
      return record;
    }
    return this.#change(existing.id, 'connection.reconnect', actor, (current) => ({ ...current, ...fresh }));
  }

  #transition(record: ConnectionRecord, status: ConnectionStatus, action: string, actor: AuditActor) {
    return this.#change(record.id, action, actor, (current) => ({ ...current, status }));
  }

  /** Read, change, write with an optimistic version check, retried on a concurrent writer. */
  async #change(
    id: string,
    action: string,
    actor: AuditActor,
    mutate: (current: ConnectionRecord) => ConnectionRecord,
    describe: (record: ConnectionRecord) => AuditEntry['after'] = summary,
  ): Promise<ConnectionRecord> {
    for (let attempt = 0; attempt < 5; attempt++) {
      const current = await this.get(id);
      const next: ConnectionRecord = {
        ...mutate(current),
        updatedAt: this.#o.now().toISOString(),
        version: current.version + 1,
      };
      const entry = this.#audit(actor, action, next, describe(current), describe(next));
      if (await this.#o.stores.connections.update(next, current.version, entry)) return next;
    }
    throw new FederationError('INTERNAL', 'the connection kept changing underneath this update; try again');
  }

  #audit(actor: AuditActor, action: string, record: ConnectionRecord, before: AuditEntry['before'], after: AuditEntry['after']): AuditEntry {
    return {
      id: this.#o.generateId(),
      at: this.#o.now().toISOString(),
      actor,
      action,
      target: `connection:${record.id}`,
      before,
      after,
    };
  }

  /** Tells the peer, if it can be reached: the local change happens either way. */
  async #tell(record: ConnectionRecord, body: { kind: 'CONNECT_REJECT' | 'DISCONNECT'; payload: Record<string, never> }) {
    try {
      await this.#o.messenger.send(this.#o.messenger.target(record), body);
    } catch (error) {
      this.#o.logger.warn('could not tell the peer', {
        peerInstanceId: record.peerInstanceId,
        kind: body.kind,
        ...describeError(error),
      });
    }
  }
}

function summary(record: ConnectionRecord) {
  return { status: record.status, peerInstanceId: record.peerInstanceId, peerUrl: record.peerUrl, peerUrlVouches: record.peerUrlVouches };
}
