// Peer keys as pinned on connection records (PROTOCOL 3 and 4): imported once and cached
// by kid, and extended only through a verified rotation chain.
import {
  FederationError,
  importVerificationKey,
  InstanceDocumentSchema,
  verifyRotationChain,
  type AuditActor,
  type KeyResolver,
  type PublicJwk,
  type VerificationKey,
} from '@mosaic-fed/core';
import type { CachedConnectionStore } from '../connections/cache.js';
import { describeError, type Logger } from '../logger.js';
import type { ConnectionRecord, FederationStores } from '../stores/types.js';

/** How many of a peer's keys stay pinned: the newest, then older ones still in flight. */
const MAX_PINNED_KEYS = 8;

export interface PeerKeyringOptions {
  stores: FederationStores;
  /** Where a message's sender's connection is read (from memory for a short while). */
  senders: Pick<CachedConnectionStore, 'senderConnection'>;
  fetch: typeof fetch;
  now: () => Date;
  generateId: () => string;
  logger: Logger;
  /** At most one document fetch per peer in this many seconds. Default 60. */
  refreshIntervalSeconds?: number;
}

export class PeerKeyring {
  readonly #options: PeerKeyringOptions;
  readonly #imported = new Map<string, VerificationKey>();
  readonly #lastRefresh = new Map<string, number>();

  constructor(options: PeerKeyringOptions) {
    this.#options = options;
  }

  /** Imports a public key once; later calls answer from the cache. */
  async import(jwk: PublicJwk): Promise<VerificationKey> {
    const cached = this.#imported.get(jwk.kid);
    if (cached !== undefined) return cached;
    const key = await importVerificationKey(jwk);
    this.#imported.set(jwk.kid, key);
    return key;
  }

  /**
   * Resolves keys of messages from connected peers: `UNKNOWN_INSTANCE` for a sender with
   * no connection, a pinned key by kid, or, for an ACTIVE peer, a key reached through
   * its rotation chain.
   */
  readonly resolveIncoming: KeyResolver = this.incomingResolver();

  /** As {@link resolveIncoming}, handing the sender's connection to `found` (read once per message). */
  incomingResolver(found?: (connection: ConnectionRecord) => void): KeyResolver {
    return async ({ kid, unverified }) => {
      const issuer = typeof unverified.iss === 'string' ? unverified.iss : undefined;
      const connection = issuer === undefined ? undefined : await this.#options.senders.senderConnection(issuer);
      if (connection === undefined) {
        throw new FederationError('UNKNOWN_INSTANCE', 'this instance has no connection with the sender');
      }
      const resolved = await this.resolverFor(connection)({ kid, unverified });
      // A key reached through a rotation chain was pinned just now: hand over the record
      // as it is stored after that.
      const pinned = connection.peerKeys.some((key) => key.kid === kid);
      found?.(pinned ? connection : ((await this.#options.senders.senderConnection(connection.peerInstanceId)) ?? connection));
      return resolved;
    };
  }

  /** Resolves keys of one peer: the pinned ones, then the rotation chain (PROTOCOL 4). */
  resolverFor(connection: ConnectionRecord): KeyResolver {
    return async ({ kid }) => {
      let jwk = connection.peerKeys.find((key) => key.kid === kid);
      if (jwk === undefined && connection.status === 'ACTIVE') jwk = await this.#followRotation(connection, kid);
      return jwk === undefined ? undefined : { key: await this.import(jwk), instanceId: connection.peerInstanceId };
    };
  }

  /**
   * Pins the key a rotation certificate introduces, if it follows from a pinned key
   * (the `federation.keys.rotated` event). Returns the updated connection.
   */
  async pinCertificate(connection: ConnectionRecord, certificate: string): Promise<ConnectionRecord> {
    const chain = await verifyRotationChain({
      issuer: connection.peerInstanceId,
      certificates: [certificate],
      pinnedKeys: connection.peerKeys,
      now: this.#options.now,
    });
    return this.#pin(connection, chain.introduced);
  }

  // PROTOCOL 4: a peer that rotated while we were not listening. Fetch its document once
  // (rate-limited), walk keyRotations from a pinned key, and pin only a verified chain.
  async #followRotation(connection: ConnectionRecord, kid: string): Promise<PublicJwk | undefined> {
    const now = this.#options.now().getTime();
    const interval = (this.#options.refreshIntervalSeconds ?? 60) * 1000;
    const last = this.#lastRefresh.get(connection.peerInstanceId);
    if (last !== undefined && now - last < interval) return undefined;
    this.#lastRefresh.set(connection.peerInstanceId, now);
    try {
      const response = await this.#options.fetch(new URL('/.well-known/mosaic-federation', connection.peerUrl));
      if (!response.ok) return undefined;
      const document = InstanceDocumentSchema.parse(await response.json());
      if (document.instanceId !== connection.peerInstanceId) return undefined;
      const chain = await verifyRotationChain({
        issuer: connection.peerInstanceId,
        certificates: document.keyRotations,
        pinnedKeys: connection.peerKeys,
        targetKid: kid,
        now: this.#options.now,
      });
      const updated = await this.#pin(connection, chain.introduced);
      return updated.peerKeys.find((key) => key.kid === kid);
    } catch (error) {
      this.#options.logger.warn('could not follow a peer key rotation', {
        peerInstanceId: connection.peerInstanceId,
        ...describeError(error),
      });
      return undefined;
    }
  }

  async #pin(connection: ConnectionRecord, introduced: PublicJwk[]): Promise<ConnectionRecord> {
    const actor: AuditActor = { type: 'peer', id: connection.peerInstanceId };
    for (let attempt = 0; attempt < 3; attempt++) {
      const current = (await this.#options.stores.connections.get(connection.id)) ?? connection;
      const known = new Set(current.peerKeys.map((key) => key.kid));
      const added = introduced.filter((key) => !known.has(key.kid));
      if (added.length === 0) return current;
      const at = this.#options.now().toISOString();
      const next: ConnectionRecord = {
        ...current,
        peerKeys: [...added.reverse(), ...current.peerKeys].slice(0, MAX_PINNED_KEYS),
        updatedAt: at,
        version: current.version + 1,
      };
      const written = await this.#options.stores.connections.update(next, current.version, {
        id: this.#options.generateId(),
        at,
        actor,
        action: 'connection.keys.pin',
        target: `connection:${current.id}`,
        before: { kids: current.peerKeys.map((key) => key.kid) },
        after: { kids: next.peerKeys.map((key) => key.kid) },
      });
      if (written) {
        this.#options.logger.info('pinned a rotated peer key', {
          peerInstanceId: current.peerInstanceId,
          kids: added.map((key) => key.kid),
        });
        return next;
      }
    }
    throw new FederationError('INTERNAL', 'the connection kept changing while pinning a key');
  }
}
