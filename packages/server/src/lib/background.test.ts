import { describe, expect, it } from 'vitest';
import { BackgroundLoop } from './background.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('BackgroundLoop', () => {
  it('runs one pass at a time: a pass asked for while one runs is that one', async () => {
    let passes = 0;
    const loop = new BackgroundLoop(async () => {
      passes++;
      await sleep(20);
      return passes;
    }, { intervalMs: 1_000, onError: () => undefined });
    expect(await Promise.all([loop.runNow(), loop.runNow()])).toEqual([1, 1]);
    expect(await loop.runNow()).toBe(2);
  });

  it('passes at start and per interval, sooner when woken, goes on after a failure, and stops', async () => {
    const errors: unknown[] = [];
    let passes = 0;
    const loop = new BackgroundLoop(async () => {
      passes++;
      if (passes === 1) throw new Error('the store is away');
    }, { intervalMs: 200, onError: (error) => errors.push(error) });
    loop.start();
    await sleep(10);
    expect(passes).toBe(1);
    expect(errors).toHaveLength(1);
    loop.wake();
    await sleep(10);
    expect(passes).toBe(2);
    // The next one comes an interval after the woken pass, not sooner, and only once.
    await sleep(100);
    expect(passes).toBe(2);
    await sleep(200);
    expect(passes).toBe(3);
    await loop.stop();
    expect(loop.stopping).toBe(true);
    const stoppedAt = passes;
    loop.wake();
    await sleep(250);
    expect(passes).toBe(stoppedAt);
  });
});
