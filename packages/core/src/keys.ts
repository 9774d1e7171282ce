import { calculateJwkThumbprint, exportJWK, generateKeyPair as joseGenerateKeyPair, importJWK } from 'jose';
import { z } from 'zod';
import { FederationError, parseOrThrow } from './errors.js';
import { PublicJwkSchema, type PublicJwk } from './schemas/instance.js';

/** The one signature algorithm of the protocol (PROTOCOL 1). */
export const SIGNING_ALGORITHM = 'EdDSA';

/**
 * A private Ed25519 JWK as an instance stores it (encrypted at rest by the server).
 * Never sent anywhere: not in a response, a log line, an audit entry or a page.
 */
export const PrivateJwkSchema = PublicJwkSchema.extend({
  d: z
    .string()
    .length(43)
    .regex(/^[A-Za-z0-9_-]+$/, 'must be base64url'),
});
export type PrivateJwk = z.infer<typeof PrivateJwkSchema>;

/** A freshly generated keypair, as JWKs ready to store and publish. */
export interface GeneratedKeyPair {
  publicJwk: PublicJwk;
  privateJwk: PrivateJwk;
}

/**
 * An imported private key, ready to sign. Import it once (at start or after a key
 * regeneration) and reuse it: importing per message costs about a quarter of the
 * throughput (REFERENCE, "Measured").
 */
export interface SigningKey {
  readonly kid: string;
  readonly privateKey: CryptoKey;
  readonly publicJwk: PublicJwk;
}

/** An imported public key, ready to verify. Cache it beside the pinned JWK. */
export interface VerificationKey {
  readonly kid: string;
  readonly publicKey: CryptoKey;
  readonly publicJwk: PublicJwk;
}

/**
 * The RFC 7638 thumbprint (base64url SHA-256) of an Ed25519 public key: its `kid`.
 * Only `crv`, `kty` and `x` take part, so the same key always gets the same `kid`.
 */
export function computeKid(jwk: Pick<PublicJwk, 'crv' | 'kty' | 'x'>): Promise<string> {
  return calculateJwkThumbprint({ crv: jwk.crv, kty: jwk.kty, x: jwk.x }, 'sha256');
}

/**
 * Generates an Ed25519 keypair and returns it as JWKs with `kid`, `use` and `alg` set.
 *
 * @example
 * ```ts
 * const { publicJwk, privateJwk } = await generateKeyPair();
 * const signingKey = await importSigningKey(privateJwk);
 * ```
 */
export async function generateKeyPair(): Promise<GeneratedKeyPair> {
  const { publicKey, privateKey } = await joseGenerateKeyPair(SIGNING_ALGORITHM, {
    crv: 'Ed25519',
    extractable: true,
  });
  const [pub, priv] = await Promise.all([exportJWK(publicKey), exportJWK(privateKey)]);
  if (pub.x === undefined || priv.d === undefined) {
    throw new TypeError('the runtime exported an Ed25519 key without its key material');
  }
  const kid = await computeKid({ kty: 'OKP', crv: 'Ed25519', x: pub.x });
  const publicJwk: PublicJwk = {
    kty: 'OKP',
    crv: 'Ed25519',
    x: pub.x,
    kid,
    use: 'sig',
    alg: SIGNING_ALGORITHM,
  };
  return { publicJwk, privateJwk: { ...publicJwk, d: priv.d } };
}

/** Returns the public half of a private JWK. */
export function toPublicJwk(jwk: PrivateJwk): PublicJwk {
  const { kty, crv, x, kid, use, alg } = jwk;
  return { kty, crv, x, kid, use, alg };
}

async function assertKidIsThumbprint(jwk: PublicJwk): Promise<void> {
  if ((await computeKid(jwk)) !== jwk.kid) {
    throw new FederationError('VALIDATION_FAILED', 'key kid is not the thumbprint of the key', {
      details: [{ path: 'kid', message: 'must be the RFC 7638 thumbprint of the key' }],
    });
  }
}

/**
 * Imports a private JWK for signing. The resulting key is not extractable.
 * Throws `VALIDATION_FAILED` for anything but an Ed25519 private JWK whose `kid` is its
 * thumbprint.
 */
export async function importSigningKey(jwk: unknown): Promise<SigningKey> {
  const parsed = parseOrThrow(PrivateJwkSchema, jwk, 'private key');
  const publicJwk = toPublicJwk(parsed);
  await assertKidIsThumbprint(publicJwk);
  const privateKey = await importJWK(
    { kty: parsed.kty, crv: parsed.crv, x: parsed.x, d: parsed.d },
    SIGNING_ALGORITHM,
    { extractable: false },
  );
  return { kid: parsed.kid, privateKey: asCryptoKey(privateKey), publicJwk };
}

/**
 * Imports a peer's public JWK for verification. It is validated first (PROTOCOL 1 and
 * REFERENCE "jose pitfalls"): `kty: "OKP"`, `crv: "Ed25519"`, no private part, `kid`
 * equal to its thumbprint; anything else is `VALIDATION_FAILED` and never reaches
 * `importJWK`, which would trust whatever `kty` it was given.
 */
export async function importVerificationKey(jwk: unknown): Promise<VerificationKey> {
  const parsed = parseOrThrow(PublicJwkSchema, jwk, 'public key');
  await assertKidIsThumbprint(parsed);
  const publicKey = await importJWK(
    { kty: parsed.kty, crv: parsed.crv, x: parsed.x },
    SIGNING_ALGORITHM,
  );
  return { kid: parsed.kid, publicKey: asCryptoKey(publicKey), publicJwk: parsed };
}

// importJWK answers raw bytes only for `oct` keys, which the schemas above exclude.
function asCryptoKey(key: CryptoKey | Uint8Array): CryptoKey {
  if (key instanceof Uint8Array) throw new TypeError('expected an asymmetric key');
  return key;
}
