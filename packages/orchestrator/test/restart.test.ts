import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createClient } from '@libsql/client';
import type { AgentStatusChangedPayload } from '@mosaic-fed/core';
import { afterAll, describe, expect, it } from 'vitest';
import { LocalOrchestrator, ORCHESTRATOR_RESTARTED } from '../src/index.js';
import { createClaudeRunners } from '../src/anthropic.js';
import { createLibsqlAgentStateStore } from '../src/libsql.js';
import { GitWorkspaceProvider, ProcessSandboxProvider } from '../src/node.js';
import { createFixtureRepository, eventually, processesMatching, scriptedClient, sleepScript } from './helpers.js';

// An orchestrator process killed with SIGKILL while its agent runs; a new one over the
// same libSQL file ends that agent as failed with a clear reason, as an event a hub hears.
const repository = createFixtureRepository();
const dir = mkdtempSync(join(tmpdir(), 'mosaic-restart-'));

afterAll(() => {
  repository.remove();
  rmSync(dir, { recursive: true, force: true });
});

const CHILD = `
import { createClient } from '@libsql/client';
import Anthropic from '@anthropic-ai/sdk';
import { AgentSpawnPayloadSchema } from '@mosaic-fed/core';
import { LocalOrchestrator } from '@mosaic-fed/orchestrator';
import { createClaudeRunners } from '@mosaic-fed/orchestrator/anthropic';
import { createLibsqlAgentStateStore } from '@mosaic-fed/orchestrator/libsql';
import { GitWorkspaceProvider, ProcessSandboxProvider } from '@mosaic-fed/orchestrator/node';
// node -e puts the arguments right after the executable.
const [database, baseURL, repository, agentId] = process.argv.slice(1);
const orchestrator = new LocalOrchestrator({
  state: await createLibsqlAgentStateStore(createClient({ url: 'file:' + database })),
  sandboxes: new ProcessSandboxProvider({ orchestratorId: 'restart-test' }),
  workspaces: new GitWorkspaceProvider({ allowFileUrls: true }),
  runners: createClaudeRunners({ client: new Anthropic({ baseURL, apiKey: 'test-key', maxRetries: 0 }) }),
  progressIntervalMs: 10,
});
await orchestrator.start();
const spec = AgentSpawnPayloadSchema.parse({ taskId: 'restart', agentType: 'worker', context: { repository, branch: 'main' } });
await orchestrator.spawn({ agentId, ownerInstanceId: '${randomUUID()}', spec });
for await (const event of orchestrator.watch(agentId)) {
  if (event.progress?.lastAction?.startsWith('ran sleep')) console.log('running');
}
`;

describe('an orchestrator restarted over the same state', () => {
  it('fails the agents the dead process left running, and emits the change', async () => {
    const database = join(dir, 'orchestrator.db');
    const { server } = await scriptedClient(sleepScript(41));
    const agentId = randomUUID();
    const child = spawn(process.execPath, ['--input-type=module', '-e', CHILD, database, server.url, repository.url, agentId], {
      cwd: new URL('..', import.meta.url).pathname,
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    try {
      await new Promise<void>((resolve, reject) => {
        child.stdout.setEncoding('utf8').on('data', (chunk: string) => chunk.includes('running') && resolve());
        child.on('exit', (code) => reject(new Error(`the orchestrator process ended early (${code})`)));
      });
      await eventually(() => processesMatching('sleep 41').length > 0);
      child.kill('SIGKILL');
      await new Promise((resolve) => child.once('exit', resolve));

      const state = await createLibsqlAgentStateStore(createClient({ url: `file:${database}` }));
      const before = await state.get(agentId);
      expect(before?.status.status).toBe('running');
      const { client } = await scriptedClient(sleepScript(41));
      const orchestrator = new LocalOrchestrator({
        state,
        sandboxes: new ProcessSandboxProvider({ orchestratorId: 'restart-test' }),
        workspaces: new GitWorkspaceProvider({ allowFileUrls: true }),
        runners: createClaudeRunners({ client }),
        watchPollMs: 50,
      });
      // A hub's watch, resumed after the last event it had.
      const heard: AgentStatusChangedPayload[] = [];
      const watching = (async () => {
        for await (const event of orchestrator.watch(agentId, { afterSequence: before?.sequence ?? 0 })) heard.push(event);
      })();
      await orchestrator.start();
      await watching;
      expect(heard).toHaveLength(1);
      expect(heard[0]).toMatchObject({ status: 'failed', error: ORCHESTRATOR_RESTARTED, sequence: (before?.sequence ?? 0) + 1 });
      expect(await orchestrator.getStatus(agentId)).toMatchObject({ status: 'failed', error: ORCHESTRATOR_RESTARTED });
      // The dead process's command outlived it; the new one stopped it with the leftovers.
      expect(processesMatching('sleep 41')).toEqual([]);
    } finally {
      child.kill('SIGKILL');
      await server.close();
    }
  });
});
