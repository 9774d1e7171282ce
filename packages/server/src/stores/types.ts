// Store contracts: small interfaces that every implementation (memory, libSQL, and later
// Valkey) satisfies, checked by one shared contract suite (test/store-contract.ts).
import type { AuditEntry, Capabilities, InstanceKey, Metadata } from '@mosaic-fed/core';

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

/** The stores one federation server uses. */
export interface FederationStores {
  instance: InstanceStore;
  audit: AuditStore;
  adminTokens: AdminTokenStore;
  /** Releases connections; the stores are unusable afterwards. */
  close?(): Promise<void>;
}
