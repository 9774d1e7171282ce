// A2A clients (docs/protocol.md, "A2A"): principals like peers. An admin issues each a
// bearer token (shown once; only its SHA-256 hash is kept) and grants, the same grants a
// connection has; every change is audited, and a revoked client is refused at once, on
// every replica (each request reads the store).
import {
  applyGrantsUpdate,
  defaultGrants,
  FederationError,
  type A2AClient,
  type A2AClientCreated,
  type AuditActor,
  type CreateA2AClientDto,
  type UpdateA2AClientDto,
} from '@mosaic-fed/core';
import { randomToken, sha256HexOfText } from '../lib/encoding.js';
import { lastUseRecorder } from '../lib/last-use.js';
import type { InstanceService } from '../instance/service.js';
import type { OidcVerifier } from '../auth/oidc.js';
import type { A2AClientChange, A2AClientRecord, FederationStores } from '../stores/types.js';

/** Every A2A client token starts with this, so it is recognisable in a secret scanner. */
export const A2A_TOKEN_PREFIX = 'mfc_';
const TOKEN_SHAPE = /^mfc_[A-Za-z0-9_-]{43}$/;

export interface A2AClientsOptions {
  stores: FederationStores;
  instance: InstanceService;
  now: () => Date;
  generateId: () => string;
  /** Checks OIDC access tokens, when the instance has an issuer: then a client may sign in with one whose subject it names. */
  oidc?: OidcVerifier | undefined;
}

/** The admin view of a stored client: everything but its token's hash. */
export function toA2AClient(record: A2AClientRecord): A2AClient {
  const { tokenHash: _hash, ...client } = record;
  return client;
}

/** The client as the audit log names it. */
export function a2aActor(client: Pick<A2AClient, 'id' | 'name'>): AuditActor {
  return { type: 'a2a-client', id: client.id, label: client.name };
}

export class A2AClients {
  readonly #o: A2AClientsOptions;
  readonly #recordUse: ReturnType<typeof lastUseRecorder>;

  constructor(options: A2AClientsOptions) {
    this.#o = options;
    this.#recordUse = lastUseRecorder((id, at) => options.stores.a2aClients.recordUse(id, at));
  }

  async list(): Promise<A2AClient[]> {
    return (await this.#o.stores.a2aClients.list()).map(toA2AClient);
  }

  async get(id: string): Promise<A2AClient> {
    const record = await this.#o.stores.a2aClients.get(id);
    if (record === undefined) throw new FederationError('NOT_FOUND', 'there is no such A2A client');
    return toA2AClient(record);
  }

  /** Issues a client its token and grants (a new connection's, changed as `dto.grants` says). */
  async create(dto: CreateA2AClientDto, actor: AuditActor): Promise<A2AClientCreated> {
    const { capabilities } = await this.#o.instance.load();
    const at = this.#o.now().toISOString();
    const token = `${A2A_TOKEN_PREFIX}${randomToken(32)}`;
    const record: A2AClientRecord = {
      id: this.#o.generateId(),
      name: dto.name,
      grants: applyGrantsUpdate(defaultGrants(capabilities), dto.grants ?? {}),
      ...(dto.oidcSubject === undefined ? {} : { oidcSubject: dto.oidcSubject }),
      tokenHash: await sha256HexOfText(token),
      createdAt: at,
      lastUsedAt: null,
      revokedAt: null,
    };
    await this.#subjectFree(dto.oidcSubject, undefined);
    await this.#o.stores.a2aClients.create(record, {
      id: this.#o.generateId(),
      at,
      actor,
      action: 'a2a-client.create',
      target: `a2a-client:${record.id}`,
      before: null,
      after: { name: record.name, grants: record.grants, ...(record.oidcSubject === undefined ? {} : { oidcSubject: record.oidcSubject }) },
    });
    return { client: toA2AClient(record), token };
  }

  /** Renames a client or changes its grants; `VALIDATION_FAILED` once it is revoked. */
  async update(id: string, dto: UpdateA2AClientDto, actor: AuditActor): Promise<A2AClient> {
    const current = await this.get(id);
    if (current.revokedAt !== null) throw revoked();
    const oidcSubject = dto.oidcSubject === undefined ? current.oidcSubject : (dto.oidcSubject ?? undefined);
    const change: A2AClientChange = {
      name: dto.name ?? current.name,
      grants: dto.grants === undefined ? current.grants : applyGrantsUpdate(current.grants, dto.grants),
      ...(oidcSubject === undefined ? {} : { oidcSubject }),
    };
    await this.#subjectFree(oidcSubject, id);
    const updated = await this.#o.stores.a2aClients.update(id, change, {
      id: this.#o.generateId(),
      at: this.#o.now().toISOString(),
      actor,
      action: 'a2a-client.update',
      target: `a2a-client:${id}`,
      before: { name: current.name, grants: current.grants, oidcSubject: current.oidcSubject ?? null },
      after: { ...change, oidcSubject: change.oidcSubject ?? null },
    });
    if (!updated) throw revoked();
    const { oidcSubject: _previous, ...rest } = current;
    return { ...rest, ...change };
  }

  /** Revokes a client's token, with an audit entry; revoking it again answers the same. */
  async revoke(id: string, actor: AuditActor): Promise<A2AClient> {
    const current = await this.get(id);
    if (current.revokedAt === null) {
      const at = this.#o.now().toISOString();
      await this.#o.stores.a2aClients.revoke(id, at, {
        id: this.#o.generateId(),
        at,
        actor,
        action: 'a2a-client.revoke',
        target: `a2a-client:${id}`,
        before: { revokedAt: null },
        after: { revokedAt: at },
      });
    }
    return this.get(id);
  }

  /**
   * The client a bearer token belongs to: its own token, or an OIDC access token whose
   * subject it names. `UNAUTHORIZED` for anything else (a malformed, unknown or revoked
   * token alike, so a caller learns nothing from the difference).
   */
  async authenticate(authorization: string | undefined): Promise<A2AClient> {
    const token = /^Bearer (\S+)$/i.exec(authorization ?? '')?.[1];
    const refused = () => new FederationError('UNAUTHORIZED', 'send an A2A client token (mfc_...) or an OIDC access token of the client as Authorization: Bearer');
    if (token === undefined) throw refused();
    let record: A2AClientRecord | undefined;
    if (TOKEN_SHAPE.test(token)) {
      record = await this.#o.stores.a2aClients.findByHash(await sha256HexOfText(token));
    } else {
      const verdict = await this.#o.oidc?.(token);
      if (verdict?.kind === 'verified') record = await this.#o.stores.a2aClients.findBySubject(verdict.payload.sub);
    }
    if (record === undefined || record.revokedAt !== null) throw refused();
    await this.#recordUse(record, this.#o.now());
    return toA2AClient(record);
  }

  /** `VALIDATION_FAILED` when another client than `id` signs in with the OIDC subject. */
  async #subjectFree(subject: string | undefined, id: string | undefined): Promise<void> {
    if (subject === undefined) return;
    const holder = await this.#o.stores.a2aClients.findBySubject(subject);
    if (holder !== undefined && holder.id !== id) {
      throw new FederationError('VALIDATION_FAILED', 'another A2A client signs in with this OIDC subject', { details: [{ path: 'oidcSubject', message: 'is taken' }] });
    }
  }
}

function revoked(): FederationError {
  return new FederationError('VALIDATION_FAILED', 'the A2A client is revoked; a revoked client cannot be changed', {
    details: [{ path: 'revokedAt', message: 'is set: the client is revoked' }],
  });
}
