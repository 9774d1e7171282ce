import { randomUUID } from 'node:crypto';
import { AgentSpawnPayloadSchema, estimateCost, type AgentType } from '@mosaic-fed/core';
import { afterAll, describe, expect, it } from 'vitest';
import { LocalOrchestrator } from '../src/index.js';
import { createClaudeRunners } from '../src/anthropic.js';
import { GitWorkspaceProvider } from '../src/node.js';
import type { ScriptedRequest, ScriptedTurn } from '../src/testing.js';
import { createFixtureRepository, processSandboxes, scriptedClient } from './helpers.js';

// The built-in runners through the real SDK: the editor tool's commands and errors as
// the model sees them, and what each agent type returns.
const repository = createFixtureRepository();
const closers: (() => Promise<void>)[] = [];

afterAll(async () => {
  for (const close of closers) await close();
  repository.remove();
});

async function run(agentType: AgentType, script: ScriptedTurn[], budget: { maxTokens?: number; maxRetries?: number } = {}) {
  const { client, server } = await scriptedClient(script);
  const orchestrator = new LocalOrchestrator({
    sandboxes: processSandboxes(),
    workspaces: new GitWorkspaceProvider({ allowFileUrls: true }),
    runners: createClaudeRunners({ client, maxTurns: 6 }),
  });
  closers.push(() => orchestrator.close(), () => server.close());
  const agentId = randomUUID();
  await orchestrator.spawn({
    agentId,
    ownerInstanceId: randomUUID(),
    spec: AgentSpawnPayloadSchema.parse({
      taskId: `t-${agentType}`,
      agentType,
      context: { repository: repository.url, branch: 'main' },
      ...(budget.maxRetries === undefined ? {} : { options: { maxRetries: budget.maxRetries } }),
    }),
    ...(budget.maxTokens === undefined ? {} : { maxTokens: budget.maxTokens }),
  });
  for await (const event of orchestrator.watch(agentId)) void event;
  return Object.assign(await orchestrator.getStatus(agentId), { modelRequests: server.requests.length });
}

describe('built-in runners', () => {
  it('a reviewer reads with the editor, sees its mistakes as tool errors, and returns findings', async () => {
    const seen: ScriptedRequest[] = [];
    const script: ScriptedTurn[] = [
      [{ type: 'tool_use', name: 'str_replace_based_edit_tool', input: { command: 'view', path: 'calc.sh' } }],
      (request) => {
        seen.push(request);
        return [{ type: 'tool_use', name: 'str_replace_based_edit_tool', input: { command: 'str_replace', path: 'calc.sh', old_str: 'multiply', new_str: 'x' } }];
      },
      (request) => {
        seen.push(request);
        return [{ type: 'tool_use', name: 'str_replace_based_edit_tool', input: { command: 'view', path: '../../etc/passwd' } }];
      },
      (request) => {
        seen.push(request);
        return [{ type: 'text', text: 'Request changes: one bug.\n- calc.sh:2 subtracts where add should add.' }];
      },
    ];
    const status = await run('reviewer', script);
    expect(seen[0]?.lastToolResults).toEqual([{ content: expect.stringContaining('     2\t  echo $(($1 - $2))'), isError: false }]);
    expect(seen[1]?.lastToolResults[0]).toMatchObject({ isError: true, content: expect.stringContaining('does not appear in calc.sh') });
    expect(seen[2]?.lastToolResults[0]).toMatchObject({ isError: true, content: expect.stringContaining('outside the repository') });
    expect(status).toMatchObject({ status: 'completed', result: { summary: 'Request changes: one bug.' } });
    expect(status.result?.artifacts).toEqual([
      { name: 'findings.md', mediaType: 'text/markdown', content: 'Request changes: one bug.\n- calc.sh:2 subtracts where add should add.' },
    ]);
    expect(status.result?.patch).toBeUndefined();
  });

  it('a tester runs the tests and reports; an insert given as new_str is accepted', async () => {
    const seen: ScriptedRequest[] = [];
    const script: ScriptedTurn[] = [
      [
        { type: 'tool_use', name: 'bash', input: { command: 'sh test.sh' } },
        { type: 'tool_use', name: 'str_replace_based_edit_tool', input: { command: 'insert', path: 'calc.sh', insert_line: 0, new_str: '# calculator' } },
        { type: 'tool_use', name: 'str_replace_based_edit_tool', input: { command: 'view', path: 'NOTES' } },
      ],
      (request) => {
        seen.push(request);
        return [{ type: 'text', text: 'Failed: 1 of 1.\nadd 2 3 gave -1, expected 5.' }];
      },
    ];
    const status = await run('tester', script);
    expect(seen[0]?.lastToolResults).toEqual([
      { content: 'FAIL: add 2 3 = -1, expected 5\n[exit code 1]', isError: false },
      { content: 'Inserted into calc.sh after line 0.', isError: false },
      // A missing file is an error the model can read, without host paths.
      { content: 'Error: NOTES does not exist', isError: true },
    ]);
    // A tester may change its copy (build, fixtures), but its changes are never sent back.
    expect(status.result?.patch).toBeUndefined();
    expect(status.result).toMatchObject({ summary: 'Failed: 1 of 1.', artifacts: [{ name: 'test-report.md' }] });
    expect(status.result?.usage?.outputTokens).toBeGreaterThan(0);
  });

  it('a reviewer cannot change a file, even one its edit would match: the sandbox refuses', async () => {
    const seen: ScriptedRequest[] = [];
    const script: ScriptedTurn[] = [
      [{ type: 'tool_use', name: 'str_replace_based_edit_tool', input: { command: 'str_replace', path: 'calc.sh', old_str: '$1 - $2', new_str: '$1 + $2' } }],
      (request) => {
        seen.push(request);
        return [{ type: 'text', text: 'Approve.' }];
      },
    ];
    const status = await run('reviewer', script);
    expect(seen[0]?.lastToolResults[0]).toMatchObject({ isError: true, content: expect.stringContaining('read-only') });
    expect(status).toMatchObject({ status: 'completed', result: { summary: 'Approve.' } });
    expect(status.result?.patch).toBeUndefined();
  });

  it('stops an agent at the turn that reaches its token budget, and tries no other attempt', async () => {
    const tool = (outputTokens: number): ScriptedTurn => () => ({ content: [{ type: 'tool_use', name: 'bash', input: { command: 'true' } }], outputTokens });
    const script = [tool(10), tool(200_000), tool(10), [{ type: 'text' as const, text: 'Done.' }]];
    const stopped = await run('worker', script, { maxTokens: 100_000, maxRetries: 2 });
    expect(stopped).toMatchObject({ status: 'failed', attempt: 1 });
    expect(stopped.error).toMatch(/^the agent used its budget of 100,000 model tokens \([\d,]+ used\)$/);
    expect(stopped.modelRequests).toBe(2);
    // Under the budget the same script runs to its end.
    const done = await run('worker', script, { maxTokens: 1_000_000 });
    expect(done).toMatchObject({ status: 'completed', modelRequests: 4 });
    expect(done.result?.usage?.outputTokens).toBeGreaterThanOrEqual(200_020);
  });

  it('fails an agent that reaches its turn limit', async () => {
    const loop: ScriptedTurn = [{ type: 'tool_use', name: 'bash', input: { command: 'true' } }];
    const status = await run('worker', Array.from({ length: 10 }, () => loop));
    expect(status).toMatchObject({ status: 'failed', error: 'the agent reached its limit of 6 turns' });
  });

  it("reports the run's tokens turn by turn in its progress, its attempts together, with the price table's cost", async () => {
    let firstAttempt = true;
    const tool = (outputTokens: number): ScriptedTurn => () => ({ content: [{ type: 'tool_use', name: 'bash', input: { command: 'true' } }], outputTokens });
    const script: ScriptedTurn[] = [
      tool(1_000),
      // The first attempt fails on its second request; the second attempt runs to its end.
      () => {
        if (firstAttempt) {
          firstAttempt = false;
          return { error: 'invalid_request' };
        }
        return { content: [{ type: 'tool_use', name: 'bash', input: { command: 'true' } }], outputTokens: 2_000 };
      },
      [{ type: 'text', text: 'Done.' }],
    ];
    const { client, server } = await scriptedClient(script);
    const prices = { currency: 'USD', models: { '*': { inputPerMillion: 3, outputPerMillion: 15 } } };
    const orchestrator = new LocalOrchestrator({
      sandboxes: processSandboxes(),
      workspaces: new GitWorkspaceProvider({ allowFileUrls: true }),
      runners: createClaudeRunners({ client, maxTurns: 6, prices }),
      progressIntervalMs: 10,
    });
    closers.push(() => orchestrator.close(), () => server.close());
    const agentId = randomUUID();
    await orchestrator.spawn({
      agentId,
      ownerInstanceId: randomUUID(),
      spec: AgentSpawnPayloadSchema.parse({ taskId: 't-usage', agentType: 'worker', context: { repository: repository.url, branch: 'main' }, options: { maxRetries: 1 } }),
    });
    const events = [];
    for await (const event of orchestrator.watch(agentId)) events.push(event);
    const last = events.at(-1);
    expect(last).toMatchObject({ status: 'completed', attempt: 2 });
    // Every attempt's output: 1,000 from the first, 1,000 + 2,000 + the answer's from the second.
    const usage = last?.result?.usage;
    expect(usage?.outputTokens).toBeGreaterThan(4_000);
    const billed = server.requests.flatMap((request) => (request.usage === null ? [] : [request.usage]));
    expect(usage?.outputTokens).toBe(billed.reduce((sum, request) => sum + request.output_tokens, 0));
    expect(usage?.inputTokens).toBe(billed.reduce((sum, request) => sum + request.input_tokens, 0));
    expect(usage?.estimatedCost?.currency).toBe('USD');
    expect(usage?.estimatedCost?.amount).toBeCloseTo(estimateCost(usage ?? { inputTokens: 0, outputTokens: 0 }, 'claude-sonnet-5-5', prices)?.amount ?? -1, 5);
    // While it ran, its progress said what it had used so far, never less than before.
    const seen = events.flatMap((event) => (event.progress?.usage === undefined ? [] : [event.progress.usage.outputTokens]));
    expect(seen.length).toBeGreaterThan(1);
    expect(seen).toEqual([...seen].sort((a, b) => a - b));
    expect(last?.progress?.usage).toEqual(usage);
  });
});
