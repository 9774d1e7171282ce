import { AgentStatusChangedPayloadSchema, describeError, silentLogger, type Logger } from '@mosaic-fed/core';
import type { AgentEventListener, EventBus } from '@mosaic-fed/server';
import type { Redis } from 'ioredis';
import { keyPrefix, reaching, type ValkeyOptions } from './shared.js';

export interface ValkeyEventBusOptions extends ValkeyOptions {
  logger?: Logger;
}

/**
 * Agent status events over Valkey pub/sub, so an event stream on any replica sees what
 * arrived at any other. Subscribes on a second connection of its own (a subscribed
 * connection can do nothing else), one channel per watched agent.
 */
export class ValkeyEventBus implements EventBus {
  readonly #redis: Redis;
  readonly #prefix: string;
  readonly #logger: Logger;
  readonly #listeners = new Map<string, Set<AgentEventListener>>();
  #subscriber: Redis | undefined;

  constructor(options: ValkeyEventBusOptions) {
    this.#redis = options.redis;
    this.#prefix = keyPrefix(options, 'events');
    this.#logger = options.logger ?? silentLogger;
  }

  async publish(agentId: string, event: Parameters<AgentEventListener>[0]): Promise<void> {
    await reaching(() => this.#redis.publish(`${this.#prefix}${agentId}`, JSON.stringify(event)));
  }

  subscribe(agentId: string, listener: AgentEventListener): () => void {
    const channel = `${this.#prefix}${agentId}`;
    const subscriber = this.#connection();
    let listeners = this.#listeners.get(channel);
    if (listeners === undefined) {
      listeners = new Set();
      this.#listeners.set(channel, listeners);
      subscriber.subscribe(channel).catch((error: unknown) => this.#logger.warn('could not subscribe to agent events', { agentId, ...describeError(error) }));
    }
    listeners.add(listener);
    return () => {
      listeners.delete(listener);
      if (listeners.size === 0 && this.#listeners.get(channel) === listeners) {
        this.#listeners.delete(channel);
        subscriber.unsubscribe(channel).catch(() => undefined);
      }
    };
  }

  /** Closes the subscribing connection. */
  async close(): Promise<void> {
    this.#subscriber?.disconnect();
    this.#subscriber = undefined;
  }

  #connection(): Redis {
    if (this.#subscriber !== undefined) return this.#subscriber;
    // Its own connection, which waits for Valkey rather than fail while it is away, and
    // subscribes again by itself after a reconnect.
    const subscriber = this.#redis.duplicate({ lazyConnect: false, enableOfflineQueue: true });
    subscriber.on('message', (channel: string, message: string) => {
      const listeners = this.#listeners.get(channel);
      if (listeners === undefined) return;
      const event = AgentStatusChangedPayloadSchema.safeParse(JSON.parse(message));
      if (!event.success) return;
      for (const listener of [...listeners]) listener(event.data);
    });
    subscriber.on('error', (error: unknown) => this.#logger.warn('the agent event subscription failed', describeError(error)));
    this.#subscriber = subscriber;
    return subscriber;
  }
}
