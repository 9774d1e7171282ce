// Model usage in money (PROTOCOL 3, budgets): the spoke's admin sets a price table, and
// every usage an agent reports carries what the table makes of it. An estimate: the
// model provider's invoice is the truth.
import { z } from 'zod';
import { EstimatedCostSchema, type AgentUsage, type EstimatedCost } from './schemas/agents.js';

const perMillion = z.number().min(0).max(1_000_000);

/**
 * What a million tokens of one model cost. Cache reads and writes default to Anthropic's
 * ratios to the input price (0.1 and 1.25).
 */
export const ModelPriceSchema = z.strictObject({
  inputPerMillion: perMillion,
  outputPerMillion: perMillion,
  cacheReadPerMillion: perMillion.optional(),
  cacheWritePerMillion: perMillion.optional(),
});
export type ModelPrice = z.infer<typeof ModelPriceSchema>;

/** A price table: its currency, and prices by model name, `*` for any model not named. */
export const PriceTableSchema = z.strictObject({
  currency: EstimatedCostSchema.shape.currency,
  models: z
    .record(z.string().min(1).max(128), ModelPriceSchema)
    .refine((models) => Object.keys(models).length > 0, 'name at least one model, or * for any'),
});
export type PriceTable = z.infer<typeof PriceTableSchema>;

/** What `usage` of `model` costs by the table; `undefined` when the table prices no such model. */
export function estimateCost(usage: AgentUsage, model: string, table: PriceTable): EstimatedCost | undefined {
  const price = Object.hasOwn(table.models, model) ? table.models[model] : table.models['*'];
  if (price === undefined) return undefined;
  const cacheRead = price.cacheReadPerMillion ?? price.inputPerMillion * 0.1;
  const cacheWrite = price.cacheWritePerMillion ?? price.inputPerMillion * 1.25;
  const amount =
    (usage.inputTokens * price.inputPerMillion +
      (usage.cacheReadInputTokens ?? 0) * cacheRead +
      (usage.cacheCreationInputTokens ?? 0) * cacheWrite +
      usage.outputTokens * price.outputPerMillion) /
    1_000_000;
  return { amount: Math.round(amount * 1_000_000) / 1_000_000, currency: table.currency };
}

/**
 * Two usages together (an agent's attempts): tokens added, and costs added where both are
 * in one currency (a cost in another is left out rather than mixed in).
 */
export function addUsage(a: AgentUsage | undefined, b: AgentUsage): AgentUsage {
  if (a === undefined) return structuredClone(b);
  const sum = (x: number | undefined, y: number | undefined) => (x === undefined && y === undefined ? undefined : (x ?? 0) + (y ?? 0));
  const cacheRead = sum(a.cacheReadInputTokens, b.cacheReadInputTokens);
  const cacheWrite = sum(a.cacheCreationInputTokens, b.cacheCreationInputTokens);
  const cost =
    a.estimatedCost === undefined || b.estimatedCost === undefined
      ? (a.estimatedCost ?? b.estimatedCost)
      : a.estimatedCost.currency === b.estimatedCost.currency
        ? { amount: Math.round((a.estimatedCost.amount + b.estimatedCost.amount) * 1_000_000) / 1_000_000, currency: a.estimatedCost.currency }
        : undefined;
  return {
    inputTokens: a.inputTokens + b.inputTokens,
    outputTokens: a.outputTokens + b.outputTokens,
    ...(cacheRead === undefined ? {} : { cacheReadInputTokens: cacheRead }),
    ...(cacheWrite === undefined ? {} : { cacheCreationInputTokens: cacheWrite }),
    ...(cost === undefined ? {} : { estimatedCost: cost }),
  };
}

/** An amount in words: `about 0.42 USD`, with as many decimals as small amounts need. */
export function costInWords(cost: EstimatedCost): string {
  const digits = cost.amount >= 1 ? 2 : cost.amount >= 0.01 ? 3 : 4;
  return `about ${cost.amount.toFixed(digits)} ${cost.currency}`;
}
