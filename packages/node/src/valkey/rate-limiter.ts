import type { RateDecision, RateLimiter } from '@mosaic-fed/server';
import type { Redis } from 'ioredis';
import { keyPrefix, reaching, type ValkeyOptions } from './shared.js';

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
    this.#prefix = keyPrefix(options, 'rate');
  }

  async hit(key: string, perMinute: number, now: Date): Promise<RateDecision> {
    const start = Math.floor(now.getTime() / WINDOW_MS) * WINDOW_MS;
    const allowed = await reaching(() => this.#redis.eval(HIT, 1, `${this.#prefix}${key}:${start}`, String(perMinute), String(2 * WINDOW_MS)));
    if (allowed === 1) return { allowed: true, retryAfter: 0 };
    return { allowed: false, retryAfter: Math.max(1, Math.ceil((start + WINDOW_MS - now.getTime()) / 1000)) };
  }
}
