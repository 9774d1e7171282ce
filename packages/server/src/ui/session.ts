// Sessions of the web UI: a signed cookie (HMAC-SHA256 under a key derived from the
// instance secret), so any replica can check it and nothing is stored. Each session has
// its own CSRF token, derived from it; every form carries it.
import { AuditActorSchema, FederationError, type AuditActor } from '@mosaic-fed/core';
import { z } from 'zod';
import { fromBase64url, randomToken, toBase64url, utf8 } from '../lib/encoding.js';

/**
 * The session cookie's name for the instance `instanceId`. Browsers keep cookies per host,
 * not per port: two instances on one host each need a name of their own, or signing in to
 * one signs the browser out of the other.
 */
export function sessionCookieName(instanceId: string): string {
  return `mosaic_fed_session_${instanceId.replace(/-/g, '').slice(0, 16)}`;
}
/** How long a sign-in lasts. */
export const SESSION_SECONDS = 8 * 3_600;

const SessionSchema = z.strictObject({
  id: z.string().min(16),
  actor: AuditActorSchema,
  /** A user's session: the token that signed them in (an admin token's id is the actor's). */
  tokenId: z.string().optional(),
  exp: z.number().int(),
});
export type Session = z.infer<typeof SessionSchema>;

/** Signs and checks session cookies and their CSRF tokens. */
export class SessionSigner {
  readonly #key: Promise<CryptoKey>;
  readonly #now: () => Date;

  constructor(secret: string, now: () => Date) {
    const material = utf8(`mosaic-fed ui session\0${secret}`);
    // Imported once; a digest of the secret keeps the key apart from the key-sealing use.
    this.#key = crypto.subtle
      .digest('SHA-256', material)
      .then((digest) => crypto.subtle.importKey('raw', digest, { name: 'HMAC', hash: 'SHA-256' }, false, ['sign', 'verify']));
    this.#now = now;
  }

  /** A new session for `actor` (a user's: signed in with the token `tokenId`), as a cookie value. */
  async issue(actor: AuditActor, tokenId?: string): Promise<{ value: string; session: Session }> {
    const session: Session = {
      id: randomToken(18),
      actor,
      ...(tokenId === undefined ? {} : { tokenId }),
      exp: Math.floor(this.#now().getTime() / 1000) + SESSION_SECONDS,
    };
    const body = toBase64url(utf8(JSON.stringify(session)));
    return { value: `${body}.${await this.#sign(body)}`, session };
  }

  /** The session in a cookie value, or undefined when it is missing, forged or over. */
  async open(value: string | undefined): Promise<Session | undefined> {
    const [body, signature, extra] = (value ?? '').split('.');
    if (body === undefined || signature === undefined || extra !== undefined) return undefined;
    const key = await this.#key;
    let valid: boolean;
    try {
      const mac = fromBase64url(signature);
      // Only the encoding this server writes. The MAC's last character carries two unused
      // bits; other values for them would decode to the same MAC, and alter the cookie
      // without anyone noticing.
      if (toBase64url(mac) !== signature) return undefined;
      valid = await crypto.subtle.verify('HMAC', key, mac, utf8(body));
    } catch {
      return undefined; // not base64url at all
    }
    if (!valid) return undefined;
    try {
      const session = SessionSchema.parse(JSON.parse(new TextDecoder().decode(fromBase64url(body))));
      return session.exp > this.#now().getTime() / 1000 ? session : undefined;
    } catch {
      return undefined;
    }
  }

  /** The CSRF token of a session. */
  csrfToken(session: Session): Promise<string> {
    return this.#sign(`csrf:${session.id}`);
  }

  /** Throws FORBIDDEN unless `token` is the session's CSRF token. */
  async checkCsrf(session: Session, token: unknown): Promise<void> {
    const expected = await this.csrfToken(session);
    if (typeof token !== 'string' || !equal(token, expected)) {
      throw new FederationError('FORBIDDEN', 'the form is out of date; open the page again and resend it');
    }
  }

  async #sign(text: string): Promise<string> {
    return toBase64url(new Uint8Array(await crypto.subtle.sign('HMAC', await this.#key, utf8(text))));
  }
}

/** Compares without stopping at the first difference. */
function equal(a: string, b: string): boolean {
  if (a.length !== b.length) return false;
  let difference = 0;
  for (let i = 0; i < a.length; i++) difference |= a.charCodeAt(i) ^ b.charCodeAt(i);
  return difference === 0;
}
