import { describe, expect, it } from 'vitest';
import { MessageLogSweeper } from '../src/federation/message-log-sweeper.js';
import { silentLogger, type Logger } from '../src/logger.js';
import { InMemoryMessageLogStore } from '../src/stores/memory/index.js';
import type { MessageLogStore } from '../src/stores/types.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const now = new Date('2026-11-25T12:00:00Z');
const at = (seconds: number) => new Date(now.getTime() + seconds * 1000);
const reply = { success: true as const, data: null };

/** `count` answered entries that expire a minute from `now`, and one that lives a day. */
async function filledLog(count: number): Promise<InMemoryMessageLogStore> {
  const log = new InMemoryMessageLogStore();
  for (let i = 0; i < count; i++) await log.claim({ issuer: 'hub', jti: `old-${i}`, hash: 'h', now, expiresAt: at(60), reply });
  await log.claim({ issuer: 'hub', jti: 'live', hash: 'h', now, expiresAt: at(86_400), reply });
  return log;
}

/** Counts prune calls; the first `failures` of them fail. */
function counted(inner: MessageLogStore, failures = 0) {
  const calls: number[] = [];
  const store: MessageLogStore = {
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
  return { store, calls };
}

describe('MessageLogSweeper', () => {
  it('removes every expired entry in batches, and keeps the live ones', async () => {
    const { store, calls } = counted(await filledLog(1_201));
    const sweeper = new MessageLogSweeper({ messageLog: store, now: () => at(120), logger: silentLogger, batchSize: 500 });
    expect(await sweeper.sweep()).toBe(1_201);
    expect(calls).toEqual([500, 500, 201]);
    expect(await sweeper.sweep()).toBe(0);
    expect(await store.claim({ issuer: 'hub', jti: 'live', hash: 'h', now: at(120), expiresAt: at(86_520) })).toEqual({ outcome: 'completed', reply });
  });

  it('runs a first pass when started, then one per interval, and goes on after a failure', async () => {
    const warnings: string[] = [];
    const logger: Logger = { ...silentLogger, warn: (message) => void warnings.push(message) };
    const { store, calls } = counted(await filledLog(3), 1);
    const sweeper = new MessageLogSweeper({ messageLog: store, now: () => at(120), logger, intervalMs: 20 });
    sweeper.start();
    await sleep(150);
    await sweeper.stop();
    expect(calls.slice(0, 3)).toEqual([-1, 3, 0]);
    expect(warnings).toEqual(['could not prune the message log; will try again']);
    const stoppedAt = calls.length;
    await sleep(60);
    expect(calls.length).toBe(stoppedAt);
  });

  it('refuses a batch size or interval that cannot work', () => {
    const messageLog = new InMemoryMessageLogStore();
    expect(() => new MessageLogSweeper({ messageLog, now: () => now, logger: silentLogger, batchSize: 0 })).toThrow(TypeError);
    expect(() => new MessageLogSweeper({ messageLog, now: () => now, logger: silentLogger, intervalMs: 0 })).toThrow(TypeError);
  });
});
