/**
 * A failure whose message is meant for the agent's owner, the peer: it says what went
 * wrong in the peer's terms (the clone, the turn limit, the patch size), with no host
 * path, address or secret. Any other error of an attempt reaches the peer as one generic
 * reason, its own message going to the spoke's log only.
 *
 * @example
 * ```ts
 * throw new AgentFailure('the agent reached its limit of 40 turns');
 * ```
 */
export class AgentFailure extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** What a peer reads for a failure that is not an {@link AgentFailure}. */
export const UNEXPLAINED_FAILURE = "the agent failed on the spoke (the spoke's log has the reason)";

/**
 * The agent used the model tokens its budget allows (the connection's `maxTokensPerAgent`):
 * it ends `failed` at once, since another attempt would spend more.
 */
export class BudgetExhausted extends AgentFailure {}
