// Admin tokens: random bearer tokens for an instance's admins, and, bound to a user, for
// its users (docs/protocol.md, "Acting for users"). Only a SHA-256 hash is
// stored; the token itself is shown once, when it is created. A token may expire, can be
// revoked (it fails at once, on every replica: every request reads the store), and
// records when it was last used.
import { FederationError, type AdminToken, type AuditActor } from '@mosaic-fed/core';
import { randomToken, sha256HexOfText } from '../lib/encoding.js';
import { lastUseRecorder } from '../lib/last-use.js';
import type { AdminTokenRecord, AdminTokenStore } from '../stores/types.js';
import type { AdminAuthenticator } from './types.js';

/** Every admin token starts with this, so it is recognisable in a secret scanner. */
export const ADMIN_TOKEN_PREFIX = 'mfa_';
const TOKEN_SHAPE = /^mfa_[A-Za-z0-9_-]{43}$/;

/** Options for {@link createAdminToken}. */
export interface CreateAdminTokenOptions {
  store: AdminTokenStore;
  label: string;
  actor: AuditActor;
  /** When the token stops working; default never. */
  expiresAt?: Date | undefined;
  /** Makes a user's token: it signs that user in (with what their workspaces allow), not an admin. */
  userId?: string | undefined;
  now?: () => Date;
  generateId?: () => string;
}

/** The admin view of a stored token: everything but its hash. */
export function toAdminToken(record: AdminTokenRecord): AdminToken {
  const { tokenHash: _hash, ...token } = record;
  return token;
}

/**
 * Creates an admin token and stores its hash with an audit entry. The returned `token`
 * exists nowhere else: show it once and forget it.
 */
export async function createAdminToken(
  options: CreateAdminTokenOptions,
): Promise<{ token: string; record: AdminTokenRecord }> {
  const label = options.label.trim();
  if (label.length === 0 || label.length > 100) throw new TypeError('label must be 1 to 100 characters');
  const generateId = options.generateId ?? (() => crypto.randomUUID());
  const now = options.now?.() ?? new Date();
  if (options.expiresAt !== undefined && !(options.expiresAt.getTime() > now.getTime())) {
    throw new TypeError('expiresAt must be in the future');
  }
  const at = now.toISOString();
  const token = `${ADMIN_TOKEN_PREFIX}${randomToken(32)}`;
  const record: AdminTokenRecord = {
    id: generateId(),
    label,
    tokenHash: await sha256HexOfText(token),
    createdAt: at,
    expiresAt: options.expiresAt?.toISOString() ?? null,
    lastUsedAt: null,
    revokedAt: null,
    ...(options.userId === undefined ? {} : { userId: options.userId }),
  };
  await options.store.create(record, {
    id: generateId(),
    at,
    actor: options.actor,
    action: 'admin-token.create',
    target: `admin-token:${record.id}`,
    before: null,
    after: { id: record.id, label, expiresAt: record.expiresAt, ...(options.userId === undefined ? {} : { userId: options.userId }) },
  });
  return { token, record };
}

/** Options for {@link revokeAdminToken}. */
export interface RevokeAdminTokenOptions {
  store: AdminTokenStore;
  id: string;
  actor: AuditActor;
  now?: () => Date;
  generateId?: () => string;
}

/**
 * Revokes a token, with an audit entry; revoking it again answers the same. `NOT_FOUND`
 * for an unknown id.
 */
export async function revokeAdminToken(options: RevokeAdminTokenOptions): Promise<AdminToken> {
  const at = (options.now?.() ?? new Date()).toISOString();
  const generateId = options.generateId ?? (() => crypto.randomUUID());
  const current = await options.store.get(options.id);
  if (current === undefined) throw new FederationError('NOT_FOUND', 'there is no such admin token');
  if (current.revokedAt === null) {
    await options.store.revoke(options.id, at, {
      id: generateId(),
      at,
      actor: options.actor,
      action: 'admin-token.revoke',
      target: `admin-token:${current.id}`,
      before: { revokedAt: null },
      after: { revokedAt: at },
    });
  }
  const revoked = await options.store.get(options.id);
  return toAdminToken(revoked ?? current);
}

/** Options for {@link createAdminTokenAuthenticator}. */
export interface AdminTokenAuthenticatorOptions {
  now?: () => Date;
}

/** Authenticates admin tokens against their stored hashes, refusing expired and revoked ones. */
export function createAdminTokenAuthenticator(store: AdminTokenStore, options: AdminTokenAuthenticatorOptions = {}): AdminAuthenticator {
  const now = options.now ?? (() => new Date());
  // A use that cannot be recorded still authenticates.
  const recordUse = lastUseRecorder((id, at) => store.recordUse(id, at));
  return async (token) => {
    if (!token.startsWith(ADMIN_TOKEN_PREFIX)) return undefined;
    if (!TOKEN_SHAPE.test(token)) return { kind: 'invalid', reason: 'malformed admin token' };
    const record = await store.findByHash(await sha256HexOfText(token));
    if (record === undefined) return { kind: 'invalid', reason: 'unknown admin token' };
    if (record.revokedAt !== null) return { kind: 'invalid', reason: 'revoked admin token' };
    const at = now();
    if (record.expiresAt !== null && Date.parse(record.expiresAt) <= at.getTime()) {
      return { kind: 'invalid', reason: 'expired admin token' };
    }
    await recordUse(record, at);
    // A user's token signs that user in, with what their workspaces allow; never an admin.
    if (record.userId !== undefined) return { kind: 'user', userId: record.userId, tokenId: record.id };
    return { kind: 'admin', actor: { type: 'admin-token', id: record.id, label: record.label } };
  };
}
