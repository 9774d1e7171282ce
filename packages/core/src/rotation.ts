import { jwtVerify } from 'jose';
import { z } from 'zod';
import { FederationError, parseOrThrow } from './errors.js';
import { computeKid, importVerificationKey, SIGNING_ALGORITHM, type SigningKey } from './keys.js';
import { decodeUnverifiedClaims, joseErrorToFederationError, readProtectedHeader, signCompactJws } from './lib/jws.js';
import { LIMITS } from './limits.js';
import { InstanceIdSchema, KidSchema, PublicJwkSchema, type PublicJwk } from './schemas/instance.js';
import { ROTATION_TYP } from './schemas/messages.js';

/** Protected header of a rotation certificate: signed by the previous key (PROTOCOL 4). */
export const RotationCertificateHeaderSchema = z.strictObject({
  alg: z.literal('EdDSA'),
  typ: z.literal(ROTATION_TYP),
  kid: KidSchema,
});

/** Claims of a rotation certificate (PROTOCOL 4). */
export const RotationCertificateClaimsSchema = z.strictObject({
  iss: InstanceIdSchema,
  iat: z.number().int().nonnegative(),
  prevKid: KidSchema,
  newKey: PublicJwkSchema,
});
export type RotationCertificateClaims = z.infer<typeof RotationCertificateClaimsSchema>;

/** Options for {@link createRotationCertificate}. */
export interface CreateRotationCertificateOptions {
  /** The instance whose key rotates. */
  issuer: string;
  /** The key being replaced: it signs the certificate. */
  previousKey: SigningKey;
  /** The public half of the key that replaces it. */
  newKey: PublicJwk;
  now?: () => Date;
}

/**
 * Creates a rotation certificate: a JWT signed with the old key that vouches for the new
 * one (PROTOCOL 4). Append it to the instance document's `keyRotations`.
 */
export async function createRotationCertificate(
  options: CreateRotationCertificateOptions,
): Promise<string> {
  const newKey = parseOrThrow(PublicJwkSchema, options.newKey, 'new key');
  if ((await computeKid(newKey)) !== newKey.kid) {
    throw new TypeError('newKey.kid must be the thumbprint of newKey');
  }
  if (newKey.kid === options.previousKey.kid) {
    throw new TypeError('a rotation certificate must introduce a different key');
  }
  const claims: RotationCertificateClaims = {
    iss: parseOrThrow(InstanceIdSchema, options.issuer, 'issuer'),
    iat: Math.floor((options.now?.() ?? new Date()).getTime() / 1000),
    prevKid: options.previousKey.kid,
    newKey,
  };
  return signCompactJws({ alg: SIGNING_ALGORITHM, typ: ROTATION_TYP, kid: options.previousKey.kid }, claims, options.previousKey.privateKey);
}

/** Options for {@link verifyRotationChain}. */
export interface VerifyRotationChainOptions {
  /** The instance the keys belong to: every certificate's `iss`. */
  issuer: string;
  /** The certificates, oldest first, as in the instance document's `keyRotations`. */
  certificates: readonly string[];
  /** Keys already pinned for the issuer: the chain must start from one of them. */
  pinnedKeys: readonly PublicJwk[];
  /** Stop at this key; `UNKNOWN_KEY` if the chain never reaches it. Default: walk to the end. */
  targetKid?: string;
  now?: () => Date;
}

/** The outcome of a verified chain. */
export interface VerifiedRotationChain {
  /** The key the chain leads to: pin this one. */
  key: PublicJwk;
  /** Every key introduced along the way, in order, ending with `key`. */
  introduced: PublicJwk[];
  /** Every key replaced along the way, in order, with its certificate's `iat` (seconds). */
  replaced: { kid: string; iat: number }[];
}

/**
 * Walks rotation certificates from a pinned key to a new key, verifying every link
 * (PROTOCOL 4). A link must name the current key as `prevKid`, be signed by it, and
 * introduce a well-formed key whose `kid` is its thumbprint. Anything else (a chain that
 * starts from no pinned key, a broken link, a link signed by a key outside the chain,
 * a chain that never reaches `targetKid`) is `UNKNOWN_KEY`, and nothing should be pinned.
 */
export async function verifyRotationChain(
  options: VerifyRotationChainOptions,
): Promise<VerifiedRotationChain> {
  const { certificates, issuer } = options;
  const pinned = new Map(options.pinnedKeys.map((key) => [key.kid, key]));
  // Unverified: only to find where the walk starts. Every link is verified below.
  let start = -1;
  let current: PublicJwk | undefined;
  for (const [index, certificate] of certificates.entries()) {
    const prevKid = tryDecodeClaims(certificate)?.prevKid;
    current = typeof prevKid === 'string' ? pinned.get(prevKid) : undefined;
    if (current !== undefined) {
      start = index;
      break;
    }
  }
  if (current === undefined) {
    throw new FederationError('UNKNOWN_KEY', 'no rotation certificate starts from a pinned key');
  }
  const introduced: PublicJwk[] = [];
  const replaced: { kid: string; iat: number }[] = [];
  const nowSeconds = Math.floor((options.now?.() ?? new Date()).getTime() / 1000);
  for (let index = start; index < certificates.length; index++) {
    if (options.targetKid !== undefined && current.kid === options.targetKid) break;
    const claims = await verifyLink(certificates[index] as string, current, issuer, index);
    if (claims.iat > nowSeconds + LIMITS.maxClockSkewSeconds) {
      throw chainError(index, 'is dated in the future');
    }
    replaced.push({ kid: current.kid, iat: claims.iat });
    current = claims.newKey;
    introduced.push(current);
  }
  if (options.targetKid !== undefined && current.kid !== options.targetKid) {
    throw new FederationError('UNKNOWN_KEY', 'the rotation chain does not lead to the key used');
  }
  if (introduced.length === 0) {
    throw new FederationError('UNKNOWN_KEY', 'the rotation chain introduces no key');
  }
  return { key: current, introduced, replaced };
}

async function verifyLink(
  certificate: string,
  current: PublicJwk,
  issuer: string,
  index: number,
): Promise<RotationCertificateClaims> {
  let header: z.infer<typeof RotationCertificateHeaderSchema>;
  try {
    header = readProtectedHeader(certificate, RotationCertificateHeaderSchema);
  } catch {
    throw chainError(index, 'is not a rotation certificate');
  }
  if (header.kid !== current.kid) throw chainError(index, 'is not signed by the previous key');
  const verificationKey = await importVerificationKey(current);
  let payload: unknown;
  try {
    ({ payload } = await jwtVerify(certificate, verificationKey.publicKey, {
      algorithms: [SIGNING_ALGORITHM],
      typ: ROTATION_TYP,
      issuer,
      requiredClaims: ['iss', 'iat'],
    }));
  } catch (error) {
    const mapped = joseErrorToFederationError(error);
    throw chainError(
      index,
      mapped.code === 'INVALID_SIGNATURE' ? 'has a signature that does not verify' : mapped.message,
    );
  }
  const parsed = RotationCertificateClaimsSchema.safeParse(payload);
  if (!parsed.success) throw chainError(index, 'has malformed claims');
  if (parsed.data.prevKid !== current.kid) throw chainError(index, 'does not follow the previous key');
  if ((await computeKid(parsed.data.newKey)) !== parsed.data.newKey.kid) {
    throw chainError(index, 'introduces a key whose kid is not its thumbprint');
  }
  return parsed.data;
}

function chainError(index: number, reason: string): FederationError {
  return new FederationError('UNKNOWN_KEY', `rotation certificate ${index} ${reason}`);
}

function tryDecodeClaims(certificate: string): Record<string, unknown> | undefined {
  try {
    return decodeUnverifiedClaims(certificate);
  } catch {
    return undefined;
  }
}
