import type { AuditActor } from '@mosaic-fed/core';

/** What an authenticator concluded about a bearer token. */
export type AuthOutcome =
  | { kind: 'admin'; actor: AuditActor }
  /** One of the instance's users: what they may do is what their workspaces allow. */
  | {
      kind: 'user';
      userId: string;
      /** The user's token that signed them in (a session lasts no longer); none for an OIDC access token. */
      tokenId?: string | undefined;
    }
  /** A valid identity that is not an admin: 403. */
  | { kind: 'forbidden'; reason: string }
  /** Not a valid token: 401. */
  | { kind: 'invalid'; reason: string };

/**
 * Decides whether a bearer token belongs to an admin of this instance. Returns
 * `undefined` for a token it does not recognise, so the next authenticator can try.
 */
export type AdminAuthenticator = (token: string) => Promise<AuthOutcome | undefined>;

/** The first authenticator's verdict on `token`, or `undefined` when none recognises it. */
export async function authenticateAdmin(authenticators: readonly AdminAuthenticator[], token: string): Promise<AuthOutcome | undefined> {
  for (const authenticate of authenticators) {
    const outcome = await authenticate(token);
    if (outcome !== undefined) return outcome;
  }
  return undefined;
}
