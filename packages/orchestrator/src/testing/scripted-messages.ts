// A scripted Messages API server: it replays a tool-use conversation so the real
// Anthropic SDK (pointed at it by `baseURL`) drives real tools without a network or a
// model. It serves the test suite and the offline demo. It is stateless: the turn is
// the number of assistant messages in the request, as the runners send the full history
// every turn (`thread: false`), so any number of agents can share one server.
import { serve } from '@hono/node-server';
import { Hono } from 'hono';
import { z } from 'zod';

/** A content block the scripted model answers with; tool-use ids are added by the server. */
export type ScriptedBlock = { type: 'text'; text: string } | { type: 'tool_use'; name: string; input: Record<string, unknown> };

/** What the scripted model sees of a request. */
export interface ScriptedRequest {
  /** 0 for the first request of a conversation, then one more per assistant reply. */
  turn: number;
  system: string;
  messages: { role: 'user' | 'assistant'; content: unknown }[];
  /** The text of the tool results in the last user message, in order. */
  lastToolResults: { content: string; isError: boolean }[];
}

/** One turn of the script: fixed blocks, or blocks computed from the request. */
export type ScriptedTurn = ScriptedBlock[] | ((request: ScriptedRequest) => ScriptedBlock[]);

const RequestSchema = z.looseObject({
  model: z.string(),
  max_tokens: z.number(),
  system: z.union([z.string(), z.array(z.looseObject({ text: z.string() }))]).optional(),
  messages: z.array(z.looseObject({ role: z.enum(['user', 'assistant']), content: z.unknown() })),
});

/**
 * The scripted server as a Hono app: `POST /v1/messages` answers turn `n` of `script`.
 * A conversation that runs past the script gets a final text answer; a turn that
 * throws is answered with a 500 `api_error`, as an overloaded API would.
 */
export function createScriptedMessagesApp(script: readonly ScriptedTurn[]): Hono {
  const app = new Hono();
  // A turn that throws answers as the API does when it fails: a 500 `api_error`.
  app.onError((error, c) =>
    c.json({ type: 'error', error: { type: 'api_error', message: error instanceof Error ? error.message : 'scripted failure' } }, 500),
  );
  return app.post('/v1/messages', async (c) => {
    if (c.req.header('x-api-key') === undefined && c.req.header('authorization') === undefined) {
      return c.json({ type: 'error', error: { type: 'authentication_error', message: 'no API key' } }, 401);
    }
    const parsed = RequestSchema.safeParse(await c.req.json().catch(() => undefined));
    if (!parsed.success) {
      return c.json({ type: 'error', error: { type: 'invalid_request_error', message: parsed.error.message } }, 400);
    }
    const body = parsed.data;
    const turn = body.messages.filter((message) => message.role === 'assistant').length;
    const request: ScriptedRequest = {
      turn,
      system: typeof body.system === 'string' ? body.system : (body.system ?? []).map((block) => block.text).join('\n'),
      messages: body.messages,
      lastToolResults: toolResultsOf(body.messages.at(-1)?.content),
    };
    const step = script[turn] ?? [{ type: 'text', text: 'The script has ended.' }];
    const blocks = typeof step === 'function' ? step(request) : step;
    const content = blocks.map((block, index) => (block.type === 'tool_use' ? { ...block, id: `toolu_${turn}_${index}` } : block));
    const requestChars = JSON.stringify(body.messages).length + request.system.length;
    return c.json({
      id: `msg_scripted_${turn}`,
      type: 'message',
      role: 'assistant',
      model: body.model,
      content,
      stop_reason: content.some((block) => block.type === 'tool_use') ? 'tool_use' : 'end_turn',
      stop_sequence: null,
      usage: {
        input_tokens: Math.ceil(requestChars / 4),
        output_tokens: Math.ceil(JSON.stringify(content).length / 4),
        cache_read_input_tokens: 0,
        cache_creation_input_tokens: 0,
      },
    });
  });
}

function toolResultsOf(content: unknown): { content: string; isError: boolean }[] {
  if (!Array.isArray(content)) return [];
  return content.flatMap((block: { type?: unknown; content?: unknown; is_error?: unknown }) => {
    if (block.type !== 'tool_result') return [];
    const text = typeof block.content === 'string'
      ? block.content
      : Array.isArray(block.content)
        ? block.content.map((part: { text?: unknown }) => (typeof part.text === 'string' ? part.text : '')).join('')
        : '';
    return [{ content: text, isError: block.is_error === true }];
  });
}

/** A running scripted server. */
export interface ScriptedMessagesServer {
  /** Give this to the SDK as `baseURL`. */
  url: string;
  close(): Promise<void>;
}

/** Serves {@link createScriptedMessagesApp} on a free loopback port. */
export async function startScriptedMessagesServer(script: readonly ScriptedTurn[]): Promise<ScriptedMessagesServer> {
  const app = createScriptedMessagesApp(script);
  return new Promise((resolve) => {
    const server = serve({ fetch: app.fetch, hostname: '127.0.0.1', port: 0 }, (info) => {
      resolve({
        url: `http://127.0.0.1:${info.port}`,
        close: () => new Promise((done) => server.close(() => done())),
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
