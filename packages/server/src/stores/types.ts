// Store contracts: small interfaces that every implementation (memory, libSQL, and later
// Valkey) satisfies, checked by one shared contract suite (test/store-contract.ts).
import type { AuditEntry, Capabilities, Connection, ConnectionStatus, ErrorCode, InstanceKey, Metadata, ValidationIssue } from '@mosaic-fed/core';

/**
 * Everything the instance knows about itself. `encryptedPrivateKey` is the current
 * private key sealed with AES-GCM (see `lib/sealed-key.ts`): the store never sees it in
 * clear. Previous private keys are not kept.
 */
export interface InstanceRecord {
  instanceId: string;
  name: string;
  url: string;
  capabilities: Capabilities;
  metadata: Metadata;
  /** Current key first, then previous keys (their `expiresAt` ends their grace period). */
  keys: InstanceKey[];
  /** Rotation certificates, oldest first (PROTOCOL 4). */
  keyRotations: string[];
  encryptedPrivateKey: string;
  /** Grows by one on every update; used to detect a concurrent writer. */
  version: number;
  createdAt: string;
  updatedAt: string;
}

export interface InstanceStore {
  get(): Promise<InstanceRecord | undefined>;
  /**
   * Stores the first record, with its audit entry, unless a record exists already.
   * Returns the record that is stored: the given one, or the one that was there first.
   */
  initialise(record: InstanceRecord, audit: AuditEntry): Promise<InstanceRecord>;
  /**
   * Replaces the record and appends the audit entry, atomically, if the stored version is
   * still `expectedVersion`. Returns false, writing nothing, if another writer came first.
   */
  update(record: InstanceRecord, expectedVersion: number, audit: AuditEntry): Promise<boolean>;
}

/** A page of audit entries, newest first. */
export interface AuditPage {
  items: AuditEntry[];
  nextCursor: string | null;
}

export interface AuditStore {
  append(entry: AuditEntry): Promise<void>;
  /** Newest first. `cursor` is the `nextCursor` of the previous page. */
  list(options: { limit: number; cursor?: string | undefined }): Promise<AuditPage>;
}

/** An admin token as stored: only its SHA-256 hash, never the token. */
export interface AdminTokenRecord {
  id: string;
  label: string;
  tokenHash: string;
  createdAt: string;
}

export interface AdminTokenStore {
  /** Stores the token and its audit entry atomically. */
  create(record: AdminTokenRecord, audit: AuditEntry): Promise<void>;
  findByHash(tokenHash: string): Promise<AdminTokenRecord | undefined>;
}

/** A connection as stored: the admin view plus a version for optimistic updates. */
export interface ConnectionRecord extends Connection {
  version: number;
}

export interface ConnectionStore {
  /** Stores a new connection, with its audit entry. One connection per peer instance. */
  create(record: ConnectionRecord, audit: AuditEntry): Promise<void>;
  get(id: string): Promise<ConnectionRecord | undefined>;
  getByPeer(peerInstanceId: string): Promise<ConnectionRecord | undefined>;
  /** Oldest first. */
  list(filter?: { status?: ConnectionStatus | undefined }): Promise<ConnectionRecord[]>;
  /** As {@link InstanceStore.update}: only from `expectedVersion`, atomically with the audit entry. */
  update(record: ConnectionRecord, expectedVersion: number, audit: AuditEntry): Promise<boolean>;
}

/** What a receiver answered a message with: the body of its RESPONSE (PROTOCOL 2). */
export type StoredReply =
  | { success: true; data: unknown }
  | { success: false; error: string; code: ErrorCode; details?: ValidationIssue[]; data?: unknown };

/** The outcome of claiming a `(iss, jti)` in the message log. */
export type ClaimOutcome =
  | { outcome: 'claimed' }
  /** The same message is executing right now: `MESSAGE_IN_PROGRESS`. */
  | { outcome: 'in-progress' }
  /** Another message had this `jti`: `MESSAGE_ID_CONFLICT`. */
  | { outcome: 'conflict' }
  /** The same message was answered before: send that answer again, execute nothing. */
  | { outcome: 'completed'; reply: StoredReply };

/**
 * The message log (PROTOCOL 2): replay protection and idempotency as one mechanism.
 * A `(issuer, jti)` is claimed atomically before its message executes.
 */
export interface MessageLogStore {
  claim(entry: { issuer: string; jti: string; hash: string; now: Date; expiresAt: Date }): Promise<ClaimOutcome>;
  /** Records the reply of a claimed message. */
  complete(issuer: string, jti: string, reply: StoredReply): Promise<void>;
  /** Forgets a claim whose message did not execute, so that a retry can run it. */
  release(issuer: string, jti: string): Promise<void>;
}

/** The stores one federation server uses. */
export interface FederationStores {
  instance: InstanceStore;
  audit: AuditStore;
  adminTokens: AdminTokenStore;
  connections: ConnectionStore;
  messageLog: MessageLogStore;
  /** Releases connections; the stores are unusable afterwards. */
  close?(): Promise<void>;
}
