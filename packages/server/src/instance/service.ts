// The instance's identity and configuration (PROTOCOL 1, 4 and 6): first-start
// initialisation, the instance document, updates and key regeneration. Every change is
// written together with its audit entry; the private key is only ever held sealed in
// the store and, once imported, as a non-extractable CryptoKey in memory.
import {
  createRotationCertificate,
  FederationError,
  generateKeyPair,
  importSigningKey,
  PROTOCOL_VERSION,
  type AuditActor,
  type AuditEntry,
  type Capabilities,
  type InstanceConfiguration,
  type InstanceDocument,
  type InstanceKey,
  type RegenerateKeysResponse,
  type SigningKey,
  type UpdateInstanceDto,
} from '@mosaic-fed/core';
import { openPrivateKey, sealPrivateKey } from '../lib/sealed-key.js';
import type { Logger } from '../logger.js';
import type { FederationStores, InstanceRecord } from '../stores/types.js';

/** Options for {@link InstanceService}. */
export interface InstanceServiceOptions {
  stores: FederationStores;
  /** Seals the private key at rest. */
  secret: string;
  now: () => Date;
  generateId: () => string;
  logger: Logger;
  /** Name and capabilities of a new instance; `url` is always the configured one. */
  defaults: { name: string; url: string; capabilities: Capabilities };
  /** How long a replaced key stays in the document and verifies (PROTOCOL 4). */
  keyGracePeriodSeconds: number;
  /**
   * How long the record read from the store serves reads, in milliseconds. Every message
   * needs it; a change made here is seen at once, one made by another replica within
   * this time. Default 1,000; 0 reads the store every time.
   */
  cacheMs?: number;
  /** A clock in milliseconds that never goes back, for the cache; default `performance.now`. */
  monotonic?: () => number;
}

const SYSTEM: AuditActor = { type: 'system', id: 'instance' };
const MAX_ATTEMPTS = 5;

export class InstanceService {
  readonly #options: InstanceServiceOptions;
  #initialising: Promise<InstanceRecord> | undefined;
  #signingKey: SigningKey | undefined;
  #cached: { record: InstanceRecord; readAt: number } | undefined;
  /** The read under way for {@link load}, shared by every caller that found the cache stale. */
  #reading: Promise<InstanceRecord> | undefined;
  readonly #monotonic: () => number;

  constructor(options: InstanceServiceOptions) {
    this.#options = options;
    this.#monotonic = options.monotonic ?? (() => performance.now());
  }

  /**
   * The instance record, initialised on first use: a new `instanceId` and keypair, stored
   * atomically once even when several requests or processes race to create it.
   */
  async load(): Promise<InstanceRecord> {
    const cached = this.#cached;
    if (cached !== undefined && this.#monotonic() - cached.readAt < (this.#options.cacheMs ?? 1_000)) return cached.record;
    // Every message needs the record: when it goes stale under load, one read serves all
    // the requests that arrive meanwhile, instead of one read each.
    this.#reading ??= this.#read().finally(() => {
      this.#reading = undefined;
    });
    return this.#reading;
  }

  /** The record as stored now (and cached from now on). */
  async #read(): Promise<InstanceRecord> {
    const record = await this.#options.stores.instance.get();
    if (record !== undefined) return this.#remember(record);
    this.#initialising ??= this.#initialise().finally(() => {
      this.#initialising = undefined;
    });
    return this.#remember(await this.#initialising);
  }

  #remember(record: InstanceRecord): InstanceRecord {
    // A read that overlapped a write here can answer the version before it: keep the newer.
    const cached = this.#cached?.record;
    if (cached !== undefined && cached.version > record.version) return cached;
    this.#cached = { record, readAt: this.#monotonic() };
    return record;
  }

  /** The public instance document: current key first, then keys still in their grace period. */
  document(record: InstanceRecord): InstanceDocument {
    return {
      protocol: PROTOCOL_VERSION,
      instanceId: record.instanceId,
      name: record.name,
      url: record.url,
      capabilities: record.capabilities,
      metadata: record.metadata,
      keys: this.#liveKeys(record).map((key) => key.publicJwk),
      keyRotations: record.keyRotations,
    };
  }

  /** Identity and configuration for the instance's admins. Public keys only. */
  configuration(record: InstanceRecord): InstanceConfiguration {
    return {
      instanceId: record.instanceId,
      name: record.name,
      url: record.url,
      capabilities: record.capabilities,
      metadata: record.metadata,
      keys: this.#liveKeys(record),
      keyRotations: record.keyRotations,
      createdAt: record.createdAt,
      updatedAt: record.updatedAt,
    };
  }

  /**
   * The current signing key, imported once per key: a regeneration (here or by another
   * replica) is noticed by its `kid`, and the new key is imported then.
   */
  async signingKey(): Promise<SigningKey> {
    const record = await this.load();
    const current = record.keys[0];
    if (current === undefined) throw new FederationError('INTERNAL', 'the instance has no key');
    if (this.#signingKey?.kid !== current.publicJwk.kid) this.#signingKey = await this.#openSigningKey(record);
    return this.#signingKey;
  }

  /**
   * Applies an `UpdateInstanceDto` (validated by the caller). A DTO that changes nothing
   * writes nothing, not even an audit entry.
   */
  async update(dto: UpdateInstanceDto, actor: AuditActor): Promise<InstanceConfiguration> {
    const current = await this.load();
    if (JSON.stringify(settings(applyUpdate(current, dto))) === JSON.stringify(settings(current))) {
      return this.configuration(current);
    }
    const record = await this.#write(actor, 'instance.update', (latest) => ({
      next: applyUpdate(latest, dto),
      before: settings(latest),
      after: null,
    }));
    return this.configuration(record);
  }

  /**
   * Regenerates the keypair (PROTOCOL 4): a rotation certificate signed with the old key,
   * the new key first in `keys`, the old one kept until its grace period ends. Returns
   * the old key too, imported, for announcing the rotation to peers; it is kept nowhere.
   */
  async regenerateKeys(actor: AuditActor): Promise<{ response: RegenerateKeysResponse; previousKey: SigningKey }> {
    let response: RegenerateKeysResponse | undefined;
    let previous: SigningKey | undefined;
    await this.#write(actor, 'instance.regenerate-keys', async (current) => {
      const previousKey = await this.#openSigningKey(current);
      previous = previousKey;
      const { publicJwk, privateJwk } = await generateKeyPair();
      const now = this.#options.now();
      const certificate = await createRotationCertificate({
        issuer: current.instanceId,
        previousKey,
        newKey: publicJwk,
        now: () => now,
      });
      const expiresAt = new Date(now.getTime() + this.#options.keyGracePeriodSeconds * 1000).toISOString();
      const olderKeys = this.#liveKeys(current).map((key) =>
        key.publicJwk.kid === previousKey.kid ? { ...key, expiresAt } : key,
      );
      response = {
        certificate,
        previousKid: previousKey.kid,
        currentKid: publicJwk.kid,
        previousKeyExpiresAt: expiresAt,
      };
      return {
        next: {
          ...current,
          keys: [{ publicJwk, createdAt: now.toISOString(), expiresAt: null }, ...olderKeys],
          keyRotations: [...current.keyRotations, certificate],
          encryptedPrivateKey: await sealPrivateKey(privateJwk, this.#options.secret, current.instanceId),
        },
        before: { currentKid: previousKey.kid },
        after: { currentKid: publicJwk.kid, previousKid: previousKey.kid, previousKeyExpiresAt: expiresAt },
      };
    });
    if (response === undefined || previous === undefined) {
      throw new FederationError('INTERNAL', 'key regeneration produced nothing');
    }
    this.#options.logger.info('instance keys regenerated', {
      previousKid: response.previousKid,
      currentKid: response.currentKid,
    });
    return { response, previousKey: previous };
  }

  async #openSigningKey(record: InstanceRecord): Promise<SigningKey> {
    const jwk = await openPrivateKey(record.encryptedPrivateKey, this.#options.secret, record.instanceId);
    return importSigningKey(jwk);
  }

  #liveKeys(record: InstanceRecord): InstanceKey[] {
    const now = this.#options.now().getTime();
    return record.keys.filter((key) => key.expiresAt === null || Date.parse(key.expiresAt) > now);
  }

  async #initialise(): Promise<InstanceRecord> {
    const { defaults, generateId, secret, stores } = this.#options;
    const instanceId = generateId();
    const { publicJwk, privateJwk } = await generateKeyPair();
    const at = this.#options.now().toISOString();
    const record: InstanceRecord = {
      instanceId,
      name: defaults.name,
      url: defaults.url,
      capabilities: defaults.capabilities,
      metadata: {},
      keys: [{ publicJwk, createdAt: at, expiresAt: null }],
      keyRotations: [],
      encryptedPrivateKey: await sealPrivateKey(privateJwk, secret, instanceId),
      version: 1,
      createdAt: at,
      updatedAt: at,
    };
    const stored = await stores.instance.initialise(
      record,
      this.#auditEntry(SYSTEM, 'instance.initialise', at, null, {
        instanceId,
        name: record.name,
        url: record.url,
        kid: publicJwk.kid,
      }),
    );
    if (stored.instanceId === instanceId) {
      this.#options.logger.info('instance initialised', { instanceId, kid: publicJwk.kid });
    }
    return stored;
  }

  /**
   * Keeps the stored URL equal to the configured one (the URL is configuration, not an
   * admin setting), recording a change in the audit log.
   */
  async syncUrl(): Promise<InstanceRecord> {
    const record = await this.load();
    if (record.url === this.#options.defaults.url) return record;
    return this.#write(SYSTEM, 'instance.url.update', (current) => ({
      next: { ...current, url: this.#options.defaults.url },
      before: { url: current.url },
      after: { url: this.#options.defaults.url },
    }));
  }

  /**
   * Read, change, write with an optimistic version check; on a concurrent writer, read
   * again and redo the change. `after: null` means "the settings after the change".
   */
  async #write(
    actor: AuditActor,
    action: string,
    change: (current: InstanceRecord) =>
      | Promise<{ next: InstanceRecord; before: AuditEntry['before']; after: AuditEntry['after'] }>
      | { next: InstanceRecord; before: AuditEntry['before']; after: AuditEntry['after'] },
  ): Promise<InstanceRecord> {
    for (let attempt = 1; attempt <= MAX_ATTEMPTS; attempt++) {
      // Never from the cache: the version check must see what is stored.
      const current = await this.#read();
      const { next, before, after } = await change(current);
      const at = this.#options.now().toISOString();
      const written: InstanceRecord = {
        ...next,
        keys: this.#liveKeys(next),
        version: current.version + 1,
        updatedAt: at,
      };
      const entry = this.#auditEntry(actor, action, at, before, after ?? settings(written));
      if (await this.#options.stores.instance.update(written, current.version, entry)) return this.#remember(written);
    }
    throw new FederationError('INTERNAL', 'the instance kept changing underneath this update; try again');
  }

  #auditEntry(
    actor: AuditActor,
    action: string,
    at: string,
    before: AuditEntry['before'],
    after: AuditEntry['after'],
  ): AuditEntry {
    return { id: this.#options.generateId(), at, actor, action, target: 'instance', before, after };
  }
}

function applyUpdate(record: InstanceRecord, dto: UpdateInstanceDto): InstanceRecord {
  const capabilities: Capabilities = { ...record.capabilities };
  for (const [field, value] of Object.entries(dto.capabilities ?? {})) {
    if (value !== undefined) Object.assign(capabilities, { [field]: value });
  }
  return {
    ...record,
    name: dto.name ?? record.name,
    capabilities,
    metadata: dto.metadata ?? record.metadata,
  };
}

/** What an admin can change, as recorded in the audit log. */
function settings(record: InstanceRecord) {
  return { name: record.name, capabilities: record.capabilities, metadata: record.metadata };
}
