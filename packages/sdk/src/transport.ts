// One signed exchange with a peer (PROTOCOL 2): sign, POST as application/jwt, verify the
// signed RESPONSE against the peer's pinned keys, and turn a failure into a
// FederationError with the protocol code. Retries reuse the jti, so a retry after a lost
// response never executes twice on the peer.
import {
  backoffMs,
  FederationError,
  importVerificationKey,
  isFederationError,
  signMessage,
  verifyMessage,
  type FederationMessage,
  type KeyResolver,
  type OutgoingMessage,
  type PublicJwk,
  type SigningKey,
  type VerificationKey,
  WireErrorSchema,
} from '@mosaic-fed/core';
import { retryAfterOf } from './lib/parse.js';
import { sleep } from './lib/sleep.js';
import { traceHeaders } from './tracing.js';

/** The receiving endpoint of each message kind (PROTOCOL 2). */
export function endpointFor(kind: FederationMessage['kind']): string {
  switch (kind) {
    case 'CONNECT':
    case 'CONNECT_ACCEPT':
    case 'CONNECT_REJECT':
    case 'DISCONNECT':
      return '/api/v1/federation/incoming/connect';
    case 'COMMAND':
      return '/api/v1/federation/incoming/command';
    case 'QUERY':
      return '/api/v1/federation/incoming/query';
    case 'EVENT':
      return '/api/v1/federation/incoming/event';
    case 'RESPONSE':
      throw new TypeError('a RESPONSE is never sent on its own');
  }
}

/** How to retry an exchange whose answer was lost or not yet ready. */
export interface RetryOptions {
  /** Further attempts after the first. Default 2. */
  retries?: number;
  /** First backoff in milliseconds, doubled each time. Default 200. */
  backoffMs?: number;
}

/** Options for {@link sendMessage}. */
export interface SendMessageOptions extends RetryOptions {
  /** The peer's base URL. */
  url: string;
  /** Signs the message: this instance's current key. */
  signingKey: SigningKey;
  /**
   * Chooses the key that verifies the peer's RESPONSE. The peer's instance id must be
   * the `instanceId` the resolver answers with.
   */
  resolveKey: KeyResolver;
  /** This instance's id: the RESPONSE's audience. */
  selfId: string;
  fetch?: typeof fetch;
  now?: () => Date;
  /** Per-attempt timeout in milliseconds. Default 15,000. */
  timeoutMs?: number;
  /** Aborts the exchange, including waits between attempts. */
  signal?: AbortSignal;
  /** Generates the jti when the message has none. */
  generateId?: () => string;
}

const RETRYABLE_STATUS = new Set([502, 503, 504]);

/**
 * Sends one message and returns the `data` of the peer's successful RESPONSE. Throws a
 * {@link FederationError}: the peer's own code when it answered with a failure, or the
 * code of whatever went wrong on the way (`UNKNOWN_KEY` for a reply signed with a key we
 * do not trust, `MALFORMED_MESSAGE` for a reply that is not one, `PEER_UNAVAILABLE` when
 * the peer cannot be reached after the retries, or what answered is not a peer).
 */
export async function sendMessage(message: OutgoingMessage, options: SendMessageOptions): Promise<unknown> {
  const jti = message.jti ?? (options.generateId ?? (() => crypto.randomUUID()))();
  const retries = options.retries ?? 2;
  const firstBackoffMs = options.backoffMs ?? 200;
  const target = new URL(endpointFor(message.kind), options.url).toString();
  let last: Outcome | undefined;
  for (let attempt = 0; attempt <= retries; attempt++) {
    if (last !== undefined && !last.ok) {
      const wait = last.error.retryAfter === undefined ? backoffMs(attempt, { initialMs: firstBackoffMs, maxMs: 30_000 }) : last.error.retryAfter * 1000;
      await sleep(wait, options.signal);
    }
    // Signed again on every attempt: fresh iat/exp, the same jti and content.
    const token = await signMessage({ ...message, jti }, options.signingKey, {
      ...(options.now === undefined ? {} : { now: options.now }),
    });
    last = await exchangeOnce(target, token, jti, options);
    if (last.ok) return last.data;
    if (!last.retry || options.signal?.aborted === true) break;
  }
  throw last !== undefined && !last.ok ? last.error : new FederationError('INTERNAL', 'the exchange did not happen');
}

/** One attempt's outcome; `retry` marks failures a retry with the same jti may cure. */
type Outcome = { ok: true; data: unknown } | { ok: false; error: FederationError; retry: boolean };

async function exchangeOnce(
  target: string,
  token: string,
  jti: string,
  options: SendMessageOptions,
): Promise<Outcome> {
  const timeout = AbortSignal.timeout(options.timeoutMs ?? 15_000);
  const signal = options.signal === undefined ? timeout : AbortSignal.any([timeout, options.signal]);
  let response: Response;
  let body: string;
  try {
    response = await (options.fetch ?? fetch)(target, {
      method: 'POST',
      // The active trace, if any, goes on at the peer (outside the signature: it proves nothing).
      headers: { 'Content-Type': 'application/jwt', Accept: 'application/jwt, application/json', ...traceHeaders() },
      body: token,
      signal,
    });
    body = await response.text();
  } catch (error) {
    // Lost on the way: safe to retry, the jti does not change.
    return { ok: false, error: unreachable(error), retry: true };
  }
  const retryAfter = retryAfterOf(response);
  if (!(response.headers.get('content-type') ?? '').startsWith('application/jwt')) {
    // PROTOCOL 2: a message that failed authentication is answered in plain JSON. Anything
    // else did not come from a peer: it gets the same answer as no answer at all, so that
    // what answers at an address cannot be told apart (PROTOCOL 3, "Outbound requests").
    const wire = WireErrorSchema.safeParse(parseJson(body));
    if (!wire.success) return { ok: false, error: unreachable(), retry: RETRYABLE_STATUS.has(response.status) };
    return { ok: false, error: FederationError.fromWire(wire.data, response.status, { retryAfter }), retry: RETRYABLE_STATUS.has(response.status) };
  }
  let reply: FederationMessage;
  try {
    ({ message: reply } = await verifyMessage(body, {
      audience: options.selfId,
      resolveKey: options.resolveKey,
      ...(options.now === undefined ? {} : { now: options.now }),
    }));
  } catch (error) {
    if (isFederationError(error)) return { ok: false, error, retry: false };
    throw error;
  }
  if (reply.kind !== 'RESPONSE' || reply.inReplyTo !== jti) {
    const error = new FederationError('MALFORMED_MESSAGE', 'the peer answered with something other than the response to this message');
    return { ok: false, error, retry: false };
  }
  if (reply.success) return { ok: true, data: reply.data };
  const { code, error: text, details, data } = reply;
  const error = FederationError.fromWire({ success: false, code, error: text, details, data }, response.status, { retryAfter });
  // The same message still executing on the peer: ask again after Retry-After.
  return { ok: false, error, retry: reply.code === 'MESSAGE_IN_PROGRESS' };
}

/** The one answer for a peer that could not be reached, whatever the reason (kept as the cause). */
function unreachable(cause?: unknown): FederationError {
  return new FederationError('PEER_UNAVAILABLE', 'the peer could not be reached', cause === undefined ? {} : { cause });
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

/**
 * A key resolver over a fixed set of a peer's public keys, imported once.
 *
 * @example
 * ```ts
 * const resolveKey = await pinnedKeys(peer.instanceId, peerDocument.keys);
 * ```
 */
export async function pinnedKeys(instanceId: string, keys: readonly PublicJwk[]): Promise<KeyResolver> {
  const imported = new Map<string, VerificationKey>();
  for (const jwk of keys) imported.set(jwk.kid, await importVerificationKey(jwk));
  return ({ kid }) => {
    const key = imported.get(kid);
    return key === undefined ? undefined : { key, instanceId };
  };
}
