// Peer keys as pinned on connection records (PROTOCOL 3 and 4): imported once and cached
// by kid, and extended only through a verified rotation chain.
import {
  FederationError,
  importVerificationKey,
  LIMITS,
  verifyRotationChain,
  type AuditActor,
  type InstanceDocument,
  type KeyResolver,
  type PublicJwk,
  type ReplacedKey,
  type VerifiedRotationChain,
  type VerificationKey,
} from '@mosaic-fed/core';
import { decodeJwt } from 'jose';
import type { CachedConnectionStore } from '../stores/connection-cache.js';
import { describeError, type Logger } from '../logger.js';
import type { ConnectionRecord, FederationStores } from '../stores/types.js';
import { fetchInstanceDocument } from './instance-document.js';

/** How many of a peer's keys stay pinned: the newest, then older ones still in flight. */
const MAX_PINNED_KEYS = 8;

/** PROTOCOL 4: a replaced key is trusted until its certificate's `iat` plus 24 hours. */
function replacedKey(kid: string, iat: number): ReplacedKey {
  return { kid, trustedUntil: new Date((iat + LIMITS.replacedKeyTrustSeconds) * 1000).toISOString() };
}

/** The replaced keys of `current` with those of `added` that it lacks, newest last, bounded. */
export function mergeReplaced(current: readonly ReplacedKey[], added: readonly ReplacedKey[]): ReplacedKey[] {
  const known = new Set(current.map((entry) => entry.kid));
  return [...current, ...added.filter((entry) => !known.has(entry.kid))].slice(-LIMITS.replacedKeysKept);
}

/** Whether a pinned key's trust has run out at `now` (PROTOCOL 4). */
function trustEnded(replaced: readonly ReplacedKey[], kid: string, now: Date): boolean {
  const entry = replaced.find((candidate) => candidate.kid === kid);
  return entry !== undefined && Date.parse(entry.trustedUntil) <= now.getTime();
}

/**
 * What to pin of a peer's instance document (a CONNECT, a CONNECT_ACCEPT, a connect by
 * URL): its keys, less any whose replacement (in its `keyRotations`) is more than 24 hours
 * old, and the keys those certificates replaced, so that none of them is trusted again.
 * The certificates are read without verifying them: they can only take trust away from
 * the keys of the document that lists them.
 */
export function pinsOf(document: InstanceDocument, now: Date): { peerKeys: PublicJwk[]; replacedPeerKeys: ReplacedKey[] } {
  const replaced: ReplacedKey[] = [];
  for (const certificate of document.keyRotations) {
    try {
      const { prevKid, iat } = decodeJwt(certificate);
      if (typeof prevKid === 'string' && typeof iat === 'number') replaced.push(replacedKey(prevKid, iat));
    } catch {
      // Not decodable: it says nothing about any key.
    }
  }
  const replacedPeerKeys = mergeReplaced([], replaced);
  const peerKeys = document.keys.filter((key) => !trustEnded(replacedPeerKeys, key.kid, now));
  // A document whose every key has been replaced for a day still pins its first: the
  // messages it signs are then refused as UNKNOWN_KEY, one by one.
  return { peerKeys: peerKeys.length > 0 ? peerKeys : document.keys.slice(0, 1), replacedPeerKeys };
}

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

  /**
   * Resolves keys of one peer: the pinned ones, then the rotation chain (PROTOCOL 4). A
   * replaced key whose 24 hours have passed is unpinned and resolves to nothing
   * (`UNKNOWN_KEY`); a replaced key is never pinned again.
   */
  resolverFor(connection: ConnectionRecord): KeyResolver {
    return async ({ kid }) => {
      let jwk = connection.peerKeys.find((key) => key.kid === kid);
      if (jwk !== undefined && trustEnded(connection.replacedPeerKeys, kid, this.#options.now())) {
        await this.#unpinExpired(connection);
        return undefined;
      }
      if (jwk === undefined && connection.status === 'ACTIVE' && !trustEnded(connection.replacedPeerKeys, kid, this.#options.now())) {
        jwk = await this.#followRotation(connection, kid);
      }
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
    return this.#pin(connection, chain);
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
      const document = await fetchInstanceDocument(this.#options.fetch, connection.peerUrl, this.#options.logger);
      if (document.instanceId !== connection.peerInstanceId) return undefined;
      const chain = await verifyRotationChain({
        issuer: connection.peerInstanceId,
        certificates: document.keyRotations,
        pinnedKeys: connection.peerKeys,
        targetKid: kid,
        now: this.#options.now,
      });
      const updated = await this.#pin(connection, chain);
      return updated.peerKeys.find((key) => key.kid === kid);
    } catch (error) {
      this.#options.logger.warn('could not follow a peer key rotation', {
        peerInstanceId: connection.peerInstanceId,
        ...describeError(error),
      });
      return undefined;
    }
  }

  /** Pins the keys a verified chain introduces, and records the keys it replaced. */
  async #pin(connection: ConnectionRecord, chain: VerifiedRotationChain): Promise<ConnectionRecord> {
    const now = this.#options.now();
    const replaced = chain.replaced.map(({ kid, iat }) => replacedKey(kid, iat));
    const updated = await this.#updateKeys(connection, 'connection.keys.pin', (current) => {
      const replacedPeerKeys = mergeReplaced(current.replacedPeerKeys, replaced);
      const known = new Set(current.peerKeys.map((key) => key.kid));
      // A key whose trust has ended is never pinned again, even by a valid chain.
      const added = chain.introduced.filter((key) => !known.has(key.kid) && !trustEnded(replacedPeerKeys, key.kid, now));
      if (added.length === 0 && replacedPeerKeys.length === current.replacedPeerKeys.length) return undefined;
      return { peerKeys: [...added.reverse(), ...current.peerKeys].slice(0, MAX_PINNED_KEYS), replacedPeerKeys };
    });
    if (!connection.peerKeys.some((key) => key.kid === chain.key.kid) && updated.peerKeys.some((key) => key.kid === chain.key.kid)) {
      this.#options.logger.info('pinned a rotated peer key', { peerInstanceId: connection.peerInstanceId, kid: chain.key.kid });
    }
    return updated;
  }

  /** Unpins the peer's keys whose trust ran out (PROTOCOL 4). */
  async #unpinExpired(connection: ConnectionRecord): Promise<void> {
    const now = this.#options.now();
    await this.#updateKeys(connection, 'connection.keys.unpin', (current) => {
      const peerKeys = current.peerKeys.filter((key) => !trustEnded(current.replacedPeerKeys, key.kid, now));
      return peerKeys.length === current.peerKeys.length || peerKeys.length === 0 ? undefined : { peerKeys };
    });
  }

  /**
   * Changes the pinned keys of a connection with an audit entry, retried on a concurrent
   * writer. `change` answers `undefined` when there is nothing to change.
   */
  async #updateKeys(
    connection: ConnectionRecord,
    action: string,
    change: (current: ConnectionRecord) => Pick<ConnectionRecord, 'peerKeys'> & Partial<Pick<ConnectionRecord, 'replacedPeerKeys'>> | undefined,
  ): Promise<ConnectionRecord> {
    const actor: AuditActor = { type: 'peer', id: connection.peerInstanceId };
    for (let attempt = 0; attempt < 3; attempt++) {
      const current = (await this.#options.stores.connections.get(connection.id)) ?? connection;
      const changed = change(current);
      if (changed === undefined) return current;
      const at = this.#options.now().toISOString();
      const next: ConnectionRecord = { ...current, ...changed, updatedAt: at, version: current.version + 1 };
      const written = await this.#options.stores.connections.update(next, current.version, {
        id: this.#options.generateId(),
        at,
        actor,
        action,
        target: `connection:${current.id}`,
        before: { kids: current.peerKeys.map((key) => key.kid) },
        after: { kids: next.peerKeys.map((key) => key.kid) },
      });
      if (written) return next;
    }
    throw new FederationError('INTERNAL', 'the connection kept changing while its keys were updated');
  }
}
