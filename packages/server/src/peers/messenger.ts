// Sends this instance's messages to peers: signed with the current key (or, for a
// rotation announcement, the previous one), answers verified with the peer's pinned keys.
import { isFederationError, type KeyResolver, type OutgoingMessage, type SigningKey } from '@mosaic-fed/core';
import { inSpan, SpanKind } from '@mosaic-fed/sdk/tracing';
import { sendMessage } from '@mosaic-fed/sdk';
import type { InstanceService } from '../instance/service.js';
import type { ConnectionRecord, ConnectionStore } from '../stores/types.js';
import type { PeerKeyring } from './keyring.js';

/** Where a message goes and how its answer is verified. */
export interface PeerTarget {
  peerInstanceId: string;
  peerUrl: string;
  resolveKey: KeyResolver;
  /** The connection it is sent over, whose record notes a peer that paused it. */
  connection?: Pick<ConnectionRecord, 'id' | 'peerPausedAt'> | undefined;
}

/** A message as a service writes it: the envelope is filled in by the messenger. */
export type MessageBody = OutgoingMessage extends infer M
  ? M extends unknown
    ? Omit<M, 'iss' | 'aud' | 'jti'>
    : never
  : never;

export interface PeerMessengerOptions {
  instance: InstanceService;
  keyring: PeerKeyring;
  fetch: typeof fetch;
  now: () => Date;
  generateId: () => string;
  /** Where a peer's `CONNECTION_NOT_ACTIVE` is noted on its connection. */
  connections?: ConnectionStore | undefined;
  /** Retries of a lost answer, with the same jti. Default 2. */
  retries?: number;
  backoffMs?: number;
}

export class PeerMessenger {
  readonly #options: PeerMessengerOptions;

  constructor(options: PeerMessengerOptions) {
    this.#options = options;
  }

  /** The target of a connected peer; its answers are verified with the pinned keys. */
  target(connection: ConnectionRecord): PeerTarget {
    return {
      peerInstanceId: connection.peerInstanceId,
      peerUrl: connection.peerUrl,
      resolveKey: this.#options.keyring.resolverFor(connection),
      connection,
    };
  }

  /** Sends a message and returns the `data` of the peer's successful RESPONSE. */
  async send(
    target: PeerTarget,
    body: MessageBody,
    options: { jti?: string; signingKey?: SigningKey; signal?: AbortSignal; retries?: number; timeoutMs?: number } = {},
  ): Promise<unknown> {
    const { instance, generateId } = this.#options;
    const record = await instance.load();
    const message = {
      ...body,
      iss: record.instanceId,
      aud: target.peerInstanceId,
      jti: options.jti ?? generateId(),
    } as OutgoingMessage;
    const signingKey = options.signingKey ?? (await instance.signingKey());
    // The message's span is its request's parent: the peer's spans continue it (sendMessage
    // sends the active trace along).
    const type = 'commandType' in message ? message.commandType : 'queryType' in message ? message.queryType : 'eventType' in message ? message.eventType : undefined;
    const attributes = { 'mosaic_fed.message.kind': message.kind, 'mosaic_fed.peer.instance_id': target.peerInstanceId, ...(type === undefined ? {} : { 'mosaic_fed.message.type': type }) };
    return inSpan(`send ${message.kind}${type === undefined ? '' : ` ${type}`}`, { kind: SpanKind.CLIENT, attributes }, () => this.#send(target, message, signingKey, record.instanceId, options));
  }

  async #send(
    target: PeerTarget,
    message: OutgoingMessage,
    signingKey: SigningKey,
    selfId: string,
    options: { signal?: AbortSignal; retries?: number; timeoutMs?: number },
  ): Promise<unknown> {
    const { fetch, now, generateId } = this.#options;
    const sent = sendMessage(message, {
      url: target.peerUrl,
      selfId,
      signingKey,
      resolveKey: target.resolveKey,
      fetch,
      now,
      generateId,
      ...((options.retries ?? this.#options.retries) === undefined ? {} : { retries: options.retries ?? this.#options.retries }),
      ...(options.timeoutMs === undefined ? {} : { timeoutMs: options.timeoutMs }),
      ...(this.#options.backoffMs === undefined ? {} : { backoffMs: this.#options.backoffMs }),
      ...(options.signal === undefined ? {} : { signal: options.signal }),
    });
    return this.#noting(target, sent);
  }

  /**
   * Notes on the connection what the peer's answer says of it: an answer is a sighting of
   * the peer; a peer that refuses the message as not active has paused or ended the
   * connection on its side (PROTOCOL 3 lets it do so without a word); the next message it
   * takes clears that.
   */
  async #noting(target: PeerTarget, sent: Promise<unknown>): Promise<unknown> {
    const { connection } = target;
    const store = this.#options.connections;
    if (connection === undefined || store === undefined) return sent;
    try {
      const data = await sent;
      await store.markPeerSeen(connection.id, this.#options.now().toISOString()).catch(() => undefined);
      if (connection.peerPausedAt !== undefined) await store.markPeerPaused(connection.id, null).catch(() => undefined);
      return data;
    } catch (error) {
      if (isFederationError(error) && error.code === 'CONNECTION_NOT_ACTIVE') {
        await store.markPeerPaused(connection.id, this.#options.now().toISOString()).catch(() => undefined);
      }
      throw error;
    }
  }
}
