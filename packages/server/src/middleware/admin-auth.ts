import { FederationError, type AuditActor } from '@mosaic-fed/core';
import { createMiddleware } from 'hono/factory';
import { userPrincipal, type Principal } from '../auth/principal.js';
import { authenticateAdmin, type AdminAuthenticator } from '../auth/types.js';
import type { PeopleStore } from '../stores/types.js';

export interface AdminVariables {
  /** Who is acting, for audit entries. */
  actor: AuditActor;
  /** Who is acting, and so what they may do: an admin, or a user with their workspaces. */
  principal: Principal;
}

/**
 * Requires `Authorization: Bearer <token>` accepted by one of the authenticators
 * (PROTOCOL 6). No or bad token: 401 `UNAUTHORIZED`; a valid identity without the admin
 * claim: 403 `FORBIDDEN`. A user's token signs that user in (with `people`; without it,
 * 403): which routes a user may use is {@link requireAdmin}'s to say. Deny by default: a
 * token nobody recognises is refused.
 */
export function adminAuth(
  authenticators: readonly AdminAuthenticator[],
  options: { except?: (path: string) => boolean; people?: PeopleStore | undefined } = {},
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
      c.set('principal', { kind: 'admin', actor: outcome.actor });
      return next();
    }
    if (outcome.kind === 'user') {
      if (options.people === undefined) throw new FederationError('FORBIDDEN', 'this instance has no users: an admin token is needed');
      const principal = await userPrincipal(options.people, outcome.userId);
      if (principal === undefined) throw new FederationError('UNAUTHORIZED', 'the token belongs to a user who is no more');
      c.set('actor', principal.actor);
      c.set('principal', principal);
      return next();
    }
    if (outcome.kind === 'forbidden') throw new FederationError('FORBIDDEN', outcome.reason);
    throw new FederationError('UNAUTHORIZED', outcome.reason);
  });
}

/**
 * Lets admins through, and users only where `open` says (the routes that check a user's
 * workspaces themselves): every other route, and any route added later, is admins' only.
 */
export function requireAdmin(open: (path: string) => boolean) {
  return createMiddleware<{ Variables: AdminVariables }>(async (c, next) => {
    if (c.var.principal.kind !== 'admin' && !open(c.req.path)) {
      throw new FederationError('FORBIDDEN', "this is the instance's admins' to do");
    }
    await next();
  });
}
