import { randomUUID } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { type EventBus, InMemoryEventBus, InMemoryRateLimiter, type RateLimiter } from '@mosaic-fed/server';
import { ValkeyEventBus, ValkeyMessageLogStore, ValkeyRateLimiter } from '../src/valkey.js';
import { agentStatusEvent, connectTestRedis, createFileStores, deleteKeys } from '../../server/test/helpers.js';
import { describeStoreContract } from '../../server/test/store-contract.js';

// What replicas share, against a real redis-server: the message log passes the same
// contract as memory and libSQL; rate limits and the event bus are held to the same
// behaviour as their in-memory twins.
const redis = await connectTestRedis();
const prefix = `mosaic-fed-test:${randomUUID()}:`;

afterAll(async () => {
  if (redis === undefined) return;
  await deleteKeys(redis, prefix);
  redis.disconnect();
});

if (redis === undefined) {
  describe.skip('Valkey stores (no Redis: set REDIS_URL or start redis-server)', () => {
    it('need Redis', () => undefined);
  });
} else {
  describeStoreContract('libSQL with the message log in Valkey', async () => {
    const { stores, cleanup } = await createFileStores();
    return {
      stores: { ...stores, messageLog: new ValkeyMessageLogStore({ redis, prefix: `${prefix}${randomUUID()}:` }) },
      cleanup,
      messageLogExpiresItself: true,
    };
  });

  const limiters: { name: string; make: () => RateLimiter }[] = [
    { name: 'in memory', make: () => new InMemoryRateLimiter() },
    { name: 'Valkey', make: () => new ValkeyRateLimiter({ redis, prefix: `${prefix}${randomUUID()}:` }) },
  ];
  describe.each(limiters)('rate limiter $name', ({ make }) => {
    it('allows perMinute hits in a minute, says when the next is possible, and starts afresh the next minute', async () => {
      const limiter = make();
      const at = new Date('2026-11-25T12:00:15Z');
      const decisions = await Promise.all(Array.from({ length: 5 }, () => limiter.hit('connection-1', 3, at)));
      expect(decisions.filter((d) => d.allowed)).toHaveLength(3);
      expect(decisions.filter((d) => !d.allowed).map((d) => d.retryAfter)).toEqual([45, 45]);
      expect((await limiter.hit('connection-2', 3, at)).allowed).toBe(true);
      expect((await limiter.hit('connection-1', 3, new Date('2026-11-25T12:01:00Z'))).allowed).toBe(true);
    });
  });

  it('lets a claim without a reply lapse after its lease, but keeps a completed one', async () => {
    const log = new ValkeyMessageLogStore({ redis, prefix: `${prefix}${randomUUID()}:`, leaseMs: 150 });
    const now = new Date();
    const claim = (jti: string) => log.claim({ issuer: 'hub', jti, hash: 'h', now, expiresAt: new Date(now.getTime() + 86_400_000) });
    expect(await claim('stuck')).toEqual({ outcome: 'claimed' });
    expect(await claim('done')).toEqual({ outcome: 'claimed' });
    await log.complete('hub', 'done', { success: true, data: 1 });
    const answered = { issuer: 'hub', jti: 'answered', hash: 'h', now, expiresAt: new Date(now.getTime() + 86_400_000) };
    expect(await log.claim({ ...answered, reply: { success: true, data: 2 } })).toEqual({ outcome: 'claimed' });
    expect(await claim('stuck')).toEqual({ outcome: 'in-progress' });
    await new Promise((resolve) => setTimeout(resolve, 300));
    // The replica that claimed it died: the message may run again (its agent id is the same).
    expect(await claim('stuck')).toEqual({ outcome: 'claimed' });
    expect(await claim('done')).toEqual({ outcome: 'completed', reply: { success: true, data: 1 } });
    expect(await claim('answered')).toEqual({ outcome: 'completed', reply: { success: true, data: 2 } });
  });

  it('shares rate limits between replicas', async () => {
    const shared = `${prefix}${randomUUID()}:`;
    const [a, b] = [new ValkeyRateLimiter({ redis, prefix: shared }), new ValkeyRateLimiter({ redis, prefix: shared })];
    const at = new Date('2026-11-25T12:00:00Z');
    expect((await a.hit('c', 2, at)).allowed).toBe(true);
    expect((await b.hit('c', 2, at)).allowed).toBe(true);
    expect((await a.hit('c', 2, at)).allowed).toBe(false);
  });

  const buses: { name: string; make: () => { publisher: EventBus; subscriber: EventBus; close(): Promise<void> } }[] = [
    {
      name: 'in memory, one process',
      make: () => {
        const bus = new InMemoryEventBus();
        return { publisher: bus, subscriber: bus, close: async () => undefined };
      },
    },
    {
      name: 'Valkey, across two replicas',
      make: () => {
        const channelPrefix = `${prefix}${randomUUID()}:`;
        const publisher = new ValkeyEventBus({ redis, prefix: channelPrefix });
        const subscriber = new ValkeyEventBus({ redis, prefix: channelPrefix });
        return { publisher, subscriber, close: async () => (await publisher.close(), await subscriber.close()) };
      },
    },
  ];
  describe.each(buses)('event bus $name', ({ make }) => {
    it('delivers an agent\'s events to its subscribers only, until they unsubscribe', async () => {
      const { publisher, subscriber, close } = make();
      const agentId = randomUUID();
      const seen: number[] = [];
      const other: number[] = [];
      const stop = subscriber.subscribe(agentId, (e) => seen.push(e.sequence));
      subscriber.subscribe(randomUUID(), (e) => other.push(e.sequence));
      // A subscription on another connection is live once Valkey confirms it.
      await new Promise((resolve) => setTimeout(resolve, 100));
      await publisher.publish(agentId, agentStatusEvent(agentId, 1));
      await publisher.publish(agentId, agentStatusEvent(agentId, 2));
      await expect.poll(() => seen).toEqual([1, 2]);
      stop();
      await new Promise((resolve) => setTimeout(resolve, 100));
      await publisher.publish(agentId, agentStatusEvent(agentId, 3));
      await new Promise((resolve) => setTimeout(resolve, 100));
      expect(seen).toEqual([1, 2]);
      expect(other).toEqual([]);
      await close();
    });
  });
}
