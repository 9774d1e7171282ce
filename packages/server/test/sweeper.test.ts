import { describe, expect, it } from 'vitest';
import { Sweeper } from '../src/jobs/sweeper.js';
import { silentLogger, type Logger } from '../src/logger.js';
import { createInMemoryStores } from '../src/stores/memory/index.js';
import type { MessageLogStore, OutboxEntry } from '../src/stores/types.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const now = new Date('2026-11-25T12:00:00Z');
const at = (seconds: number) => new Date(now.getTime() + seconds * 1000);
const reply = { success: true as const, data: null };

/** In-memory stores with `count` answered log entries that expire a minute from `now`, one
 * that lives a day, two delivered outbox entries and one pending. */
async function filledStores(count: number) {
  const stores = createInMemoryStores();
  for (let i = 0; i < count; i++) await stores.messageLog.claim({ issuer: 'hub', jti: `old-${i}`, hash: 'h', now, expiresAt: at(60), reply });
  await stores.messageLog.claim({ issuer: 'hub', jti: 'live', hash: 'h', now, expiresAt: at(86_400), reply });
  const entry = (id: string): OutboxEntry => ({
    id,
    connectionId: 'conn-1',
    peerInstanceId: 'peer-1',
    orderKey: null,
    eventType: 'agent.status.changed',
    payload: {},
    attempts: 0,
    nextAttemptAt: now.getTime(),
    giveUpAt: at(86_400).getTime(),
    createdAt: now.getTime(),
    deliveredAt: null,
    lastError: null,
  });
  for (const id of ['sent-1', 'sent-2', 'waiting']) await stores.outbox.enqueue(entry(id));
  await stores.outbox.markDelivered('sent-1', now.getTime());
  await stores.outbox.markDelivered('sent-2', now.getTime());
  // Spawn requests: one made a day and a minute before the sweep at +120 s, one just before.
  for (const [key, createdAt] of [['yesterday', at(60 - 86_400)], ['recent', at(119)]] as const) {
    await stores.spawnRequests.begin({
      idempotencyKey: key,
      jti: `jti-${key}`,
      connectionId: 'conn-1',
      payload: { taskId: 't', agentType: 'worker', context: { repository: 'git.example.com/o/r', branch: 'main', workItems: [], instructions: '' }, options: { timeout: 3_600_000, maxRetries: 0 } },
      deliver: null,
      requestHash: 'h',
      actor: { type: 'cli', id: 'test' },
      owner: null,
      createdAt: createdAt.toISOString(),
      response: null,
    });
  }
  return stores;
}

/** Counts the message log's prune calls; the first `failures` of them fail. */
function countedLog(inner: MessageLogStore, failures = 0) {
  const calls: number[] = [];
  const messageLog: MessageLogStore = {
    claim: (entry) => inner.claim(entry),
    complete: (issuer, jti, answer) => inner.complete(issuer, jti, answer),
    release: (issuer, jti) => inner.release(issuer, jti),
    prune: async (when, limit) => {
      if (calls.length < failures) {
        calls.push(-1);
        throw new Error('the database is locked');
      }
      const pruned = await inner.prune(when, limit);
      calls.push(pruned);
      return pruned;
    },
  };
  return { messageLog, calls };
}

describe('Sweeper', () => {
  it('removes expired log entries and finished outbox entries in batches, and keeps the rest', async () => {
    const stores = await filledStores(1_201);
    const { messageLog, calls } = countedLog(stores.messageLog);
    const sweeper = new Sweeper({ stores: { messageLog, outbox: stores.outbox, spawnRequests: stores.spawnRequests }, now: () => at(120), logger: silentLogger, batchSize: 500 });
    expect(await sweeper.sweep()).toEqual({ messageLog: 1_201, outbox: 2, spawnRequests: 1 });
    expect(calls).toEqual([500, 500, 201]);
    expect(await sweeper.sweep()).toEqual({ messageLog: 0, outbox: 0, spawnRequests: 0 });
    expect((await stores.spawnRequests.unanswered(at(120).toISOString(), 10)).map((request) => request.idempotencyKey)).toEqual(['recent']);
    expect(await messageLog.claim({ issuer: 'hub', jti: 'live', hash: 'h', now: at(120), expiresAt: at(86_520) })).toEqual({ outcome: 'completed', reply });
    expect((await stores.outbox.due(at(120).getTime(), 10)).map((entry) => entry.id)).toEqual(['waiting']);
  });

  it('runs a first pass when started, then one per interval, and goes on after a failure', async () => {
    const warnings: string[] = [];
    const logger: Logger = { ...silentLogger, warn: (message) => void warnings.push(message) };
    const stores = await filledStores(3);
    const { messageLog, calls } = countedLog(stores.messageLog, 1);
    const sweeper = new Sweeper({ stores: { messageLog, outbox: stores.outbox, spawnRequests: stores.spawnRequests }, now: () => at(120), logger, intervalMs: 20 });
    sweeper.start();
    await sleep(150);
    await sweeper.stop();
    expect(calls.slice(0, 3)).toEqual([-1, 3, 0]);
    expect(warnings).toEqual(['could not remove expired entries; will try again']);
    const stoppedAt = calls.length;
    await sleep(60);
    expect(calls.length).toBe(stoppedAt);
  });

  it('refuses a batch size or interval that cannot work', () => {
    const stores = createInMemoryStores();
    expect(() => new Sweeper({ stores, now: () => now, logger: silentLogger, batchSize: 0 })).toThrow(TypeError);
    expect(() => new Sweeper({ stores, now: () => now, logger: silentLogger, intervalMs: 0 })).toThrow(TypeError);
  });
});
