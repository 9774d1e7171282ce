import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AgentSpawnPayloadSchema, type AgentStatusChangedPayload, type AgentType } from '@mosaic-fed/core';
import { afterAll, describe, expect, it } from 'vitest';
import { CLEARED_OUTPUT, CONTEXT_FULL, createClaudeRunners, type ClaudeRunnerOptions } from '../src/anthropic.js';
import { LocalOrchestrator } from '../src/index.js';
import { GitWorkspaceProvider } from '../src/node.js';
import {
  createDemoRepository,
  demoScenarios,
  turnByTurn,
  type Scenario,
  type ScriptedBlock,
  type ScriptedMessagesOptions,
  type ScriptedTurn,
} from '../src/testing.js';
import { processSandboxes, scriptedClient } from './helpers.js';

// The built-in runners against a stand-in model that answers what the real API can:
// every stop reason, overload and rate limits, a context window that fills, and a prompt
// cache that bills what the request's markers ask for.
const work = mkdtempSync(join(tmpdir(), 'mosaic-model-failures-'));
const repositories = { calc: createDemoRepository(join(work, 'calc'), 'calc'), slug: createDemoRepository(join(work, 'slug'), 'slug') };
const closers: (() => Promise<void>)[] = [];

afterAll(async () => {
  for (const close of closers) await close();
  rmSync(work, { recursive: true, force: true });
});

interface RunOptions {
  agentType?: AgentType;
  repository?: keyof typeof repositories;
  runner?: Partial<ClaudeRunnerOptions>;
  model?: ScriptedMessagesOptions;
  /** Kill the agent once an event satisfies this. */
  killWhen?: (event: AgentStatusChangedPayload) => boolean;
}

async function run(script: readonly ScriptedTurn[] | Scenario | readonly Scenario[], options: RunOptions = {}) {
  const { client, server } = await scriptedClient(script, options.model);
  const orchestrator = new LocalOrchestrator({
    sandboxes: processSandboxes(),
    workspaces: new GitWorkspaceProvider({ allowFileUrls: true }),
    runners: createClaudeRunners({ client, maxTurns: 12, retryDelayMs: { first: 20, max: 200 }, ...options.runner }),
    progressIntervalMs: 0,
  });
  closers.push(() => orchestrator.close(), () => server.close());
  const agentId = randomUUID();
  const agentType = options.agentType ?? 'worker';
  await orchestrator.spawn({
    agentId,
    ownerInstanceId: randomUUID(),
    spec: AgentSpawnPayloadSchema.parse({
      taskId: `t-${agentType}`,
      agentType,
      context: { repository: repositories[options.repository ?? 'calc'], branch: 'main' },
    }),
  });
  const events: AgentStatusChangedPayload[] = [];
  const started = Date.now();
  let killedAfterMs: number | undefined;
  for await (const event of orchestrator.watch(agentId)) {
    events.push(event);
    if (killedAfterMs === undefined && options.killWhen?.(event) === true) {
      const asked = Date.now();
      await orchestrator.kill(agentId);
      killedAfterMs = Date.now() - asked;
    }
  }
  const status = await orchestrator.getStatus(agentId);
  const transcript = await orchestrator.transcript(agentId, { after: 0, limit: 500 });
  return { status, transcript, requests: server.requests, actions: events.flatMap((event) => event.progress?.lastAction ?? []), killedAfterMs, tookMs: Date.now() - started };
}

const edit = (oldStr: string, newStr: string): ScriptedBlock[] => [
  { type: 'tool_use', name: 'str_replace_based_edit_tool', input: { command: 'str_replace', path: 'calc.sh', old_str: oldStr, new_str: newStr } },
];
const bash = (command: string): ScriptedBlock[] => [{ type: 'tool_use', name: 'bash', input: { command } }];
const done = (text = 'Done.'): ScriptedBlock[] => [{ type: 'text', text }];

describe('stop reasons', () => {
  it('a reply cut off by max_tokens in the middle of a tool call is asked again with more room; the cut call never runs', async () => {
    const scenario: Scenario = {
      name: 'cut off once',
      steps: [
        // The first try of turn 0 stops half-way through the edit's input.
        { when: (request) => request.turn === 0, times: 1, answer: { content: edit('$1 - $2', '$1 + $2'), stopReason: 'max_tokens' } },
        ...turnByTurn([edit('$1 - $2', '$1 + $2'), bash('sh test.sh'), done('Fixed.')]).steps,
      ],
    };
    const { status, requests, actions } = await run(scenario, { runner: { maxTokens: 1_000, maxTokensCeiling: 4_000 } });
    expect(requests.map((request) => [request.turn, request.maxTokens])).toEqual([
      [0, 1_000],
      [0, 2_000],
      [1, 2_000],
      [2, 2_000],
    ]);
    expect(actions).toContain('the reply was cut off at 1000 tokens; asking again with room for 2000');
    expect(status).toMatchObject({ status: 'completed', attempt: 1, result: { outcome: 'succeeded' } });
    // One edit, made once: a half-written call would have failed or left the file broken.
    expect(status.result?.patch).toContain('+  echo $(($1 + $2))');
  });

  it('a reply still cut off at the ceiling fails the attempt with a plain reason, never completed', async () => {
    const cut: Scenario = { name: 'always cut off', steps: [{ answer: { content: edit('$1 - $2', '$1 + $2'), stopReason: 'max_tokens' } }] };
    const { status, requests } = await run(cut, { runner: { maxTokens: 1_000, maxTokensCeiling: 3_000 } });
    expect(requests.map((request) => request.maxTokens)).toEqual([1_000, 2_000, 3_000]);
    expect(status).toMatchObject({
      status: 'failed',
      error: "the model's reply was cut off at its limit of 3000 tokens in the middle of a tool call",
      result: null,
    });
  });

  it('a final answer cut off by max_tokens is not taken as the summary', async () => {
    const cut: Scenario = { name: 'answer cut off', steps: [{ answer: { content: [{ type: 'text', text: 'I fixed everything and' }], stopReason: 'max_tokens' } }] };
    const { status } = await run(cut, { runner: { maxTokens: 1_000, maxTokensCeiling: 1_000 } });
    expect(status).toMatchObject({ status: 'failed', error: "the model's reply was cut off at its limit of 1000 tokens" });
  });

  it('a paused turn is sent back for the model to go on with', async () => {
    let resumed: unknown;
    const { status, requests } = await run([
      () => ({ content: [{ type: 'text', text: 'Thinking it over.' }], stopReason: 'pause_turn' }),
      (request) => {
        resumed = request.messages.at(-1);
        return done('Nothing to change.');
      },
    ]);
    expect(requests).toHaveLength(2);
    // The paused reply goes back as the last message, for the model to continue.
    expect(resumed).toMatchObject({ role: 'assistant', content: [{ type: 'text', text: 'Thinking it over.' }] });
    expect(status).toMatchObject({ status: 'completed', result: { summary: 'Nothing to change.', outcome: 'no-changes' } });
  });

  it('a refusal fails the attempt', async () => {
    const { status } = await run([() => ({ content: [{ type: 'text', text: 'I cannot help with that.' }], stopReason: 'refusal' })]);
    expect(status).toMatchObject({ status: 'failed', error: 'the model declined the task' });
  });

});

describe('retries', () => {
  it('waits out 429s as retry-after says and goes on with the same conversation: tools that ran do not run again', async () => {
    const scenario: Scenario = {
      name: 'rate limited after the first tool call',
      steps: [
        { when: (request) => request.turn === 1, times: 2, answer: { error: 'rate_limit', retryAfterSeconds: 1 } },
        ...turnByTurn([bash('echo ran >> ran.txt'), done('Wrote ran.txt.')]).steps,
      ],
    };
    const { status, requests, actions, tookMs, transcript } = await run(scenario);
    expect(requests.map((request) => request.status)).toEqual([200, 429, 429, 200]);
    // The transcript tells the story: one command, two waits, the answer.
    expect(transcript.map((entry) => [entry.kind, entry.input])).toEqual([
      ['tool', 'echo ran >> ran.txt'],
      ['note', "the model's API is rate-limiting this spoke (429); retry 1 in 1 s"],
      ['note', "the model's API is rate-limiting this spoke (429); retry 2 in 1 s"],
      ['text', 'Wrote ran.txt.'],
    ]);
    expect(requests.map((request) => request.turn)).toEqual([0, 1, 1, 1]);
    expect(tookMs).toBeGreaterThanOrEqual(2_000);
    expect(actions).toContain("the model's API is rate-limiting this spoke (429); retry 1 in 1 s");
    expect(actions).toContain("the model's API is rate-limiting this spoke (429); retry 2 in 1 s");
    // The same attempt, and the command ran once.
    expect(status).toMatchObject({ status: 'completed', attempt: 1 });
    expect(status.result?.patch?.match(/^\+ran$/gm)).toEqual(['+ran']);
  });

  it('rides out a burst of 529s with backoff', async () => {
    const scenario: Scenario = {
      name: 'overloaded',
      steps: [{ when: (request) => request.turn === 0, times: 4, answer: { error: 'overloaded' } }, ...turnByTurn([done('Nothing to do.')]).steps],
    };
    const { status, requests, actions } = await run(scenario);
    expect(requests.map((request) => request.status)).toEqual([529, 529, 529, 529, 200]);
    expect(actions.filter((action) => action.startsWith("the model's API is overloaded (529); retry"))).toHaveLength(4);
    expect(status).toMatchObject({ status: 'completed', attempt: 1 });
  });

  it('gives up when the API stays overloaded past retryForMs, and says so', async () => {
    const { status, requests } = await run({ name: 'down', steps: [{ answer: { error: 'overloaded' } }] }, { runner: { retryForMs: 300 } });
    expect(requests.length).toBeGreaterThan(2);
    expect(status).toMatchObject({ status: 'failed' });
    expect(status.error).toMatch(/^the model's API is overloaded \(529\), and still did after \d+ s of retries$/);
  });

  it('does not retry a request the API refuses as invalid, and keeps the API\'s words out of the reason', async () => {
    const { status, requests } = await run([() => ({ error: 'invalid_request' })]);
    expect(requests).toHaveLength(1);
    expect(status).toMatchObject({ status: 'failed', error: "the model's API answered 400" });
  });

  it('retries server errors too, within retryForMs', async () => {
    const scenario: Scenario = { name: 'flaky', steps: [{ times: 2, answer: { error: 'api_error' } }, ...turnByTurn([done()]).steps] };
    const { status, requests } = await run(scenario);
    expect(requests.map((request) => request.status)).toEqual([500, 500, 200]);
    expect(status).toMatchObject({ status: 'completed', attempt: 1 });
  });
});

describe('the context window', () => {
  const bigOutput = (tag: string): ScriptedTurn => bash(`echo ${tag}; head -c 16000 /dev/zero | tr '\\0' x`);

  it('a prompt grown too long loses its oldest tool outputs and goes on', async () => {
    let cleared = false;
    const { status, requests, actions } = await run(
      [
        bigOutput('one'),
        bigOutput('two'),
        bigOutput('three'),
        bigOutput('four'),
        bigOutput('five'),
        (request) => {
          cleared = request.mentions(CLEARED_OUTPUT);
          return done('Read them all.');
        },
      ],
      { model: { contextWindowTokens: 18_000 } },
    );
    expect(requests.some((request) => request.status === 400)).toBe(true);
    expect(cleared).toBe(true);
    expect(actions).toContain('the conversation was too long for the model; cleared old tool outputs');
    expect(status).toMatchObject({ status: 'completed', result: { summary: 'Read them all.' } });
  });

  it('fails plainly when even a conversation without old outputs does not fit', async () => {
    // Over this window even with no tool output in it: clearing cannot help.
    const { status, requests } = await run([bigOutput('one'), done()], { model: { contextWindowTokens: 200 } });
    expect(requests.at(-1)?.status).toBe(400);
    expect(status).toMatchObject({ status: 'failed', error: CONTEXT_FULL });
  });

  it('asks the API to clear old tool uses well before the window fills', async () => {
    const { requests } = await run([done()], { runner: { contextWindow: 100_000 } });
    expect(requests[0]?.betas).toContain('context-management-2025-06-27');
    expect(requests[0]?.contextManagement).toEqual({
      edits: [
        {
          type: 'clear_tool_uses_20250919',
          trigger: { type: 'input_tokens', value: 60_000 },
          keep: { type: 'tool_uses', value: 5 },
          clear_at_least: { type: 'input_tokens', value: 10_000 },
        },
      ],
    });
  });
});

describe('prompt caching', () => {
  it('marks tools, system prompt and conversation, and keeps a ten-turn session billed near linear', async () => {
    const turns: ScriptedTurn[] = [...Array.from({ length: 9 }, (_, index) => bash(`echo turn ${index}; seq 1 200`)), done('Ten turns.')];
    const { status, requests } = await run(turns);
    expect(requests).toHaveLength(10);
    for (const request of requests) expect(request.cacheMarkers).toEqual({ tools: 1, system: 1, messages: 0, topLevel: true });
    const usages = requests.flatMap((request) => request.usage ?? []);
    const total = (usage: (typeof usages)[number]) => usage.input_tokens + usage.cache_read_input_tokens + usage.cache_creation_input_tokens;
    // From the second turn on, everything sent before is read from the cache.
    for (const usage of usages.slice(1)) expect(usage.cache_read_input_tokens).toBeGreaterThan(0);
    const billedFresh = usages.reduce((sum, usage) => sum + usage.input_tokens + usage.cache_creation_input_tokens, 0);
    const sentInAll = usages.reduce((sum, usage) => sum + total(usage), 0);
    const last = usages.slice(-1).reduce((sum, usage) => sum + total(usage), 0);
    // Uncached input over the session is about one copy of the final conversation, not the sum of all of them.
    expect(billedFresh).toBeLessThan(1.3 * last);
    expect(sentInAll).toBeGreaterThan(4 * last);
    expect(status.result?.usage).toMatchObject({
      cacheReadInputTokens: usages.reduce((sum, usage) => sum + usage.cache_read_input_tokens, 0),
      cacheCreationInputTokens: usages.reduce((sum, usage) => sum + usage.cache_creation_input_tokens, 0),
    });
  });

  it('sizes max_tokens for the model family, and passes thinking and effort when set', async () => {
    const sonnet = await run([done()]);
    expect(sonnet.requests[0]).toMatchObject({ model: 'claude-sonnet-5-5', maxTokens: 32_000, stream: true, thinking: undefined });
    const haiku = await run([done()], { runner: { model: 'claude-haiku-4-5', thinking: { type: 'adaptive' }, effort: 'medium' } });
    expect(haiku.requests[0]).toMatchObject({ maxTokens: 16_000, thinking: { type: 'adaptive' }, outputConfig: { effort: 'medium' } });
  });
});

describe('slow streams', () => {
  it('a kill aborts a reply that is still streaming', async () => {
    const slow: Scenario = {
      name: 'slow',
      steps: [{ answer: { content: [{ type: 'text', text: 'a long answer '.repeat(40) }], eventDelayMs: 250 } }],
    };
    const { status, killedAfterMs } = await run(slow, { killWhen: (event) => event.status === 'running' });
    expect(status.status).toBe('killed');
    expect(killedAfterMs).toBeLessThan(2_000);
  });

  it('a slow but steady stream is read to its end', async () => {
    const slow: Scenario = { name: 'slow', steps: [{ answer: { content: [{ type: 'text', text: 'Slowly done.' }], eventDelayMs: 40 } }] };
    const { status } = await run(slow);
    expect(status).toMatchObject({ status: 'completed', result: { summary: 'Slowly done.' } });
  });
});

describe('outcomes from the sandbox', () => {
  it('a worker that changed nothing ends no-changes, whatever it says', async () => {
    const { status } = await run([bash('sh test.sh'), done('Fixed the bug, all tests pass.')]);
    expect(status.result).toMatchObject({ outcome: 'no-changes', checks: [{ command: 'sh test.sh', exitCode: 1 }] });
  });

  it('a worker whose last test run fails ends checks-failing; a check that passes later counts as passing', async () => {
    const failing = await run([edit('$1 - $2', '$1 * $2'), bash('sh test.sh'), done('Fixed.')]);
    expect(failing.status.result).toMatchObject({ outcome: 'checks-failing', checks: [{ command: 'sh test.sh', exitCode: 1 }] });
    const fixedLater = await run([bash('sh test.sh'), edit('$1 - $2', '$1 + $2'), bash('sh test.sh'), bash('cat test.sh'), done('Fixed.')]);
    expect(fixedLater.status.result).toMatchObject({ outcome: 'succeeded', checks: [{ command: 'sh test.sh', exitCode: 0 }] });
  });

  it('a worker that changed files and ran no check ends unchecked', async () => {
    const { status } = await run([edit('$1 - $2', '$1 + $2'), done('Fixed.')]);
    expect(status.result).toMatchObject({ outcome: 'unchecked' });
    expect(status.result?.checks).toBeUndefined();
  });

  it('a view of a long file is clipped, with how to read the rest', async () => {
    let seen = '';
    await run([
      bash('seq 1 20000 > long.txt'),
      [{ type: 'tool_use', name: 'str_replace_based_edit_tool', input: { command: 'view', path: 'long.txt' } }],
      (request) => {
        seen = request.lastToolResults[0]?.content ?? '';
        return done();
      },
    ]);
    expect(seen.length).toBeLessThan(25_000);
    expect(seen).toMatch(/\[clipped: lines \d+ to 20001 of 20001 are not shown; view them with view_range\]$/);
  });
});

describe('the transcript', () => {
  it('keeps every tool call with its output, clipped and without host paths', async () => {
    const { transcript } = await run([bash('pwd; ls'), bash("head -c 9000 /dev/zero | tr '\\0' y"), bash('cat missing-file'), done('Looked.')]);
    expect(transcript.map((entry) => entry.index)).toEqual([1, 2, 3, 4]);
    expect(transcript.map((entry) => [entry.kind, entry.turn, entry.attempt])).toEqual([
      ['tool', 1, 1],
      ['tool', 2, 1],
      ['tool', 3, 1],
      ['text', 4, 1],
    ]);
    const [listing, big, missing] = transcript;
    expect(listing).toMatchObject({ tool: 'bash', input: 'pwd; ls' });
    // The process sandbox's folder is on the host: the transcript names it <workspace>.
    expect(listing?.output?.split('\n')[0]).toBe('<workspace>');
    expect(JSON.stringify(transcript)).not.toContain(tmpdir());
    expect(big?.output?.length).toBeLessThanOrEqual(4_000);
    expect(big?.output?.endsWith('…')).toBe(true);
    expect(missing?.output).toContain('[exit code 1]');
  });

  it('marks a tool call that failed as an error', async () => {
    const { transcript } = await run([
      [{ type: 'tool_use', name: 'str_replace_based_edit_tool', input: { command: 'view', path: '../../etc/passwd' } }],
      done(),
    ]);
    expect(transcript[0]).toMatchObject({ kind: 'tool', tool: 'str_replace_based_edit_tool', isError: true });
    expect(transcript[0]?.output).toContain('outside the repository');
  });
});

describe('each agent type on a JavaScript repository (not calc.sh)', () => {
  it('a worker fixes slugify and its test run proves it', async () => {
    const { status, requests } = await run(demoScenarios(), { repository: 'slug' });
    expect(requests.map((request) => request.scenario)).toEqual(['look around', 'slug worker', 'slug worker', 'slug worker', 'slug worker']);
    expect(status).toMatchObject({ status: 'completed', result: { outcome: 'succeeded', checks: [{ command: 'node test.js', exitCode: 0 }] } });
    expect(status.result?.patch).toContain('+  return title.trim().toLowerCase()');
    expect(status.result?.patch).not.toContain('calc.sh');
  });

  it('a reviewer reports the bug in slug.js and changes nothing', async () => {
    const { status } = await run(demoScenarios(), { repository: 'slug', agentType: 'reviewer' });
    expect(status).toMatchObject({ status: 'completed', result: { summary: 'Request changes: one bug in slug.js.', outcome: 'succeeded' } });
    expect(status.result?.artifacts?.[0]?.content).toContain('slug.js:2');
    expect(status.result?.patch).toBeUndefined();
  });

  it('a tester runs node test.js and reports the failure it saw', async () => {
    const { status } = await run(demoScenarios(), { repository: 'slug', agentType: 'tester' });
    expect(status).toMatchObject({
      status: 'completed',
      result: { summary: 'Failed: `node test.js` exits with an error.', outcome: 'checks-failing', checks: [{ command: 'node test.js', exitCode: 1 }] },
    });
    expect(status.result?.artifacts?.[0]?.content).toContain('hello-world');
  });

  it('on a repository the stand-in has no scenario for, it says so and the worker changes nothing', async () => {
    const { status } = await run(demoScenarios().filter((scenario) => !scenario.name.startsWith('calc')), { repository: 'calc' });
    expect(status).toMatchObject({ status: 'completed', result: { outcome: 'no-changes' } });
    expect(status.result?.summary).toContain('no scenario');
  });
});
