// The four receiving endpoints (PROTOCOL 2). The order is the protocol's: verify the
// message (plain JSON errors, nothing stored), then, answering with signed RESPONSEs:
// the endpoint, the connection's state, its message rate, the message log claim (replay
// and idempotency as one mechanism), and only then execution.
import {
  ERROR_STATUS,
  FederationError,
  InstanceDocumentSchema,
  isFederationError,
  LIMITS,
  messageContentHash,
  parseOrThrow,
  signMessage,
  verifyMessage,
  type FederationMessage,
  type KeyResolver,
} from '@mosaic-fed/core';
import { Hono } from 'hono';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import { unavailableError } from '../lib/unavailable.js';
import type { ConnectionService } from '../connections/service.js';
import type { InstanceService } from '../instance/service.js';
import { describeError, type Logger } from '../logger.js';
import type { ClaimOutcome, ConnectionRecord, FederationStores, StoredReply } from '../stores/types.js';
import type { PeerKeyring } from '../peers/keyring.js';
import type { RateLimiter } from '../replicas/rate-limiter.js';
import type { MessageRouter } from './router.js';
import { notify, type FederationObserver } from '../observer.js';

export interface IncomingOptions {
  instance: InstanceService;
  stores: FederationStores;
  keyring: PeerKeyring;
  router: MessageRouter;
  connections: ConnectionService;
  rateLimiter: RateLimiter;
  now: () => Date;
  logger: Logger;
  observer?: FederationObserver | undefined;
}

const ENDPOINT_KINDS: Record<string, readonly FederationMessage['kind'][]> = {
  connect: ['CONNECT', 'CONNECT_ACCEPT', 'CONNECT_REJECT', 'DISCONNECT'],
  command: ['COMMAND'],
  query: ['QUERY'],
  event: ['EVENT'],
};

interface Outcome {
  reply: StoredReply;
  retryAfter?: number | undefined;
}

/** A message a peer sends over its connection (as opposed to the connection messages themselves). */
function fromPeer(message: FederationMessage): message is Extract<FederationMessage, { kind: 'COMMAND' | 'QUERY' | 'EVENT' }> {
  return message.kind === 'COMMAND' || message.kind === 'QUERY' || message.kind === 'EVENT';
}

/** The answer to a message the log knew already (PROTOCOL 2). */
/** What the log keeps for a message whose answer is run again rather than kept. */
const ANSWERED: StoredReply = { success: true, data: null };

function answered(claim: Exclude<ClaimOutcome, { outcome: 'claimed' }>): Outcome {
  switch (claim.outcome) {
    case 'completed':
      return { reply: claim.reply };
    case 'conflict':
      return failure(new FederationError('MESSAGE_ID_CONFLICT', 'this jti was used for a different message'));
    case 'in-progress':
      return failure(new FederationError('MESSAGE_IN_PROGRESS', 'this message is still being executed', { retryAfter: 1 }));
  }
}

function failure(error: FederationError): Outcome {
  return {
    reply: {
      success: false,
      error: error.message,
      code: error.code,
      ...(error.details === undefined ? {} : { details: error.details }),
      ...(error.data === undefined ? {} : { data: error.data }),
    },
    retryAfter: error.retryAfter,
  };
}

export function incomingRoutes(o: IncomingOptions): Hono {
  // CONNECT is trust on first use (PROTOCOL 3, step 1): verified with a key of the
  // sender's own document, unless a live connection already pins its keys.
  const resolveConnect: KeyResolver = async (lookup) => {
    const issuer = typeof lookup.unverified.iss === 'string' ? lookup.unverified.iss : undefined;
    if (lookup.unverified.kind !== 'CONNECT' || issuer === undefined) return o.keyring.resolveIncoming(lookup);
    const pinned = await o.connections.pinnedConnection(issuer);
    if (pinned !== undefined) return o.keyring.resolverFor(pinned)(lookup);
    // PROTOCOL 2: a document with an unusable key (not an Ed25519 `sig` key, or one with
    // `d`) or of another protocol is VALIDATION_FAILED, not an unknown key.
    const document = parseOrThrow(InstanceDocumentSchema, lookup.unverified.payload, 'the CONNECT payload (an instance document)');
    if (document.instanceId !== issuer) return undefined;
    const jwk = document.keys.find((key) => key.kid === lookup.kid);
    return jwk === undefined ? undefined : { key: await o.keyring.import(jwk), instanceId: issuer };
  };

  async function execute(message: FederationMessage, connection: ConnectionRecord | undefined, kid: string): Promise<StoredReply> {
    return { success: true, data: (await run(message, connection, kid)) ?? null };
  }

  async function run(message: FederationMessage, connection: ConnectionRecord | undefined, kid: string): Promise<unknown> {
    switch (message.kind) {
      case 'CONNECT':
      case 'CONNECT_ACCEPT':
      case 'CONNECT_REJECT':
      case 'DISCONNECT':
        return o.connections.handleIncoming(message, kid);
      case 'COMMAND':
      case 'QUERY':
      case 'EVENT': {
        if (connection === undefined) throw new FederationError('UNKNOWN_INSTANCE', 'no connection with the sender');
        const { capabilities } = await o.instance.load();
        return o.router.dispatch(message, connection, capabilities);
      }
      case 'RESPONSE':
        throw new FederationError('MALFORMED_MESSAGE', 'a RESPONSE is only ever an answer');
    }
  }

  /**
   * Answers a verified message (`kid`: the key that verified it). One the peer's connection
   * took is a sighting of the peer; a refused one writes nothing at all.
   */
  async function process(message: FederationMessage, endpoint: string, found: ConnectionRecord | undefined, kid: string): Promise<Outcome> {
    if (!(ENDPOINT_KINDS[endpoint] ?? []).includes(message.kind)) {
      return failure(new FederationError('MALFORMED_MESSAGE', `${message.kind} does not belong at /incoming/${endpoint}`));
    }
    const now = o.now();
    // The sender's connection as read while its key was resolved (once per message).
    const connection = fromPeer(message) ? (found ?? (await o.stores.connections.getByPeer(message.iss))) : undefined;
    const outcome = await answer(message, connection, now, kid);
    if (connection !== undefined && outcome.reply.success) {
      await o.stores.connections.markPeerSeen(connection.id, now.toISOString()).catch(() => undefined);
    }
    return outcome;
  }

  async function answer(message: FederationMessage, connection: ConnectionRecord | undefined, now: Date, kid: string): Promise<Outcome> {
    if (fromPeer(message)) {
      if (connection?.status !== 'ACTIVE') {
        return failure(new FederationError('CONNECTION_NOT_ACTIVE', `the connection is ${connection?.status ?? 'unknown'}`));
      }
      const rate = await o.rateLimiter.hit(`messages:${connection.id}`, connection.grants.messagesPerMinute, now);
      if (!rate.allowed) {
        return failure(
          new FederationError('RATE_LIMITED', 'the connection sent its allowance of messages for this minute', {
            retryAfter: rate.retryAfter,
          }),
        );
      }
    }
    const claim = {
      issuer: message.iss,
      jti: message.jti,
      hash: messageContentHash(message),
      now,
      expiresAt: new Date(now.getTime() + LIMITS.messageLogRetentionSeconds * 1000),
    };
    if (fromPeer(message) && o.router.safeToRepeat(message)) {
      // Nothing to protect from running twice: run it, then log it with its answer in one
      // write. A copy that arrives meanwhile runs as well and gets the logged answer. A
      // failure is not logged (as a released claim is not), but a jti the log knows is
      // answered from it, as if the claim had come first.
      let reply: StoredReply;
      try {
        reply = await execute(message, connection, kid);
      } catch (error) {
        const known = await o.stores.messageLog.claim(claim);
        if (known.outcome === 'completed' && o.router.answersAgain(message)) return failed(error, message);
        if (known.outcome !== 'claimed') return answered(known);
        await o.stores.messageLog.release(message.iss, message.jti);
        return failed(error, message);
      }
      // An answer that never changes is not kept: a copy is answered by running it again,
      // which gives the same answer (a bundle's chunks would fill the log otherwise).
      const again = o.router.answersAgain(message);
      const logged = await o.stores.messageLog.claim({ ...claim, reply: again ? ANSWERED : reply });
      return logged.outcome === 'claimed' || (again && logged.outcome === 'completed') ? { reply } : answered(logged);
    }
    // PROTOCOL 2: claim (iss, jti) atomically before anything executes.
    const claimed = await o.stores.messageLog.claim(claim);
    if (claimed.outcome !== 'claimed') return answered(claimed);
    try {
      const reply = await execute(message, connection, kid);
      await o.stores.messageLog.complete(message.iss, message.jti, reply);
      return { reply };
    } catch (error) {
      // A failed message executed nothing: forget the claim, so that a retry (after a
      // grant changes, the orchestrator returns, a place frees up) runs it afresh.
      await o.stores.messageLog.release(message.iss, message.jti);
      return failed(error, message);
    }
  }

  function failed(error: unknown, message: FederationMessage): Outcome {
    if (isFederationError(error)) return failure(error);
    const passing = unavailableError(error);
    if (passing !== undefined) {
      o.logger.warn('a store is unavailable', { kind: message.kind, ...describeError(error) });
      return failure(passing);
    }
    o.logger.error('a message failed unexpectedly', { kind: message.kind, ...describeError(error) });
    return failure(new FederationError('INTERNAL', 'something went wrong on this instance; the details are in its log'));
  }

  return new Hono().post('/:endpoint', async (c) => {
    const endpoint = c.req.param('endpoint');
    if (ENDPOINT_KINDS[endpoint] === undefined) throw new FederationError('NOT_FOUND', 'there is no such endpoint');
    const self = await o.instance.load();
    let message: FederationMessage;
    let kid: string;
    let connection: ConnectionRecord | undefined;
    try {
      ({ message, key: { kid } } = await verifyMessage(await c.req.text(), {
        audience: self.instanceId,
        resolveKey: endpoint === 'connect' ? resolveConnect : o.keyring.incomingResolver((found) => (connection = found)),
        now: o.now,
      }));
    } catch (error) {
      // PROTOCOL 2: plain JSON, nothing executed or stored; the app's error handler answers.
      o.logger.warn('refused an unauthenticated message', { endpoint, ...describeError(error) });
      notify(o.observer?.verificationFailure, isFederationError(error) ? error.code : 'INTERNAL');
      throw error;
    }
    const { reply, retryAfter } = await process(message, endpoint, connection, kid);
    const token = await signMessage(
      { kind: 'RESPONSE', iss: self.instanceId, aud: message.iss, inReplyTo: message.jti, ...reply },
      await o.instance.signingKey(),
      { now: o.now },
    );
    const status = (reply.success ? 200 : ERROR_STATUS[reply.code]) as ContentfulStatusCode;
    return c.body(token, status, {
      'Content-Type': 'application/jwt',
      ...(retryAfter === undefined ? {} : { 'Retry-After': String(retryAfter) }),
    });
  });
}
