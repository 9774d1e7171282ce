// What every Valkey store shares: the connection it is given, the key prefix, and how a
// lost connection is reported.
import { FederationError } from '@mosaic-fed/core';
import type { Redis } from 'ioredis';

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
export async function reaching<T>(call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    throw new FederationError('ORCHESTRATOR_UNAVAILABLE', 'the shared store (Valkey) cannot be reached', { cause: error });
  }
}

/** The prefix of one kind of key: `<prefix><kind>:`. */
export function keyPrefix(options: ValkeyOptions, kind: string): string {
  return `${options.prefix ?? 'mosaic-fed:'}${kind}:`;
}
