import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AgentSpawnPayloadSchema, type AgentType } from '@mosaic-fed/core';
import { afterAll, describe, expect, it } from 'vitest';
import { createClaudeRunners } from '../src/anthropic.js';
import { LocalOrchestrator, type SetupOptions } from '../src/index.js';
import { GitWorkspaceProvider } from '../src/node.js';
import { createDemoRepository, type ScriptedTurn } from '../src/testing.js';
import { processSandboxes, scriptedClient } from './helpers.js';

// Setup before the agent: the admin's commands per agent type and the repository's own
// setup file, in the sandbox, before the model's first turn.
const work = mkdtempSync(join(tmpdir(), 'mosaic-setup-'));
const plain = createDemoRepository(join(work, 'plain'));
const withSetupFile = (() => {
  const dir = join(work, 'own-setup');
  createDemoRepository(dir);
  mkdirSync(join(dir, '.mosaic'));
  writeFileSync(join(dir, '.mosaic', 'setup.sh'), 'echo "the repository prepared itself" > .prepared-by-repository\n');
  execFileSync('git', ['-C', dir, 'add', '.'], { stdio: 'pipe' });
  execFileSync('git', ['-C', dir, '-c', 'user.name=t', '-c', 'user.email=t@t.invalid', 'commit', '--quiet', '-m', 'Add a setup file'], { stdio: 'pipe' });
  return `file://${dir}`;
})();
const closers: (() => Promise<void>)[] = [];

afterAll(async () => {
  for (const close of closers) await close();
  rmSync(work, { recursive: true, force: true });
});

async function run(setup: SetupOptions, script: ScriptedTurn[], options: { agentType?: AgentType; repository?: string } = {}) {
  const { client, server } = await scriptedClient(script);
  const orchestrator = new LocalOrchestrator({
    sandboxes: processSandboxes(),
    workspaces: new GitWorkspaceProvider({ allowFileUrls: true }),
    runners: createClaudeRunners({ client, maxTurns: 6 }),
    progressIntervalMs: 0,
    setup,
  });
  closers.push(() => orchestrator.close(), () => server.close());
  const agentId = randomUUID();
  await orchestrator.spawn({
    agentId,
    ownerInstanceId: randomUUID(),
    spec: AgentSpawnPayloadSchema.parse({
      taskId: 'setup',
      agentType: options.agentType ?? 'worker',
      context: { repository: options.repository ?? plain, branch: 'main' },
    }),
  });
  const actions: string[] = [];
  for await (const event of orchestrator.watch(agentId)) if (event.progress?.lastAction !== undefined) actions.push(event.progress.lastAction);
  return {
    status: await orchestrator.getStatus(agentId),
    transcript: await orchestrator.transcript(agentId, { after: 0, limit: 100 }),
    requests: server.requests,
    actions,
  };
}

const look: ScriptedTurn[] = [[{ type: 'tool_use', name: 'bash', input: { command: 'cat .prepared*' } }], [{ type: 'text', text: 'Looked.' }]];

describe('setup before the agent', () => {
  it("runs the admin's commands for the agent's type in the sandbox before the model's first turn, in the transcript", async () => {
    const setup = { commands: { worker: ['echo ready > .prepared', 'echo "installed 3 packages"'], tester: ['echo never > .prepared'] } };
    const { status, transcript, requests, actions } = await run(setup, look);
    expect(status.status).toBe('completed');
    expect(actions).toContain('setting up: echo ready > .prepared');
    expect(transcript.slice(0, 2).map((entry) => [entry.kind, entry.turn, entry.input, entry.output])).toEqual([
      ['setup', 0, 'echo ready > .prepared', '(no output)'],
      ['setup', 0, 'echo "installed 3 packages"', 'installed 3 packages'],
    ]);
    // The model's first request came after: its first command saw what setup made.
    expect(requests[0]?.turn).toBe(0);
    expect(transcript[2]).toMatchObject({ kind: 'tool', input: 'cat .prepared*', output: 'ready' });
    // What setup made is not the agent's work: this worker changed nothing.
    expect(status.result).toMatchObject({ outcome: 'no-changes' });
    expect(status.result?.patch).toBeUndefined();
  });

  it('ends the attempt with a reason naming the step that failed, before the model is asked anything', async () => {
    const { status, transcript, requests } = await run({ commands: { worker: ['echo "no lockfile" >&2; exit 4', 'echo unreached'] } }, look);
    expect(status).toMatchObject({ status: 'failed', error: 'the setup step "echo "no lockfile" >&2; exit 4" failed with exit code 4' });
    expect(requests).toEqual([]);
    expect(transcript).toEqual([expect.objectContaining({ kind: 'setup', isError: true, output: 'no lockfile' })]);
  });

  it("runs the repository's own setup file only where the admin allows it", async () => {
    const refused = await run({}, look, { repository: withSetupFile, agentType: 'tester' });
    expect(refused.transcript.some((entry) => entry.kind === 'setup')).toBe(false);
    const allowed = await run({ repositoryFile: true }, look, { repository: withSetupFile, agentType: 'tester' });
    expect(allowed.transcript[0]).toMatchObject({ kind: 'setup', input: 'sh .mosaic/setup.sh' });
    expect(allowed.transcript[1]).toMatchObject({ kind: 'tool', output: 'the repository prepared itself' });
    // A repository without one is not an error.
    const none = await run({ repositoryFile: true }, look, { agentType: 'tester' });
    expect(none.status.status).toBe('completed');
  });
});
