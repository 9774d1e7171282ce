// A stand-in for the Messages API: the real Anthropic SDK (pointed at it by `baseURL`)
// drives real tools against it without a network or a model. It serves the test suite
// and the offline demo.
//
// It plays scenarios. Each request goes to the first scenario whose `when` accepts it,
// and is answered by that scenario's first step that accepts it: steps are chosen by
// what the request holds (its turn, the last tool results, a file name), never by the
// order requests arrive in, so any number of agents can share one server. A step may
// answer with any stop reason (`max_tokens` cutting a tool call short, `pause_turn`,
// `refusal`, ...) or with the API's errors (429 with `retry-after`, 529, 400 "prompt
// is too long"), streamed or not, slowly if asked. Every request is recorded, with its
// cache markers and what the prompt cache would have billed, for tests to assert on.
import { createHash } from 'node:crypto';
import { serve } from '@hono/node-server';
import { Hono } from 'hono';
import { streamSSE } from 'hono/streaming';
import { z } from 'zod';
import { PLAN_TOOL } from '../runners/anthropic/approvals.js';

/** A content block the stand-in answers with; tool-use ids are added by the server. */
export type ScriptedBlock =
  | { type: 'text'; text: string }
  | { type: 'thinking'; thinking: string }
  | { type: 'tool_use'; name: string; input: Record<string, unknown> };

/** The stop reasons a step may end with; the default is `tool_use` when it calls a tool, else `end_turn`. */
export type ScriptedStopReason = 'end_turn' | 'tool_use' | 'max_tokens' | 'pause_turn' | 'refusal' | 'model_context_window_exceeded';

/** What one step answers. */
export type ScriptedAnswer =
  | {
      content: ScriptedBlock[];
      stopReason?: ScriptedStopReason;
      /** Output tokens to report; default: estimated from the content. */
      outputTokens?: number;
      /** When streamed, the pause before each event, in milliseconds. */
      eventDelayMs?: number;
    }
  /** 429 `rate_limit_error`, with `retry-after` when given. */
  | { error: 'rate_limit'; retryAfterSeconds?: number }
  /** 529 `overloaded_error`. */
  | { error: 'overloaded' }
  /** 400 `invalid_request_error` "prompt is too long". */
  | { error: 'prompt_too_long' }
  /** 400 `invalid_request_error`, as for a request the API will never take. */
  | { error: 'invalid_request' }
  /** 500 `api_error`. */
  | { error: 'api_error' };

/** What a scenario sees of a request. */
export interface ScriptedRequest {
  /** 0 for the first request of a conversation, then one more per assistant message in it. */
  turn: number;
  system: string;
  messages: { role: 'user' | 'assistant'; content: unknown }[];
  /** The tool results in the last user message, in order. */
  lastToolResults: { content: string; isError: boolean }[];
  /** Whether the system prompt or any message contains `text`. */
  mentions(text: string): boolean;
}

/** One step: when it answers, how often, and with what. */
export interface ScenarioStep {
  /** Default: every request. */
  when?: (request: ScriptedRequest) => boolean;
  /** At most this many answers from this step (for bursts of errors); default unlimited. */
  times?: number;
  answer: ScriptedAnswer | ScriptedBlock[] | ((request: ScriptedRequest) => ScriptedAnswer | ScriptedBlock[]);
}

/** A named list of steps, for the requests its `when` accepts (default: all). */
export interface Scenario {
  name: string;
  when?: (request: ScriptedRequest) => boolean;
  steps: ScenarioStep[];
}

/** One turn of a turn-by-turn script: fixed blocks, or an answer computed from the request. */
export type ScriptedTurn = ScriptedBlock[] | ((request: ScriptedRequest) => ScriptedAnswer | ScriptedBlock[]);

/**
 * A scenario that answers turn `firstTurn + n` of a conversation with `turns[n]`, and a
 * conversation that runs past the end with a final text answer.
 */
export function turnByTurn(
  turns: readonly ScriptedTurn[],
  options: { name?: string; when?: (request: ScriptedRequest) => boolean; firstTurn?: number } = {},
): Scenario {
  const first = options.firstTurn ?? 0;
  return {
    name: options.name ?? 'turn by turn',
    ...(options.when === undefined ? {} : { when: options.when }),
    steps: [
      ...turns.map((turn, index): ScenarioStep => ({ when: (request) => request.turn === first + index, answer: turn })),
      { answer: [{ type: 'text', text: 'The script has ended.' }] },
    ],
  };
}

/** What the stand-in recorded of one request. */
export interface RecordedRequest {
  /** The scenario that answered, or `null` when none did. */
  scenario: string | null;
  turn: number;
  stream: boolean;
  model: string;
  maxTokens: number;
  /** The `anthropic-beta` values the request carried. */
  betas: string[];
  tools: string[];
  /** `cache_control` markers: on tools, system blocks, message blocks, and the request's own. */
  cacheMarkers: { tools: number; system: number; messages: number; topLevel: boolean };
  contextManagement: unknown;
  thinking: unknown;
  outputConfig: unknown;
  /** What the answer billed, with the prompt cache the markers ask for; `null` for an error. */
  usage: { input_tokens: number; cache_read_input_tokens: number; cache_creation_input_tokens: number; output_tokens: number } | null;
  /** 200, or the error's status. */
  status: number;
}

export interface ScriptedMessagesOptions {
  /**
   * Requests estimated above this many input tokens get 400 "prompt is too long", as a
   * model's context window would. Default: no limit.
   */
  contextWindowTokens?: number;
  /** The loopback port to listen on. Default: a free one. */
  port?: number;
}

const CacheControlSchema = z.looseObject({ type: z.literal('ephemeral') }).nullish();
const RequestSchema = z.looseObject({
  model: z.string(),
  max_tokens: z.number(),
  stream: z.boolean().optional(),
  system: z.union([z.string(), z.array(z.looseObject({ text: z.string(), cache_control: CacheControlSchema }))]).optional(),
  messages: z.array(z.looseObject({ role: z.enum(['user', 'assistant']), content: z.unknown() })),
  tools: z.array(z.looseObject({ name: z.string(), cache_control: CacheControlSchema })).optional(),
  cache_control: CacheControlSchema,
  context_management: z.unknown().optional(),
  thinking: z.unknown().optional(),
  output_config: z.unknown().optional(),
});
type RequestBody = z.infer<typeof RequestSchema>;

/** A scripted Messages API: the Hono app, and what it has recorded. */
export interface ScriptedMessagesApp {
  app: Hono;
  requests: RecordedRequest[];
}

/** The stand-in as a Hono app serving `POST /v1/messages`. */
export function createScriptedMessagesApp(scenarios: Scenario | readonly Scenario[], options: ScriptedMessagesOptions = {}): ScriptedMessagesApp {
  const list: readonly Scenario[] = 'steps' in scenarios ? [scenarios] : scenarios;
  const used = new Map<ScenarioStep, number>();
  const cache = new PromptCache();
  const requests: RecordedRequest[] = [];
  const app = new Hono();
  // A step that throws answers as the API does when it fails: a 500 `api_error`.
  app.onError((error, c) => c.json(apiError('api_error', error instanceof Error ? error.message : 'scripted failure'), 500));
  app.post('/v1/messages', async (c) => {
    if (c.req.header('x-api-key') === undefined && c.req.header('authorization') === undefined) {
      return c.json(apiError('authentication_error', 'no API key'), 401);
    }
    const parsed = RequestSchema.safeParse(await c.req.json().catch(() => undefined));
    if (!parsed.success) return c.json(apiError('invalid_request_error', parsed.error.message), 400);
    const body = parsed.data;
    const request = scriptedRequest(body);
    const record: RecordedRequest = {
      scenario: null,
      turn: request.turn,
      stream: body.stream === true,
      model: body.model,
      maxTokens: body.max_tokens,
      betas: (c.req.header('anthropic-beta') ?? '').split(',').map((beta) => beta.trim()).filter((beta) => beta !== ''),
      tools: (body.tools ?? []).map((tool) => tool.name),
      cacheMarkers: cacheMarkersOf(body),
      contextManagement: body.context_management,
      thinking: body.thinking,
      outputConfig: body.output_config,
      usage: null,
      status: 200,
    };
    requests.push(record);

    const scenario = list.find((candidate) => candidate.when?.(request) ?? true);
    const step = scenario?.steps.find((candidate) => (candidate.when?.(request) ?? true) && (used.get(candidate) ?? 0) < (candidate.times ?? Infinity));
    if (scenario === undefined || step === undefined) {
      return answer({ content: [{ type: 'text', text: 'The stand-in model has no scenario for this request. Set ANTHROPIC_API_KEY to use Claude.' }] });
    }
    record.scenario = scenario.name;
    used.set(step, (used.get(step) ?? 0) + 1);
    const chosen = typeof step.answer === 'function' ? step.answer(request) : step.answer;
    return answer(Array.isArray(chosen) ? { content: chosen } : chosen);

    function answer(reply: ScriptedAnswer) {
      const billed = cache.bill(body);
      const total = billed.input_tokens + billed.cache_read_input_tokens + billed.cache_creation_input_tokens;
      if ('error' in reply || (options.contextWindowTokens !== undefined && total > options.contextWindowTokens)) {
        const failure = 'error' in reply ? reply : ({ error: 'prompt_too_long' } as const);
        const { status, body: errorBody, headers } = errorAnswer(failure, total, options.contextWindowTokens);
        record.status = status;
        // 529 is the API's own status, outside HTTP's list: hence a plain Response.
        return new Response(JSON.stringify(errorBody), { status, headers: { ...headers, 'content-type': 'application/json' } });
      }
      const content = reply.content.map((block, index) =>
        block.type === 'tool_use' ? { ...block, id: `toolu_${request.turn}_${index}` } : block.type === 'thinking' ? { ...block, signature: 'scripted' } : block,
      );
      const stopReason = reply.stopReason ?? (content.some((block) => block.type === 'tool_use') ? 'tool_use' : 'end_turn');
      const usage = { ...billed, output_tokens: reply.outputTokens ?? Math.ceil(JSON.stringify(content).length / 4) };
      record.usage = usage;
      const message = { id: `msg_scripted_${request.turn}`, type: 'message', role: 'assistant', model: body.model, stop_sequence: null };
      if (body.stream !== true) {
        // A reply cut off by max_tokens in the middle of a tool call holds what was parsed: nothing.
        const cut = stopReason === 'max_tokens' ? content.map((block, index) => (index === content.length - 1 && block.type === 'tool_use' ? { ...block, input: {} } : block)) : content;
        return c.json({ ...message, content: cut, stop_reason: stopReason, usage });
      }
      return streamSSE(c, async (stream) => {
        const send = async (event: string, data: unknown) => {
          if (reply.eventDelayMs !== undefined) await stream.sleep(reply.eventDelayMs);
          await stream.writeSSE({ event, data: JSON.stringify(data) });
        };
        await send('message_start', {
          type: 'message_start',
          message: { ...message, content: [], stop_reason: null, usage: { ...usage, output_tokens: 1 } },
        });
        for (const [index, block] of content.entries()) {
          const cutOff = stopReason === 'max_tokens' && index === content.length - 1;
          if (block.type === 'text') {
            await send('content_block_start', { type: 'content_block_start', index, content_block: { type: 'text', text: '' } });
            const text = cutOff ? block.text.slice(0, Math.ceil(block.text.length / 2)) : block.text;
            for (const piece of chunks(text)) await send('content_block_delta', { type: 'content_block_delta', index, delta: { type: 'text_delta', text: piece } });
          } else if (block.type === 'thinking') {
            await send('content_block_start', { type: 'content_block_start', index, content_block: { type: 'thinking', thinking: '', signature: '' } });
            await send('content_block_delta', { type: 'content_block_delta', index, delta: { type: 'thinking_delta', thinking: block.thinking } });
            await send('content_block_delta', { type: 'content_block_delta', index, delta: { type: 'signature_delta', signature: 'scripted' } });
          } else {
            await send('content_block_start', { type: 'content_block_start', index, content_block: { type: 'tool_use', id: block.id, name: block.name, input: {} } });
            const json = JSON.stringify(block.input);
            // Cut off by max_tokens: only the first half of the call's input arrives.
            const sent = cutOff ? json.slice(0, Math.floor(json.length / 2)) : json;
            for (const piece of chunks(sent)) await send('content_block_delta', { type: 'content_block_delta', index, delta: { type: 'input_json_delta', partial_json: piece } });
          }
          await send('content_block_stop', { type: 'content_block_stop', index });
        }
        await send('message_delta', { type: 'message_delta', delta: { stop_reason: stopReason, stop_sequence: null }, usage: { output_tokens: usage.output_tokens } });
        await send('message_stop', { type: 'message_stop' });
      });
    }
  });
  return { app, requests };
}

function scriptedRequest(body: RequestBody): ScriptedRequest {
  const system = typeof body.system === 'string' ? body.system : (body.system ?? []).map((block) => block.text).join('\n');
  const everything = `${system}\n${JSON.stringify(body.messages)}`;
  return {
    turn: body.messages.filter((message) => message.role === 'assistant').length,
    system,
    messages: body.messages,
    lastToolResults: toolResultsOf(body.messages.at(-1)?.content),
    mentions: (text) => everything.includes(text) || everything.includes(JSON.stringify(text).slice(1, -1)),
  };
}

function apiError(type: string, message: string) {
  return { type: 'error', error: { type, message }, request_id: null };
}

function errorAnswer(
  failure: Extract<ScriptedAnswer, { error: string }>,
  tokens: number,
  limit: number | undefined,
): { status: 400 | 429 | 500 | 529; body: ReturnType<typeof apiError>; headers: Record<string, string> } {
  switch (failure.error) {
    case 'rate_limit':
      return {
        status: 429,
        body: apiError('rate_limit_error', 'Number of request tokens has exceeded your per-minute rate limit'),
        headers: failure.retryAfterSeconds === undefined ? {} : { 'retry-after': String(failure.retryAfterSeconds) },
      };
    case 'overloaded':
      return { status: 529, body: apiError('overloaded_error', 'Overloaded'), headers: {} };
    case 'prompt_too_long':
      return { status: 400, body: apiError('invalid_request_error', `prompt is too long: ${tokens} tokens > ${limit ?? Math.max(0, tokens - 1)} maximum`), headers: {} };
    case 'invalid_request':
      return { status: 400, body: apiError('invalid_request_error', 'messages.0.content: a scripted refusal of the request'), headers: {} };
    case 'api_error':
      return { status: 500, body: apiError('api_error', 'Internal server error'), headers: {} };
  }
}

function* chunks(text: string, size = 24): Generator<string> {
  for (let start = 0; start < text.length; start += size) yield text.slice(start, start + size);
}

function toolResultsOf(content: unknown): { content: string; isError: boolean }[] {
  if (!Array.isArray(content)) return [];
  return content.flatMap((block: { type?: unknown; content?: unknown; is_error?: unknown }) => {
    if (block.type !== 'tool_result') return [];
    const text =
      typeof block.content === 'string'
        ? block.content
        : Array.isArray(block.content)
          ? block.content.map((part: { text?: unknown }) => (typeof part.text === 'string' ? part.text : '')).join('')
          : '';
    return [{ content: text, isError: block.is_error === true }];
  });
}

function cacheMarkersOf(body: RequestBody): RecordedRequest['cacheMarkers'] {
  const marked = (value: unknown) => typeof value === 'object' && value !== null && 'cache_control' in value && value.cache_control != null;
  return {
    tools: (body.tools ?? []).filter(marked).length,
    system: Array.isArray(body.system) ? body.system.filter(marked).length : 0,
    messages: body.messages.flatMap((message) => (Array.isArray(message.content) ? message.content : [])).filter(marked).length,
    topLevel: body.cache_control != null,
  };
}

/**
 * The prompt cache as the API bills it, in estimated tokens (4 characters each): the
 * request is a prefix of tools, system blocks and message blocks; a block with a
 * `cache_control` marker (and the last block, when the request has its own marker) is a
 * breakpoint, whose prefix is written to the cache. The longest prefix written before that
 * ends at or before the last breakpoint is read; the rest up to it is written; what
 * follows is plain input.
 */
class PromptCache {
  readonly #seen = new Set<string>();

  bill(body: RequestBody): { input_tokens: number; cache_read_input_tokens: number; cache_creation_input_tokens: number } {
    const blocks: unknown[] = [
      ...(body.tools ?? []),
      ...(typeof body.system === 'string' ? [{ type: 'text', text: body.system }] : (body.system ?? [])),
      ...body.messages.flatMap((message) =>
        typeof message.content === 'string' ? [{ role: message.role, type: 'text', text: message.content }] : Array.isArray(message.content) ? message.content : [],
      ),
    ];
    const hash = createHash('sha256');
    const prefixes: { key: string; tokens: number; breakpoint: boolean }[] = [];
    let tokens = 0;
    for (const [index, block] of blocks.entries()) {
      const { cache_control: marker, ...rest } = block as { cache_control?: unknown };
      const text = JSON.stringify(rest);
      hash.update(text);
      tokens += Math.ceil(text.length / 4);
      const breakpoint = (marker !== undefined && marker !== null) || (index === blocks.length - 1 && body.cache_control != null);
      prefixes.push({ key: hash.copy().digest('hex'), tokens, breakpoint });
    }
    const lastBreakpoint = prefixes.findLastIndex((prefix) => prefix.breakpoint);
    const hit = prefixes.slice(0, lastBreakpoint + 1).findLast((prefix) => this.#seen.has(prefix.key));
    for (const prefix of prefixes) if (prefix.breakpoint) this.#seen.add(prefix.key);
    const read = hit?.tokens ?? 0;
    const written = lastBreakpoint === -1 ? 0 : (prefixes[lastBreakpoint]?.tokens ?? 0);
    const creation = Math.max(0, written - read);
    return { input_tokens: tokens - read - creation, cache_read_input_tokens: read, cache_creation_input_tokens: creation };
  }
}

/** A running stand-in. */
export interface ScriptedMessagesServer {
  /** Give this to the SDK as `baseURL`. */
  url: string;
  /** Every request so far, oldest first. */
  requests: RecordedRequest[];
  close(): Promise<void>;
}

/** Serves {@link createScriptedMessagesApp} on a free loopback port. */
export async function startScriptedMessagesServer(
  scenarios: Scenario | readonly Scenario[],
  options: ScriptedMessagesOptions = {},
): Promise<ScriptedMessagesServer> {
  const { app, requests } = createScriptedMessagesApp(scenarios, options);
  return new Promise((resolve) => {
    const server = serve({ fetch: app.fetch, hostname: '127.0.0.1', port: options.port ?? 0 }, (info) => {
      resolve({
        url: `http://127.0.0.1:${info.port}`,
        requests,
        close: () =>
          new Promise((done) => {
            server.close(() => done());
            // A slow stream still open must not hold the close up.
            if ('closeAllConnections' in server) server.closeAllConnections();
          }),
      });
    });
  });
}

/** What {@link fixByReplacingScript} needs to know about the repository. */
export interface FixByReplacingOptions {
  /** The file to fix, relative to the repository root. */
  file: string;
  oldText: string;
  newText: string;
  /** Runs the tests, such as `sh test.sh`. */
  testCommand: string;
}

/**
 * A four-turn script of a worker that fixes a bug: read the file, replace the faulty
 * text, run the tests, and summarise what the test run showed.
 */
export function fixByReplacingScript(options: FixByReplacingOptions): ScriptedTurn[] {
  return [
    [
      { type: 'text', text: `Let me look at ${options.file} first.` },
      { type: 'tool_use', name: 'bash', input: { command: `cat ${options.file}` } },
    ],
    [{ type: 'tool_use', name: 'str_replace_based_edit_tool', input: { command: 'str_replace', path: options.file, old_str: options.oldText, new_str: options.newText } }],
    [{ type: 'tool_use', name: 'bash', input: { command: options.testCommand } }],
    (request) => {
      const run = request.lastToolResults.at(-1);
      const passed = run !== undefined && !run.isError && !run.content.includes('[exit code');
      return [
        {
          type: 'text',
          text: passed
            ? `Replaced \`${options.oldText}\` with \`${options.newText}\` in ${options.file}; the tests pass now.`
            : `Replaced \`${options.oldText}\` with \`${options.newText}\` in ${options.file}, but the tests still fail.`,
        },
      ];
    },
  ];
}

/**
 * A worker asked for a plan (PROTOCOL 5, Approvals): its first command is refused, so it
 * proposes its plan with `submit_plan`, and again, revised, while it is not approved; once
 * approved it fixes the bug as {@link fixByReplacingScript} does, running the tests again
 * after a person did not approve that command. Steps follow what the tools answered, so
 * any number of answers fits.
 */
export function planFirstScenario(options: FixByReplacingOptions, name = 'plan first'): Scenario {
  const last = (request: ScriptedRequest) => request.lastToolResults.at(-1)?.content ?? '';
  const approved = (request: ScriptedRequest) => request.mentions('Your plan is approved');
  return {
    name,
    steps: [
      { when: (request) => request.turn === 0, answer: [{ type: 'tool_use', name: 'bash', input: { command: `cat ${options.file}` } }] },
      {
        when: (request) => !approved(request),
        answer: (request) => [
          {
            type: 'tool_use',
            name: PLAN_TOOL,
            input: {
              plan: last(request).includes('was not approved')
                ? `Revised: replace \`${options.oldText}\` with \`${options.newText}\` in ${options.file}, then run \`${options.testCommand}\`.`
                : `Replace \`${options.oldText}\` with \`${options.newText}\` in ${options.file}.`,
            },
          },
        ],
      },
      {
        when: (request) => last(request).startsWith('Your plan is approved'),
        answer: [{ type: 'tool_use', name: 'str_replace_based_edit_tool', input: { command: 'str_replace', path: options.file, old_str: options.oldText, new_str: options.newText } }],
      },
      {
        when: (request) => last(request).startsWith(`Edited ${options.file}`) || last(request).includes('did not approve this command'),
        answer: [{ type: 'tool_use', name: 'bash', input: { command: options.testCommand } }],
      },
      {
        answer: (request) => [{ type: 'text', text: last(request).includes('[exit code') ? 'The tests still fail.' : 'Fixed; the tests pass now.' }],
      },
    ],
  };
}
