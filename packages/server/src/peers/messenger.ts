// Sends this instance's messages to peers: signed with the current key (or, for a
// rotation announcement, the previous one), answers verified with the peer's pinned keys.
import type { KeyResolver, OutgoingMessage, SigningKey } from '@mosaic-fed/core';
import { sendMessage } from '@mosaic-fed/sdk';
import type { InstanceService } from '../instance/service.js';
import type { ConnectionRecord } from '../stores/types.js';
import type { PeerKeyring } from './keyring.js';

/** Where a message goes and how its answer is verified. */
export interface PeerTarget {
  peerInstanceId: string;
  peerUrl: string;
  resolveKey: KeyResolver;
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
    };
  }

  /** Sends a message and returns the `data` of the peer's successful RESPONSE. */
  async send(
    target: PeerTarget,
    body: MessageBody,
    options: { jti?: string; signingKey?: SigningKey; signal?: AbortSignal; retries?: number; timeoutMs?: number } = {},
  ): Promise<unknown> {
    const { instance, fetch, now, generateId } = this.#options;
    const record = await instance.load();
    const message = {
      ...body,
      iss: record.instanceId,
      aud: target.peerInstanceId,
      jti: options.jti ?? generateId(),
    } as OutgoingMessage;
    return sendMessage(message, {
      url: target.peerUrl,
      selfId: record.instanceId,
      signingKey: options.signingKey ?? (await instance.signingKey()),
      resolveKey: target.resolveKey,
      fetch,
      now,
      generateId,
      ...((options.retries ?? this.#options.retries) === undefined ? {} : { retries: options.retries ?? this.#options.retries }),
      ...(options.timeoutMs === undefined ? {} : { timeoutMs: options.timeoutMs }),
      ...(this.#options.backoffMs === undefined ? {} : { backoffMs: this.#options.backoffMs }),
      ...(options.signal === undefined ? {} : { signal: options.signal }),
    });
  }
}
