import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AgentSpawnPayloadSchema } from '@mosaic-fed/core';
import { BubblewrapSandboxProvider } from '@mosaic-fed/orchestrator/node';
import { createDemoRepository, startScriptedMessagesServer, turnByTurn } from '@mosaic-fed/orchestrator/testing';
import { afterAll, describe, expect, it } from 'vitest';
import { silentLogger } from '@mosaic-fed/server';
import { createNodeOrchestrator, type NodeOrchestrator } from '../src/index.js';
import { eventually } from './peers.js';

// Two instances on one machine (issue 16): starting, or restarting, one of them removes
// only its own leftover sandboxes, never the other's running ones.
const work = mkdtempSync(join(tmpdir(), 'mosaic-owners-'));
const inCI = process.env.CI === 'true';
const opened: NodeOrchestrator[] = [];

afterAll(async () => {
  for (const orchestrator of opened) await orchestrator.close();
  rmSync(work, { recursive: true, force: true });
});

describe('sandboxes belong to the instance that made them', () => {
  it('a second instance starting, and restarting, leaves the first one\'s running agent alone', async (context) => {
    if (!(await new BubblewrapSandboxProvider().available())) {
      if (inCI) throw new Error('CI needs bubblewrap: apt-get install bubblewrap');
      console.warn('skipping: bubblewrap does not run here');
      return context.skip();
    }
    const repository = createDemoRepository(join(work, 'repo'));
    const model = await startScriptedMessagesServer(
      turnByTurn([[{ type: 'tool_use', name: 'bash', input: { command: 'sleep 4 && echo slept' } }], [{ type: 'text', text: 'Done after a nap.' }]]),
    );
    try {
      const open = async (name: string) => {
        const orchestrator = await createNodeOrchestrator({
          dataDir: join(work, name),
          logger: silentLogger,
          sandbox: 'bubblewrap',
          allowFileRepositories: true,
          anthropic: { apiKey: 'test-key', baseURL: model.url },
        });
        opened.push(orchestrator);
        return orchestrator;
      };
      const first = await open('first');
      const agentId = crypto.randomUUID();
      await first.orchestrator.spawn({
        agentId,
        ownerInstanceId: crypto.randomUUID(),
        spec: AgentSpawnPayloadSchema.parse({ taskId: 'nap', agentType: 'worker', context: { repository, branch: 'main' } }),
      });
      // Wait until the agent's command runs in its sandbox.
      const base = join(tmpdir(), 'mosaic-fed-bwrap');
      const sandboxesOf = () => (existsSync(base) ? readdirSync(base).flatMap((owner) => readdirSync(join(base, owner)).map((dir) => `${owner}/${dir}`)) : []);
      await eventually(() => expect(sandboxesOf().some((path) => path.includes(agentId.slice(0, 8)))).toBe(true), 15_000);

      const second = await open('second');
      await second.close();
      opened.splice(opened.indexOf(second), 1);
      await open('second');

      expect(sandboxesOf().some((path) => path.includes(agentId.slice(0, 8)))).toBe(true);
      await eventually(async () => expect((await first.orchestrator.getStatus(agentId)).status).toBe('completed'), 30_000);
      expect((await first.orchestrator.getStatus(agentId)).result?.summary).toBe('Done after a nap.');
    } finally {
      await model.close();
    }
  }, 60_000);
});
