import { describe, expect, it } from 'vitest';
import { backoffMs } from './backoff.js';

describe('backoffMs', () => {
  it('doubles from the first wait up to the cap, with half to all of it as jitter', () => {
    const at = (random: number) => (attempt: number) => backoffMs(attempt, { initialMs: 100, maxMs: 1_000, random: () => random });
    expect([1, 2, 3, 4, 5, 6].map(at(1))).toEqual([100, 200, 400, 800, 1_000, 1_000]);
    expect([1, 2, 3, 4, 5, 6].map(at(0))).toEqual([50, 100, 200, 400, 500, 500]);
    expect(at(1)(0)).toBe(100);
    for (let i = 0; i < 100; i++) {
      const wait = backoffMs(3, { initialMs: 100, maxMs: 1_000 });
      expect(wait).toBeGreaterThanOrEqual(200);
      expect(wait).toBeLessThanOrEqual(400);
    }
  });
});
