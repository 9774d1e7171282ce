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

/** What a verifier made of a bearer token: not a JWT (`undefined`), one that does not verify, or its claims. */
export type OidcVerdict = { kind: 'verified'; payload: JWTPayload & { sub: string } } | { kind: 'invalid' } | undefined;

/** Checks OIDC access tokens: issuer, audience, signature (an asymmetric algorithm), `sub` and `exp`. */
export type OidcVerifier = (token: string) => Promise<OidcVerdict>;

/**
 * Verifies OIDC access tokens against the issuer's JWKS (discovered, fetched once and
 * cached by jose). An unreachable or broken identity provider throws: it is not the
 * caller's fault.
 */
export function createOidcVerifier(options: Pick<OidcAuthOptions, 'issuer' | 'audience' | 'jwksUri' | 'fetch' | 'now'>): OidcVerifier {
  if (!options.issuer || !options.audience) throw new TypeError('OIDC needs an issuer and an audience');
  const fetchImpl = options.fetch ?? fetch;
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
      return { kind: 'invalid' };
    }
    return { kind: 'verified', payload: { ...payload, sub: String(payload.sub) } };
  };
}

/** Authenticates OIDC access tokens as admins (by the admin claim) or as the users their subjects name. */
export function createOidcAuthenticator(options: OidcAuthOptions, verify: OidcVerifier = createOidcVerifier(options)): AdminAuthenticator {
  const adminClaim = options.adminClaim ?? 'mosaic_fed_admin';
  const isAdmin = (payload: JWTPayload) => {
    const value = payload[adminClaim];
    if (options.adminValue === undefined) return value === true;
    return Array.isArray(value) ? value.includes(options.adminValue) : value === options.adminValue;
  };

  return async (token) => {
    const verdict = await verify(token);
    if (verdict === undefined) return undefined;
    if (verdict.kind === 'invalid') return { kind: 'invalid', reason: 'the access token does not verify' };
    const { payload } = verdict;
    const subject = payload.sub;
    if (isAdmin(payload)) return { kind: 'admin', actor: { type: 'oidc', id: subject } };
    const userId = await options.userForSubject?.(subject);
    if (userId !== undefined) return { kind: 'user', userId };
    return { kind: 'forbidden', reason: 'the access token carries no admin claim, and names no user of this instance' };
  };
}
