import { describe, expect, it } from 'vitest';
import { addUsage, costInWords, estimateCost, PriceTableSchema, type PriceTable } from './usage.js';
import { usageOf } from './schemas/agents.js';

const table: PriceTable = {
  currency: 'USD',
  models: {
    'claude-sonnet-5-5': { inputPerMillion: 3, outputPerMillion: 15 },
    '*': { inputPerMillion: 1, outputPerMillion: 5, cacheReadPerMillion: 0.5, cacheWritePerMillion: 2 },
  },
};

describe('estimated cost', () => {
  it("prices each kind of token by the model's line, cache reads and writes at Anthropic's ratios unless given", () => {
    const usage = { inputTokens: 1_000_000, outputTokens: 100_000, cacheReadInputTokens: 2_000_000, cacheCreationInputTokens: 400_000 };
    // 3 + 1.5 + 2 x 0.3 + 0.4 x 3.75
    expect(estimateCost(usage, 'claude-sonnet-5-5', table)).toEqual({ amount: 6.6, currency: 'USD' });
    // Any other model: the * line, with its own cache prices: 1 + 0.5 + 2 x 0.5 + 0.4 x 2
    expect(estimateCost(usage, 'claude-haiku-5', table)).toEqual({ amount: 3.3, currency: 'USD' });
    expect(estimateCost(usage, 'other', { currency: 'EUR', models: { 'claude-sonnet-5-5': { inputPerMillion: 3, outputPerMillion: 15 } } })).toBeUndefined();
  });

  it('adds two usages, costs only in one currency', () => {
    const a = { inputTokens: 10, outputTokens: 5, estimatedCost: { amount: 0.1, currency: 'USD' } };
    const b = { inputTokens: 1, outputTokens: 2, cacheReadInputTokens: 30, estimatedCost: { amount: 0.2, currency: 'USD' } };
    expect(addUsage(a, b)).toEqual({ inputTokens: 11, outputTokens: 7, cacheReadInputTokens: 30, estimatedCost: { amount: 0.3, currency: 'USD' } });
    expect(addUsage(undefined, b)).toEqual(b);
    expect(addUsage(a, { ...b, estimatedCost: { amount: 1, currency: 'EUR' } })).not.toHaveProperty('estimatedCost');
    expect(addUsage({ inputTokens: 1, outputTokens: 1 }, { inputTokens: 1, outputTokens: 1 })).toEqual({ inputTokens: 2, outputTokens: 2 });
  });

  it('says an amount with the decimals it needs', () => {
    expect(costInWords({ amount: 12.345, currency: 'USD' })).toBe('about 12.35 USD');
    expect(costInWords({ amount: 0.042, currency: 'EUR' })).toBe('about 0.042 EUR');
    expect(costInWords({ amount: 0.0012, currency: 'USD' })).toBe('about 0.0012 USD');
  });

  it('takes a table with a currency code and at least one model', () => {
    expect(PriceTableSchema.safeParse(table).success).toBe(true);
    expect(PriceTableSchema.safeParse({ currency: 'usd', models: { '*': { inputPerMillion: 1, outputPerMillion: 1 } } }).success).toBe(false);
    expect(PriceTableSchema.safeParse({ currency: 'USD', models: {} }).success).toBe(false);
    expect(PriceTableSchema.safeParse({ currency: 'USD', models: { '*': { inputPerMillion: -1, outputPerMillion: 1 } } }).success).toBe(false);
  });

  it("reads an agent's usage from its result once it completed, else from its progress", () => {
    const progress = { turns: 2, usage: { inputTokens: 5, outputTokens: 1 } };
    expect(usageOf({ progress, result: null })).toEqual(progress.usage);
    expect(usageOf({ progress, result: { usage: { inputTokens: 9, outputTokens: 2 } } })).toEqual({ inputTokens: 9, outputTokens: 2 });
    expect(usageOf({ progress: null, result: null })).toBeUndefined();
  });
});
