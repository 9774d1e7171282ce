// The durable outbox (PROTOCOL 5, "Events back to the hub"): events are stored first and
// delivered at least once, retried with exponential backoff (or when the peer says)
// until 48 hours have passed, unless the peer refuses them for good. Every attempt of one
// entry is the same logical message (its id is the jti), so the receiver's message log
// drops duplicates. Entries of other kinds (A2A push notifications) have deliverers of
// their own, with the same retries and order.
import { backoffMs, isFederationError, type ErrorCode } from '@mosaic-fed/core';
import { BackgroundLoop } from '../lib/background.js';
import { describeError, type Logger } from '../logger.js';
import type { FederationStores, OutboxEntry } from '../stores/types.js';
import type { PeerMessenger } from '../peers/messenger.js';

/** Answers that no retry will change: the event is not the peer's, or not acceptable to it. */
const FINAL_REFUSALS: ReadonlySet<ErrorCode> = new Set(['NOT_FOUND', 'FORBIDDEN', 'VALIDATION_FAILED', 'MALFORMED_MESSAGE', 'CAPABILITY_DISABLED']);

/**
 * A hub records the agent it spawned once the spoke's answer reaches it, and one whose
 * answer was lost only when it sends the spawn again (PROTOCOL 6: at its start, else
 * within a minute), so an agent's events can arrive before the hub knows it: `NOT_FOUND`
 * is final only after this many attempts (a minute or two of backoff).
 */
const NOT_FOUND_ATTEMPTS = 8;

export interface OutboxOptions {
  stores: FederationStores;
  messenger: PeerMessenger;
  now: () => Date;
  generateId: () => string;
  logger: Logger;
  /** First retry delay; doubles per attempt up to `maxBackoffMs`. Default 1 s. */
  initialBackoffMs?: number;
  /** Default 10 minutes. */
  maxBackoffMs?: number;
  /** How long an entry is retried. Default 48 hours (PROTOCOL 5: at least 24). */
  retentionMs?: number;
  /** How often the outbox looks for due entries when nothing wakes it. Default 1 s. */
  pollIntervalMs?: number;
}

/**
 * Thrown by a deliverer when the receiver refused an entry for good: it is given up at
 * once, so the entries after it in its order go out.
 */
export class DeliveryRefused extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DeliveryRefused';
  }
}

/** A failure a deliverer saw, with when the receiver said to come back, in seconds. */
export class DeliveryDeferred extends Error {
  constructor(
    message: string,
    readonly retryAfter: number | undefined,
  ) {
    super(message);
    this.name = 'DeliveryDeferred';
  }
}

/** Whom an entry is for: a connection's peer (or, for a deliverer of its own, whatever it names). */
export interface OutboxTarget {
  connectionId: string;
  peerInstanceId: string;
}

/** Delivers one entry of its event type somewhere other than a peer; throws to retry. */
export type OutboxDeliverer = (entry: OutboxEntry) => Promise<void>;

export class Outbox {
  readonly #o: OutboxOptions;
  readonly #loop: BackgroundLoop<number>;
  readonly #deliverers = new Map<string, OutboxDeliverer>();

  constructor(options: OutboxOptions) {
    this.#o = options;
    this.#loop = new BackgroundLoop(() => this.#pass(), {
      intervalMs: options.pollIntervalMs ?? 1_000,
      onError: (error) => options.logger.warn('could not look for events to deliver; will try again', describeError(error)),
    });
  }

  /**
   * Stores an event for a peer and wakes the deliverer. Events with the same `orderKey`
   * (an agent's) are delivered in the order they were stored.
   */
  async enqueue(target: OutboxTarget, eventType: string, payload: unknown, orderKey: string | null = null): Promise<void> {
    await this.#o.stores.outbox.enqueue(this.entry(target, eventType, payload, orderKey));
    this.wake();
  }

  /**
   * An entry as {@link enqueue} stores it, for a store that writes it in one step with the
   * change it tells of (an agent's status); {@link wake} the deliverer once it is stored.
   */
  entry(target: OutboxTarget, eventType: string, payload: unknown, orderKey: string | null = null): OutboxEntry {
    const now = this.#o.now().getTime();
    return {
      id: this.#o.generateId(),
      ...target,
      orderKey,
      eventType,
      payload,
      attempts: 0,
      nextAttemptAt: now,
      giveUpAt: now + (this.#o.retentionMs ?? 48 * 3_600_000),
      createdAt: now,
      deliveredAt: null,
      lastError: null,
    };
  }

  /**
   * Delivers entries of `eventType` with `deliver` instead of as an EVENT to the
   * connection's peer (A2A push notifications, say), with the same retries and order.
   */
  deliverWith(eventType: string, deliver: OutboxDeliverer): void {
    this.#deliverers.set(eventType, deliver);
  }

  /** Delivers what is due now; returns how many entries were delivered. One pass at a time. */
  deliverDue(): Promise<number> {
    return this.#loop.runNow();
  }

  /** Starts delivering in the background. */
  start(): void {
    this.#loop.start();
  }

  /** Stops the background delivery; entries stay stored for the next start. */
  stop(): Promise<void> {
    return this.#loop.stop();
  }

  /** Asks for a delivery pass soon (after an enqueue). */
  wake(): void {
    this.#loop.wake();
  }

  async #pass(): Promise<number> {
    // An entry delivered makes the next of its order due: look again, a few rounds a pass.
    let delivered = 0;
    for (let round = 0; round < 10; round++) {
      const now = this.#o.now().getTime();
      const inRound = await this.#deliver(await this.#o.stores.outbox.due(now, 50));
      delivered += inRound;
      if (inRound === 0) break;
    }
    return delivered;
  }

  async #deliver(due: OutboxEntry[]): Promise<number> {
    const { stores, logger } = this.#o;
    let delivered = 0;
    for (const entry of due) {
      try {
        await (this.#deliverers.get(entry.eventType) ?? this.#toPeer)(entry);
        await stores.outbox.markDelivered(entry.id, this.#o.now().getTime());
        delivered++;
      } catch (error) {
        const attempts = entry.attempts + 1;
        const reason = describeError(error);
        const lastError = String(reason.reason ?? reason.error);
        const final =
          error instanceof DeliveryRefused ||
          (isFederationError(error) && FINAL_REFUSALS.has(error.code) && (error.code !== 'NOT_FOUND' || attempts >= NOT_FOUND_ATTEMPTS));
        if (final) {
          // The peer will refuse this event however often it is sent: give it up now, so
          // that the events after it in its order go out.
          const now = this.#o.now().getTime();
          await stores.outbox.reschedule(entry.id, attempts, now, lastError, now);
          logger.warn('an event was refused for good; it will not be sent again', { outboxId: entry.id, eventType: entry.eventType, ...reason });
          continue;
        }
        // A peer that says when to come back (RATE_LIMITED, MESSAGE_IN_PROGRESS) is taken at
        // its word; otherwise exponential, with jitter (half to all of it) so that what a
        // returning hub receives is spread out.
        const jittered = backoffMs(attempts, { initialMs: this.#o.initialBackoffMs ?? 1_000, maxMs: this.#o.maxBackoffMs ?? 600_000 });
        const retryAfter = isFederationError(error) || error instanceof DeliveryDeferred ? error.retryAfter : undefined;
        const backoff = retryAfter !== undefined ? retryAfter * 1_000 : jittered;
        await stores.outbox.reschedule(entry.id, attempts, this.#o.now().getTime() + backoff, lastError);
        logger.warn('event delivery failed; will retry', { outboxId: entry.id, attempts, backoffMs: backoff, ...reason });
      }
    }
    return delivered;
  }

  /** An EVENT to the entry's peer, signed, with the entry's id as its jti. */
  readonly #toPeer: OutboxDeliverer = async (entry) => {
    const { stores, messenger } = this.#o;
    const connection = await stores.connections.get(entry.connectionId);
    if (connection === undefined || connection.status !== 'ACTIVE') {
      throw new Error(`the connection is ${connection?.status ?? 'gone'}`);
    }
    await messenger.send(messenger.target(connection), { kind: 'EVENT', eventType: entry.eventType, payload: entry.payload }, { jti: entry.id });
  };
}
