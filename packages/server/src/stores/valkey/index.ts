// What server replicas must share, in Valkey (or Redis) through ioredis: the message log
// (replay protection and idempotency, claimed atomically), the per-connection rate limits,
// and the event fan-out that feeds every replica's event streams. Each change is one Lua
// script or one command, so two replicas never both win.
import { AgentStatusChangedPayloadSchema, describeError, FederationError, silentLogger, type Logger } from '@mosaic-fed/core';
import type { Redis } from 'ioredis';
import type { Leases } from '../../federation/leases.js';
import type { AgentEventListener, EventBus } from '../../events/bus.js';
import type { RateDecision, RateLimiter } from '../../federation/rate-limiter.js';
import type { ClaimOutcome, MessageClaim, MessageLogStore, StoredReply } from '../types.js';

export interface ValkeyOptions {
  /** A connected client; these stores never close it. */
  redis: Redis;
  /** Prefix of every key and channel. Default `mosaic-fed:`. */
  prefix?: string;
}

/**
 * Runs a Valkey call; when Valkey cannot be reached, the request fails as
 * `ORCHESTRATOR_UNAVAILABLE` (503, safe to retry) rather than as an internal error.
 */
async function reaching<T>(call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    throw new FederationError('ORCHESTRATOR_UNAVAILABLE', 'the shared store (Valkey) cannot be reached', { cause: error });
  }
}

// KEYS[1]: the entry. ARGV: hash, now (ms), expiresAt (ms), lease (ms), and the reply of
// a message claimed answered (optional).
// An entry is a hash { hash, expiresAt, retention, reply? }. While it has no reply it
// lives for the lease only: a replica that died mid-execution does not leave the jti
// "in progress" for a day. A retry after the lease runs again, and the agent id derived
// from (iss, jti) keeps that from starting a second agent.
const CLAIM = `
local existing = redis.call('HMGET', KEYS[1], 'hash', 'expiresAt', 'reply')
if existing[1] == false or tonumber(existing[2]) <= tonumber(ARGV[2]) then
  local retention = math.max(1, tonumber(ARGV[3]) - tonumber(ARGV[2]))
  redis.call('DEL', KEYS[1])
  redis.call('HSET', KEYS[1], 'hash', ARGV[1], 'expiresAt', ARGV[3], 'retention', tostring(retention))
  if ARGV[5] then
    redis.call('HSET', KEYS[1], 'reply', ARGV[5])
    redis.call('PEXPIRE', KEYS[1], retention)
  else
    redis.call('PEXPIRE', KEYS[1], math.min(retention, tonumber(ARGV[4])))
  end
  return {'claimed'}
end
if existing[1] ~= ARGV[1] then return {'conflict'} end
if existing[3] == false then return {'in-progress'} end
return {'completed', existing[3]}`;

// KEYS[1]: the entry. ARGV: the reply. Stores it and keeps the entry for its full retention.
const COMPLETE = `
local retention = redis.call('HGET', KEYS[1], 'retention')
if retention == false then return 0 end
redis.call('HSET', KEYS[1], 'reply', ARGV[1])
redis.call('PEXPIRE', KEYS[1], retention)
return 1`;

// KEYS[1]: the entry. Forgets a claim that has no reply.
const RELEASE = `
if redis.call('HEXISTS', KEYS[1], 'reply') == 0 then redis.call('DEL', KEYS[1]) end
return 1`;

/** The message log (PROTOCOL 2) in Valkey: one atomic claim per `(iss, jti)`, shared by every replica. */
export class ValkeyMessageLogStore implements MessageLogStore {
  readonly #redis: Redis;
  readonly #prefix: string;
  readonly #leaseMs: number;

  constructor(options: ValkeyOptions & { /** How long a claim without a reply is kept. Default 120,000 ms. */ leaseMs?: number }) {
    this.#redis = options.redis;
    this.#prefix = `${options.prefix ?? 'mosaic-fed:'}message:`;
    this.#leaseMs = options.leaseMs ?? 120_000;
  }

  async claim(entry: MessageClaim): Promise<ClaimOutcome> {
    const [outcome, reply] = (await reaching(() =>
      this.#redis.eval(
        CLAIM,
        1,
        this.#key(entry.issuer, entry.jti),
        entry.hash,
        String(entry.now.getTime()),
        String(entry.expiresAt.getTime()),
        String(this.#leaseMs),
        ...(entry.reply === undefined ? [] : [JSON.stringify(entry.reply)]),
      ),
    )) as [string, string | undefined];
    if (outcome === 'completed') return { outcome, reply: JSON.parse(reply ?? 'null') as StoredReply };
    if (outcome === 'claimed' || outcome === 'conflict' || outcome === 'in-progress') return { outcome };
    throw new Error(`unexpected claim outcome ${outcome}`);
  }

  async complete(issuer: string, jti: string, reply: StoredReply): Promise<void> {
    await reaching(() => this.#redis.eval(COMPLETE, 1, this.#key(issuer, jti), JSON.stringify(reply)));
  }

  async release(issuer: string, jti: string): Promise<void> {
    await reaching(() => this.#redis.eval(RELEASE, 1, this.#key(issuer, jti)));
  }

  /** Nothing to do: every entry carries its own expiry, and Valkey drops it then. */
  async prune(): Promise<number> {
    return 0;
  }

  #key(issuer: string, jti: string): string {
    return `${this.#prefix}${issuer}:${jti}`;
  }
}

// KEYS[1]: the window's counter. ARGV: limit, window length (ms).
const HIT = `
local count = tonumber(redis.call('GET', KEYS[1]) or '0')
if count >= tonumber(ARGV[1]) then return 0 end
redis.call('INCR', KEYS[1])
if count == 0 then redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 1`;

const WINDOW_MS = 60_000;

/** Per-connection rate limits shared by every replica: one counter per key and minute. */
export class ValkeyRateLimiter implements RateLimiter {
  readonly #redis: Redis;
  readonly #prefix: string;

  constructor(options: ValkeyOptions) {
    this.#redis = options.redis;
    this.#prefix = `${options.prefix ?? 'mosaic-fed:'}rate:`;
  }

  async hit(key: string, perMinute: number, now: Date): Promise<RateDecision> {
    const start = Math.floor(now.getTime() / WINDOW_MS) * WINDOW_MS;
    const allowed = await reaching(() => this.#redis.eval(HIT, 1, `${this.#prefix}${key}:${start}`, String(perMinute), String(2 * WINDOW_MS)));
    if (allowed === 1) return { allowed: true, retryAfter: 0 };
    return { allowed: false, retryAfter: Math.max(1, Math.ceil((start + WINDOW_MS - now.getTime()) / 1000)) };
  }
}

// KEYS[1]: the lease; ARGV: holder, ttl (ms). Taken when free or already this holder's.
const HOLD = `
local current = redis.call('GET', KEYS[1])
if current == false or current == ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', tonumber(ARGV[2]))
  return 1
end
return 0`;
const GIVE_UP = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0`;

/** Leases on Valkey, shared by every replica: a replica that dies stops renewing its own. */
export class ValkeyLeases implements Leases {
  readonly #redis: Redis;
  readonly #prefix: string;

  constructor(options: ValkeyOptions) {
    this.#redis = options.redis;
    this.#prefix = `${options.prefix ?? 'mosaic-fed:'}lease:`;
  }

  async hold(key: string, holder: string, ttlMs: number): Promise<boolean> {
    return (await reaching(() => this.#redis.eval(HOLD, 1, `${this.#prefix}${key}`, holder, String(ttlMs)))) === 1;
  }

  async release(key: string, holder: string): Promise<void> {
    await reaching(() => this.#redis.eval(GIVE_UP, 1, `${this.#prefix}${key}`, holder));
  }
}

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
    this.#prefix = `${options.prefix ?? 'mosaic-fed:'}events:`;
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
