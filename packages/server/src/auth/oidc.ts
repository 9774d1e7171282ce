// OIDC access tokens as credentials (PROTOCOL 6): a JWT from the configured issuer, for
// the configured audience, verified against the issuer's JWKS. Its admin claim says this
// person administers the instance; without it, a subject linked to one of the instance's
// users signs that user in.
import { createRemoteJWKSet, customFetch, jwtVerify, type JWTPayload } from 'jose';
import { z } from 'zod';
import type { AdminAuthenticator } from './types.js';

/** Options for {@link createOidcAuthenticator}. */
export interface OidcAuthOptions {
  /** The issuer (`iss`), e.g. `https://id.example.com/realms/team`. */
  issuer: string;
  /** The audience (`aud`) an admin's access token is issued for. */
  audience: string;
  /** The JWKS address; discovered from `<issuer>/.well-known/openid-configuration` when left out. */
  jwksUri?: string;
  /** The claim that marks an admin. Default `mosaic_fed_admin`. */
  adminClaim?: string;
  /**
   * The value the admin claim must be or contain (for a list claim such as `roles`).
   * Default: the claim must be `true`.
   */
  adminValue?: string;
  fetch?: typeof fetch;
  now?: () => Date;
  /**
   * The user a subject without the admin claim signs in (`User.oidcSubject`); without it,
   * or for a subject no user has, such a token is `403 FORBIDDEN`.
   */
  userForSubject?: ((subject: string) => Promise<string | undefined>) | undefined;
}

// Asymmetric algorithms only: never `none`, never an HMAC keyed by something public.
const ALGORITHMS = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA', 'Ed25519'];
const JWT_SHAPE = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;
const IDP_FAILURES = new Set(['ERR_JWKS_TIMEOUT', 'ERR_JWKS_INVALID']);
const DiscoverySchema = z.object({ jwks_uri: z.url() });

/** Authenticates OIDC access tokens. The JWKS is fetched once and cached by jose. */
export function createOidcAuthenticator(options: OidcAuthOptions): AdminAuthenticator {
  if (!options.issuer || !options.audience) throw new TypeError('OIDC needs an issuer and an audience');
  const fetchImpl = options.fetch ?? fetch;
  const adminClaim = options.adminClaim ?? 'mosaic_fed_admin';
  let jwks: Promise<ReturnType<typeof createRemoteJWKSet>> | undefined;

  const loadJwks = async () => {
    let uri = options.jwksUri;
    if (uri === undefined) {
      const discovery = `${options.issuer.replace(/\/$/, '')}/.well-known/openid-configuration`;
      const response = await fetchImpl(discovery);
      if (!response.ok) throw new Error(`OIDC discovery answered ${response.status}`);
      uri = DiscoverySchema.parse(await response.json()).jwks_uri;
    }
    return createRemoteJWKSet(new URL(uri), {
      [customFetch]: (url, init) => fetchImpl(url, init),
    });
  };

  const isAdmin = (payload: JWTPayload) => {
    const value = payload[adminClaim];
    if (options.adminValue === undefined) return value === true;
    return Array.isArray(value) ? value.includes(options.adminValue) : value === options.adminValue;
  };

  return async (token) => {
    if (!JWT_SHAPE.test(token)) return undefined;
    jwks ??= loadJwks().catch((error: unknown) => {
      jwks = undefined; // try discovery again on the next request
      throw error;
    });
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, await jwks, {
        issuer: options.issuer,
        audience: options.audience,
        algorithms: ALGORITHMS,
        requiredClaims: ['sub', 'exp'],
        ...(options.now === undefined ? {} : { currentDate: options.now() }),
      }));
    } catch (error) {
      // jose's errors carry a code; an unreachable or broken identity provider is not the
      // caller's fault and surfaces as INTERNAL instead of "invalid token".
      const code = (error as { code?: unknown }).code;
      if (typeof code !== 'string' || IDP_FAILURES.has(code)) throw error;
      return { kind: 'invalid', reason: 'the access token does not verify' };
    }
    const subject = String(payload.sub);
    if (isAdmin(payload)) return { kind: 'admin', actor: { type: 'oidc', id: subject } };
    const userId = await options.userForSubject?.(subject);
    if (userId !== undefined) return { kind: 'user', userId };
    return { kind: 'forbidden', reason: 'the access token carries no admin claim, and names no user of this instance' };
  };
}
