// The message log (PROTOCOL 2) in Valkey: replay protection and idempotency, each claim
// one Lua script, so two replicas never both win.
import type { ClaimOutcome, MessageClaim, MessageLogStore, StoredReply } from '@mosaic-fed/server';
import type { Redis } from 'ioredis';
import { keyPrefix, reaching, type ValkeyOptions } from './shared.js';

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
    this.#prefix = keyPrefix(options, 'message');
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
