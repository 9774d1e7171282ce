import { jwtVerify, type JWTPayload } from 'jose';
import type { z } from 'zod';
import { assertJsonDepth, FederationError, parseOrThrow, toValidationIssues } from './errors.js';
import type { SigningKey, VerificationKey } from './keys.js';
import { SIGNING_ALGORITHM } from './keys.js';
import { LIMITS } from './limits.js';
import {
  FederationMessageSchema,
  MESSAGE_TYP,
  MessageHeaderSchema,
  type FederationMessage,
  type MessageHeader,
  type OutgoingMessage,
} from './schemas/messages.js';
import { decodeUnverifiedClaims, joseErrorToFederationError, readProtectedHeader, signCompactJws } from './lib/jws.js';

/** Options for {@link signMessage}. */
export interface SignMessageOptions {
  /** The clock; defaults to the system clock. */
  now?: () => Date;
  /** `exp - iat` in seconds: 1 to 300 (PROTOCOL 2). Defaults to 60. */
  lifetimeSeconds?: number;
  /** Generates the `jti` when the message has none; defaults to `crypto.randomUUID`. */
  generateId?: () => string;
}

const DEFAULT_LIFETIME_SECONDS = 60;

const systemClock = () => new Date();
const toSeconds = (date: Date) => Math.floor(date.getTime() / 1000);

/**
 * Signs a message as a compact JWT with the protocol header
 * `{"alg":"EdDSA","typ":"mosaic-fed+jwt","kid":...}` (PROTOCOL 2). Sets `iat` and `exp`
 * from the clock and fills in `jti` unless the message carries one: a retry of the same
 * logical message passes its original `jti`.
 *
 * The claims are validated first, so an instance never signs a message its peers would
 * reject as malformed (`VALIDATION_FAILED`).
 *
 * @example
 * ```ts
 * const token = await signMessage(
 *   { kind: 'COMMAND', iss: me, aud: peer, commandType: 'agent.status', payload: { agentId } },
 *   signingKey,
 * );
 * ```
 */
export async function signMessage(
  message: OutgoingMessage,
  key: SigningKey,
  options: SignMessageOptions = {},
): Promise<string> {
  const lifetime = options.lifetimeSeconds ?? DEFAULT_LIFETIME_SECONDS;
  if (
    !Number.isInteger(lifetime) ||
    lifetime < 1 ||
    lifetime > LIMITS.maxMessageLifetimeSeconds
  ) {
    throw new TypeError(
      `lifetimeSeconds must be an integer from 1 to ${LIMITS.maxMessageLifetimeSeconds}`,
    );
  }
  const iat = toSeconds((options.now ?? systemClock)());
  const jti = message.jti ?? (options.generateId ?? (() => crypto.randomUUID()))();
  const claims = parseOrThrow(
    FederationMessageSchema,
    { ...message, jti, iat, exp: iat + lifetime },
    'message',
  );
  return signCompactJws({ alg: SIGNING_ALGORITHM, typ: MESSAGE_TYP, kid: key.kid }, claims, key.privateKey);
}

/**
 * What a key resolver sees: the `kid` from the protected header and the claims as
 * decoded, *before* any signature check. Use them only to choose a key.
 */
export interface KeyLookup {
  kid: string;
  unverified: JWTPayload;
}

/** A key and the instance it belongs to. The message's `iss` must be that instance. */
export interface ResolvedKey {
  key: VerificationKey;
  instanceId: string;
}

/**
 * Finds the pinned key for a message. Return `undefined` for an unknown key
 * (`UNKNOWN_KEY`), or throw a {@link FederationError} such as `UNKNOWN_INSTANCE`.
 */
export type KeyResolver = (lookup: KeyLookup) => Promise<ResolvedKey | undefined> | ResolvedKey | undefined;

/** Options for {@link verifyMessage}. */
export interface VerifyMessageOptions {
  /** This instance's id: the only accepted `aud`. */
  audience: string;
  /** Chooses the verification key; see {@link KeyResolver}. */
  resolveKey: KeyResolver;
  /** The clock; defaults to the system clock. */
  now?: () => Date;
  /** How far in the future `iat` may be, in seconds. Defaults to 60 (PROTOCOL 2). */
  maxClockSkewSeconds?: number;
}

/** A message whose signature, header, audience, times and envelope all checked out. */
export interface VerifiedMessage {
  header: MessageHeader;
  message: FederationMessage;
  /** The key that verified the signature. */
  key: VerificationKey;
}

/**
 * Verifies a message and returns its claims (PROTOCOL 2). In order: the token's shape
 * and protected header (`MALFORMED_MESSAGE`), the key (`UNKNOWN_KEY`), the signature
 * (`INVALID_SIGNATURE`), issuer and audience (`UNKNOWN_KEY`, `WRONG_AUDIENCE`), times
 * (`MESSAGE_EXPIRED`), then the claims' schema (`MALFORMED_MESSAGE`, or
 * `VALIDATION_FAILED` when only the payload is wrong). Every failure is a
 * {@link FederationError}; nothing else escapes.
 *
 * Only `EdDSA` is accepted, whatever the key or header says. Command, query and event
 * payloads are checked afterwards by the receiver against their type's schema.
 */
export async function verifyMessage(
  token: string,
  options: VerifyMessageOptions,
): Promise<VerifiedMessage> {
  // PROTOCOL 2: the header is checked before anything else is read.
  const header = readProtectedHeader(token, MessageHeaderSchema);
  const unverified = decodeUnverifiedClaims(token);
  // Before a resolver or a schema walks the claims (PROTOCOL 2: at most 64 levels).
  assertJsonDepth(unverified, 'the message');
  const resolved = await options.resolveKey({ kid: header.kid, unverified });
  if (resolved === undefined) {
    throw new FederationError('UNKNOWN_KEY', 'the signing key is not pinned for the sender');
  }
  if (resolved.key.kid !== header.kid) {
    throw new FederationError('UNKNOWN_KEY', 'the resolved key does not match the header kid');
  }
  const now = (options.now ?? systemClock)();
  let payload: JWTPayload;
  try {
    ({ payload } = await jwtVerify(token, resolved.key.publicKey, {
      algorithms: [SIGNING_ALGORITHM],
      typ: MESSAGE_TYP,
      audience: options.audience,
      issuer: resolved.instanceId,
      requiredClaims: ['jti', 'iss', 'aud', 'iat', 'exp'],
      currentDate: now,
      // `exp` must be in the receiver's future, with no tolerance (PROTOCOL 2).
      clockTolerance: 0,
    }));
  } catch (error) {
    throw joseErrorToFederationError(error);
  }
  checkTimes(payload, toSeconds(now), options.maxClockSkewSeconds ?? LIMITS.maxClockSkewSeconds);
  const parsed = FederationMessageSchema.safeParse(payload);
  if (!parsed.success) throw envelopeError(parsed.error);
  return { header, message: parsed.data, key: resolved.key };
}

function checkTimes(payload: JWTPayload, now: number, skew: number): void {
  const { iat, exp } = payload;
  if (typeof iat !== 'number' || typeof exp !== 'number') {
    throw new FederationError('MALFORMED_MESSAGE', 'iat and exp must be numeric dates');
  }
  if (iat > now + skew) {
    throw new FederationError('MESSAGE_EXPIRED', `iat is more than ${skew} s in the future`);
  }
  const lifetime = exp - iat;
  if (lifetime <= 0 || lifetime > LIMITS.maxMessageLifetimeSeconds) {
    throw new FederationError(
      'MESSAGE_EXPIRED',
      `exp - iat must be from 1 to ${LIMITS.maxMessageLifetimeSeconds} s`,
    );
  }
}

// PROTOCOL 2: a claims set that is not this protocol's is malformed; a well-formed
// envelope whose payload fails its schema is VALIDATION_FAILED with the fields listed.
function envelopeError(error: z.ZodError): FederationError {
  const details = toValidationIssues(error);
  const payloadOnly = details.every((d) => d.path === 'payload' || d.path.startsWith('payload.'));
  const fields = details.map((d) => d.path).join(', ');
  return payloadOnly
    ? new FederationError('VALIDATION_FAILED', `payload does not match its schema: ${fields}`, { details })
    : new FederationError('MALFORMED_MESSAGE', `not a message of this protocol: ${fields}`, { details });
}
