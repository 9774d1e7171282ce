// Admin tokens: random bearer tokens for an instance's admins. Only a SHA-256 hash is
// stored; the token itself is shown once, when it is created.
import type { AuditActor } from '@mosaic-fed/core';
import { randomToken, sha256Hex } from '../lib/encoding.js';
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
  now?: () => Date;
  generateId?: () => string;
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
  const at = (options.now?.() ?? new Date()).toISOString();
  const token = `${ADMIN_TOKEN_PREFIX}${randomToken(32)}`;
  const record: AdminTokenRecord = { id: generateId(), label, tokenHash: await sha256Hex(token), createdAt: at };
  await options.store.create(record, {
    id: generateId(),
    at,
    actor: options.actor,
    action: 'admin-token.create',
    target: `admin-token:${record.id}`,
    before: null,
    after: { id: record.id, label },
  });
  return { token, record };
}

/** Authenticates admin tokens against their stored hashes. */
export function createAdminTokenAuthenticator(store: AdminTokenStore): AdminAuthenticator {
  return async (token) => {
    if (!token.startsWith(ADMIN_TOKEN_PREFIX)) return undefined;
    if (!TOKEN_SHAPE.test(token)) return { kind: 'invalid', reason: 'malformed admin token' };
    const record = await store.findByHash(await sha256Hex(token));
    if (record === undefined) return { kind: 'invalid', reason: 'unknown admin token' };
    return { kind: 'admin', actor: { type: 'admin-token', id: record.id, label: record.label } };
  };
}
