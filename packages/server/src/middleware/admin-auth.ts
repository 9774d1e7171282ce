import { FederationError, type AuditActor } from '@mosaic-fed/core';
import { createMiddleware } from 'hono/factory';
import { authenticateAdmin, type AdminAuthenticator } from '../auth/types.js';

export interface AdminVariables {
  /** The authenticated admin, for audit entries. */
  actor: AuditActor;
}

/**
 * Requires `Authorization: Bearer <token>` accepted by one of the authenticators
 * (PROTOCOL 6). No or bad token: 401 `UNAUTHORIZED`; a valid identity without the admin
 * claim: 403 `FORBIDDEN`. Deny by default: a token nobody recognises is refused.
 */
export function adminAuth(
  authenticators: readonly AdminAuthenticator[],
  options: { except?: (path: string) => boolean } = {},
) {
  if (authenticators.length === 0) throw new TypeError('adminAuth needs at least one authenticator');
  return createMiddleware<{ Variables: AdminVariables }>(async (c, next) => {
    if (options.except?.(c.req.path) === true) return next();
    const header = c.req.header('authorization');
    const match = header === undefined ? null : /^Bearer ([^\s]+)$/i.exec(header.trim());
    if (match?.[1] === undefined) {
      throw new FederationError('UNAUTHORIZED', 'an admin bearer token is needed for this request');
    }
    const outcome = await authenticateAdmin(authenticators, match[1]);
    if (outcome === undefined) throw new FederationError('UNAUTHORIZED', 'the bearer token is not recognised');
    if (outcome.kind === 'admin') {
      c.set('actor', outcome.actor);
      return next();
    }
    if (outcome.kind === 'forbidden') throw new FederationError('FORBIDDEN', outcome.reason);
    throw new FederationError('UNAUTHORIZED', outcome.reason);
  });
}
