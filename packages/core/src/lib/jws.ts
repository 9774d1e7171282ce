import { decodeJwt, decodeProtectedHeader, type JWTPayload } from 'jose';
import type { z } from 'zod';
import { FederationError, toValidationIssues, type ErrorCode } from '../errors.js';
import { LIMITS } from '../limits.js';
import { base64urlEncode, base64urlEncodeText, utf8 } from './bytes.js';

const COMPACT_JWS = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;

/**
 * Reads a token's protected header and checks it against a strict header schema,
 * before anything else of the token is trusted or even decoded. `MALFORMED_MESSAGE`
 * for a token that is not a compact JWS or whose header the schema refuses.
 */
export function readProtectedHeader<S extends z.ZodType>(token: unknown, schema: S): z.output<S> {
  if (typeof token !== 'string' || token.length > LIMITS.maxMessageBytes || !COMPACT_JWS.test(token)) {
    throw new FederationError('MALFORMED_MESSAGE', 'not a compact JWS');
  }
  const raw = decodeOrThrow(() => decodeProtectedHeader(token));
  const parsed = schema.safeParse(raw);
  if (!parsed.success) {
    const problems = toValidationIssues(parsed.error).map((i) =>
      i.path === '(root)' ? i.message : `${i.path}: ${i.message}`,
    );
    throw new FederationError(
      'MALFORMED_MESSAGE',
      `unacceptable protected header (${problems.join('; ')})`,
    );
  }
  return parsed.data;
}

/** The protected header this protocol signs with: EdDSA over Ed25519, always. */
export interface SignedHeader {
  alg: 'EdDSA';
  typ: string;
  kid: string;
}

/**
 * Signs `claims` as a compact JWS (RFC 7515) with an Ed25519 key: the same bytes jose's
 * `SignJWT` makes (Ed25519 is deterministic, and the tests compare the two), without its
 * copy of the claims and its JavaScript base64 loop, which cost more than the signature on
 * a large answer. Only for claims already validated by their schema; verifying stays
 * with jose.
 */
export async function signCompactJws(header: SignedHeader, claims: object, privateKey: CryptoKey): Promise<string> {
  const signingInput = `${base64urlEncodeText(JSON.stringify(header))}.${base64urlEncodeText(JSON.stringify(claims))}`;
  const signature = await crypto.subtle.sign('Ed25519', privateKey, utf8(signingInput));
  return `${signingInput}.${base64urlEncode(new Uint8Array(signature))}`;
}

/** Decodes a token's claims without verifying them: only to choose a key. */
export function decodeUnverifiedClaims(token: string): JWTPayload {
  return decodeOrThrow(() => decodeJwt(token));
}

function decodeOrThrow<T>(decode: () => T): T {
  try {
    return decode();
  } catch (error) {
    throw new FederationError('MALFORMED_MESSAGE', 'the token cannot be decoded', { cause: error });
  }
}

const JOSE_CODES: Record<string, ErrorCode> = {
  ERR_JWS_SIGNATURE_VERIFICATION_FAILED: 'INVALID_SIGNATURE',
  ERR_JWT_EXPIRED: 'MESSAGE_EXPIRED',
  ERR_JOSE_ALG_NOT_ALLOWED: 'MALFORMED_MESSAGE',
  ERR_JOSE_NOT_SUPPORTED: 'MALFORMED_MESSAGE',
  ERR_JWS_INVALID: 'MALFORMED_MESSAGE',
  ERR_JWT_INVALID: 'MALFORMED_MESSAGE',
};

const CLAIM_CODES: Record<string, ErrorCode> = {
  aud: 'WRONG_AUDIENCE',
  // The key that verified belongs to another instance than the one named in `iss`.
  iss: 'UNKNOWN_KEY',
  iat: 'MESSAGE_EXPIRED',
  nbf: 'MESSAGE_EXPIRED',
  exp: 'MESSAGE_EXPIRED',
};

/**
 * Maps jose's errors to the protocol's codes. Input-caused failures, including the
 * plain `TypeError`s jose throws for odd keys or claims, are 4xx, never `INTERNAL`.
 */
export function joseErrorToFederationError(error: unknown): FederationError {
  if (error instanceof FederationError) return error;
  const { code, claim, reason } = (error ?? {}) as { code?: unknown; claim?: unknown; reason?: unknown };
  let mapped: ErrorCode | undefined;
  if (code === 'ERR_JWT_CLAIM_VALIDATION_FAILED') {
    mapped =
      reason === 'missing'
        ? 'MALFORMED_MESSAGE'
        : (CLAIM_CODES[String(claim)] ?? 'MALFORMED_MESSAGE');
  } else if (typeof code === 'string') {
    mapped = JOSE_CODES[code];
  } else if (error instanceof TypeError) {
    mapped = 'MALFORMED_MESSAGE';
  }
  if (mapped === undefined) {
    return new FederationError('INTERNAL', 'message verification failed', { cause: error });
  }
  const message = error instanceof Error ? error.message : 'message verification failed';
  return new FederationError(mapped, message, { cause: error });
}
