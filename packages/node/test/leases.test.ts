// One contract for leases, in memory and on a real Valkey (Redis): who watches an agent.
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InMemoryLeases, type Leases } from '@mosaic-fed/server';
import { ValkeyLeases } from '../src/valkey.js';
import { connectTestRedis, deleteKeys } from '../../server/test/helpers.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const prefix = `leases-test-${crypto.randomUUID()}:`;
let redis: Redis | undefined;

beforeAll(async () => {
  redis = await connectTestRedis();
});

afterAll(async () => {
  if (redis !== undefined) {
    await deleteKeys(redis, prefix);
    redis.disconnect();
  }
});

const kinds: { name: string; make: () => Leases | undefined }[] = [
  { name: 'in memory', make: () => new InMemoryLeases() },
  { name: 'Valkey', make: () => (redis === undefined ? undefined : new ValkeyLeases({ redis, prefix })) },
];

describe.each(kinds)('leases ($name)', ({ make }) => {
  it('are held by one holder at a time, renewed by it, and given up only by it', async (context) => {
    const leases = make();
    if (leases === undefined) return context.skip();
    const key = `watch:${crypto.randomUUID()}`;
    expect(await leases.hold(key, 'replica-a', 5_000)).toBe(true);
    expect(await leases.hold(key, 'replica-b', 5_000)).toBe(false);
    expect(await leases.hold(key, 'replica-a', 5_000)).toBe(true);
    await leases.release(key, 'replica-b');
    expect(await leases.hold(key, 'replica-b', 5_000)).toBe(false);
    await leases.release(key, 'replica-a');
    expect(await leases.hold(key, 'replica-b', 5_000)).toBe(true);
  });

  it('lapse when their holder stops renewing them, and another takes them over', async (context) => {
    const leases = make();
    if (leases === undefined) return context.skip();
    const key = `watch:${crypto.randomUUID()}`;
    expect(await leases.hold(key, 'replica-a', 150)).toBe(true);
    expect(await leases.hold(key, 'replica-b', 150)).toBe(false);
    await sleep(300);
    expect(await leases.hold(key, 'replica-b', 5_000)).toBe(true);
    expect(await leases.hold(key, 'replica-a', 5_000)).toBe(false);
  });
});
