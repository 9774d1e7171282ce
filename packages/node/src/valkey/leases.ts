import type { Leases } from '@mosaic-fed/server';
import type { Redis } from 'ioredis';
import { keyPrefix, reaching, type ValkeyOptions } from './shared.js';

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
    this.#prefix = keyPrefix(options, 'lease');
  }

  async hold(key: string, holder: string, ttlMs: number): Promise<boolean> {
    return (await reaching(() => this.#redis.eval(HOLD, 1, `${this.#prefix}${key}`, holder, String(ttlMs)))) === 1;
  }

  async release(key: string, holder: string): Promise<void> {
    await reaching(() => this.#redis.eval(GIVE_UP, 1, `${this.#prefix}${key}`, holder));
  }
}
