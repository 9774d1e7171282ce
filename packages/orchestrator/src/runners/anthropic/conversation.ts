// One agent's conversation with the model, carried through what the API can answer:
// the SDK's tool runner does the turns; this loop handles what it stops on. A reply cut
// off by `max_tokens` is asked for again with more room; a conversation that outgrows the
// context window loses its oldest tool outputs; overload, rate limits and lost connections
// are waited out with backoff and jitter, for a bounded time, and the same conversation
// goes on from where it stopped (the tools that ran are not run again).
import { setTimeout as sleep } from 'node:timers/promises';
import Anthropic from '@anthropic-ai/sdk';
import type { BetaToolRunnerParams } from '@anthropic-ai/sdk/lib/tools/BetaToolRunner';
import type { BetaMessage, BetaMessageParam } from '@anthropic-ai/sdk/resources/beta/messages/messages';
import { AgentFailure } from '../../lib/failure.js';
import type { ModelLimits } from './models.js';

export interface ConversationOptions {
  /** A client that does not retry on its own: this loop does. */
  client: Anthropic;
  /** The first request; `messages` grows from here. */
  params: Omit<BetaToolRunnerParams, 'max_iterations'>;
  maxTurns: number;
  limits: ModelLimits;
  /** How long one stretch of failing requests is retried before the attempt fails. */
  retryForMs: number;
  /** Backoff without a `retry-after`: doubling from `first` up to `max`, with jitter. */
  retryDelayMs: { first: number; max: number };
  signal: AbortSignal;
  /** Each reply, as it arrives. */
  onReply(message: BetaMessage, turns: number): void;
  /** What the loop is doing about a failure, for the progress line. */
  onNotice(text: string): void;
  /** 0 to 1; default `Math.random`. */
  random?: () => number;
}

/** Why an attempt ends when the conversation cannot be made to fit. */
export const CONTEXT_FULL = "the conversation outgrew the model's context window, even without its old tool outputs";

/** What an old tool output becomes when the conversation needs the room. */
export const CLEARED_OUTPUT = '[cleared to make room in the conversation: this output is no longer kept]';

/** Tool outputs kept when old ones are cleared: the latest few, which the model is working from. */
const KEEP_TOOL_RESULTS = 3;

/** Runs the conversation to the model's final answer; throws an {@link AgentFailure} when it cannot. */
export async function converse(options: ConversationOptions): Promise<{ final: BetaMessage; turns: number }> {
  const { client, limits, signal } = options;
  const random = options.random ?? Math.random;
  let messages = options.params.messages;
  let maxTokens = options.params.max_tokens;
  let turns = 0;
  let last: BetaMessage | undefined;
  let failing: { since: number; retries: number } | undefined;
  for (;;) {
    if (turns >= options.maxTurns) throw new AgentFailure(`the agent reached its limit of ${options.maxTurns} turns`);
    const runner = client.beta.messages.toolRunner(
      { ...options.params, messages, max_tokens: maxTokens, max_iterations: options.maxTurns - turns, stream: true },
      { signal },
    );
    try {
      for await (const stream of runner) {
        const message = await stream.finalMessage();
        turns++;
        failing = undefined;
        last = message;
        options.onReply(message, turns);
        if (message.stop_reason === 'max_tokens') {
          if (maxTokens >= limits.maxTokensCeiling) throw new AgentFailure(cutOff(message, maxTokens));
          const room = Math.min(limits.maxTokensCeiling, maxTokens * 2);
          options.onNotice(`the reply was cut off at ${maxTokens} tokens; asking again with room for ${room}`);
          maxTokens = room;
          // The cut reply is dropped (a half-written tool call never runs) and the turn is asked again.
          runner.setMessagesParams((current) => ({ ...current, max_tokens: room }));
        } else if (message.stop_reason === 'model_context_window_exceeded') {
          const cleared = makeRoom(runner.params.messages);
          options.onNotice('the conversation filled the context window; cleared old tool outputs');
          runner.setMessagesParams((current) => ({ ...current, messages: cleared }));
        }
      }
    } catch (error) {
      if (signal.aborted || error instanceof AgentFailure) throw error;
      // The history as last sent, tool results included: the next runner goes on from there.
      messages = runner.params.messages;
      if (isPromptTooLong(error)) {
        messages = makeRoom(messages);
        options.onNotice('the conversation was too long for the model; cleared old tool outputs');
        continue;
      }
      const now = Date.now();
      failing ??= { since: now, retries: 0 };
      const wait = retryDelay(error, failing.retries, options.retryDelayMs, random);
      if (wait === undefined) throw modelFailure(error);
      if (now + wait - failing.since > options.retryForMs) {
        throw new AgentFailure(`${failureKind(error)}, and still did after ${Math.round((now - failing.since) / 1000)} s of retries`, { cause: error });
      }
      failing.retries++;
      options.onNotice(`${failureKind(error)}; retry ${failing.retries} in ${Math.max(1, Math.round(wait / 1000))} s`);
      await sleep(wait, undefined, { signal });
      continue;
    }
    if (last === undefined) throw new AgentFailure('the model gave no answer');
    switch (last.stop_reason) {
      case 'refusal':
        throw new AgentFailure('the model declined the task');
      case 'end_turn':
      case 'stop_sequence':
        return { final: last, turns };
      default:
        // Still calling tools (or asking again) when the turns ran out.
        throw new AgentFailure(`the agent reached its limit of ${options.maxTurns} turns`);
    }
  }
}

/** The history with all but the latest tool outputs cleared; fails the attempt when nothing is left to clear. */
function makeRoom(messages: readonly BetaMessageParam[]): BetaMessageParam[] {
  const cleared = clearToolResults(messages, KEEP_TOOL_RESULTS) ?? clearToolResults(messages, 0);
  if (cleared === undefined) throw new AgentFailure(CONTEXT_FULL);
  return cleared;
}

/** Replaces the content of every tool result but the last `keep`; `undefined` when none changes. */
export function clearToolResults(messages: readonly BetaMessageParam[], keep: number): BetaMessageParam[] | undefined {
  const total = messages.reduce((count, message) => count + toolResults(message).length, 0);
  let seen = 0;
  let changed = false;
  const next = messages.map((message): BetaMessageParam => {
    if (message.role !== 'user' || typeof message.content === 'string') return message;
    return {
      ...message,
      content: message.content.map((block) => {
        if (block.type !== 'tool_result') return block;
        seen++;
        if (total - seen < keep || block.content === CLEARED_OUTPUT) return block;
        changed = true;
        return { ...block, content: CLEARED_OUTPUT };
      }),
    };
  });
  return changed ? next : undefined;
}

function toolResults(message: BetaMessageParam) {
  return message.role !== 'user' || typeof message.content === 'string' ? [] : message.content.filter((block) => block.type === 'tool_result');
}

function isPromptTooLong(error: unknown): boolean {
  return error instanceof Anthropic.BadRequestError && /prompt is too long/i.test(error.message);
}

/**
 * How long to wait before asking again, or `undefined` for a failure that asking again
 * cannot mend (a bad request, a refused key). The API's `retry-after` is followed;
 * otherwise exponential backoff, with jitter over the upper half of each step.
 */
function retryDelay(error: unknown, retries: number, backoff: { first: number; max: number }, random: () => number): number | undefined {
  if (!(error instanceof Anthropic.APIError) || error instanceof Anthropic.APIUserAbortError) return undefined;
  const status = error.status;
  // No status: the connection failed, or the stream broke off (an `error` event mid-reply).
  const transient = status === undefined || status === 408 || status === 409 || status === 429 || status >= 500;
  if (!transient) return undefined;
  const hinted = retryAfterMs(error.headers);
  if (hinted !== undefined) return hinted;
  const ceiling = Math.min(backoff.max, backoff.first * 2 ** retries);
  return Math.round(ceiling / 2 + (random() * ceiling) / 2);
}

function retryAfterMs(headers: Headers | undefined): number | undefined {
  const ms = Number(headers?.get('retry-after-ms') ?? Number.NaN);
  if (Number.isFinite(ms) && ms >= 0) return ms;
  const value = headers?.get('retry-after');
  if (value == null) return undefined;
  const seconds = Number(value);
  if (Number.isFinite(seconds) && seconds >= 0) return seconds * 1_000;
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, date - Date.now());
}

/** The failure in a few words, never the API's own text. */
function failureKind(error: unknown): string {
  if (error instanceof Anthropic.APIConnectionError) return 'the spoke could not reach the model';
  if (error instanceof Anthropic.RateLimitError) return "the model's API is rate-limiting this spoke (429)";
  if (error instanceof Anthropic.APIError && error.status === 529) return "the model's API is overloaded (529)";
  if (error instanceof Anthropic.APIError) return `the model's API answered ${error.status ?? 'with an error mid-reply'}`;
  return 'the model call failed';
}

/** What the peer reads of a model call that cannot be retried: the kind of failure, not the API's text. */
function modelFailure(error: unknown): unknown {
  return error instanceof Anthropic.APIError ? new AgentFailure(failureKind(error), { cause: error }) : error;
}

function cutOff(message: BetaMessage, maxTokens: number): string {
  const inToolCall = message.content.at(-1)?.type === 'tool_use';
  return `the model's reply was cut off at its limit of ${maxTokens} tokens${inToolCall ? ' in the middle of a tool call' : ''}`;
}
