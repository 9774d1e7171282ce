// How large a reply may be and how much the conversation may hold, per model family.
// A model that thinks before it answers spends its `max_tokens` on thinking and text
// together, so the room given is far above a plain answer's.

/** What a request is sized by, for one model. */
export interface ModelLimits {
  /** `max_tokens` of each request. */
  maxTokens: number;
  /** A reply cut off by `max_tokens` is asked for again with twice the room, up to this. */
  maxTokensCeiling: number;
  /** The model's context window, in input tokens. */
  contextWindow: number;
}

const FAMILIES: { pattern: RegExp; limits: ModelLimits }[] = [
  { pattern: /opus/, limits: { maxTokens: 32_000, maxTokensCeiling: 64_000, contextWindow: 200_000 } },
  { pattern: /sonnet/, limits: { maxTokens: 32_000, maxTokensCeiling: 64_000, contextWindow: 200_000 } },
  { pattern: /haiku/, limits: { maxTokens: 16_000, maxTokensCeiling: 32_000, contextWindow: 200_000 } },
];

/** For a model of a family not listed: what any current Claude model can take. */
const FALLBACK: ModelLimits = { maxTokens: 16_000, maxTokensCeiling: 32_000, contextWindow: 200_000 };

/** The limits for `model`, with the caller's own values over the family's defaults. */
export function modelLimits(model: string, overrides: Partial<ModelLimits> = {}): ModelLimits {
  const family = FAMILIES.find(({ pattern }) => pattern.test(model))?.limits ?? FALLBACK;
  const maxTokens = overrides.maxTokens ?? family.maxTokens;
  const limits = {
    maxTokens,
    maxTokensCeiling: Math.max(maxTokens, overrides.maxTokensCeiling ?? family.maxTokensCeiling),
    contextWindow: overrides.contextWindow ?? family.contextWindow,
  };
  for (const [name, value] of Object.entries(limits)) {
    if (!Number.isInteger(value) || value < 1) throw new TypeError(`createClaudeRunners: ${name} must be a whole number of at least 1`);
  }
  return limits;
}
