import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AgentStatusChangedPayload } from '@mosaic-fed/core';
import { createDemoRepository, demoFixScript, startScriptedMessagesServer, type ScriptedMessagesServer } from '@mosaic-fed/orchestrator/testing';
import { AdminClient } from '@mosaic-fed/sdk';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../src/logger.js';
import { createNodeOrchestrator, type NodeOrchestrator } from '../src/node/index.js';
import { connectPeers, startPeer, type Peer } from './peers.js';

// The whole path with nothing stubbed but the model: a hub spawns a worker on a spoke
// whose Node entry runs the real orchestrator (git checkout, process sandbox, the
// Anthropic SDK against the scripted Messages API); the hub sees the patch.
const work = mkdtempSync(join(tmpdir(), 'mosaic-e2e-'));
let model: ScriptedMessagesServer;
let agents: NodeOrchestrator;
let hub: Peer;
let spoke: Peer;
let repository: string;

beforeAll(async () => {
  repository = createDemoRepository(join(work, 'repo'));
  model = await startScriptedMessagesServer(demoFixScript());
  agents = await createNodeOrchestrator({
    dataDir: work,
    logger: silentLogger,
    sandbox: 'process',
    allowFileRepositories: true,
    anthropic: { apiKey: 'test-key', baseURL: model.url },
  });
  [hub, spoke] = await Promise.all([
    startPeer({ name: 'Hub' }),
    startPeer({ name: 'Spoke', agents: agents.orchestrator }),
  ]);
});

afterAll(async () => {
  await Promise.all([hub, spoke].map((peer) => peer?.destroy()));
  await agents?.close();
  await model?.close();
  rmSync(work, { recursive: true, force: true });
});

describe('a worker agent end to end', () => {
  it('is spawned by the hub, runs on the spoke, and its patch reaches the hub', async () => {
    expect(agents.description).toBe('process sandbox (weaker isolation)');
    const { fromConnectionId } = await connectPeers(hub, spoke);
    const admin = new AdminClient({ url: hub.url, token: hub.token });
    const { agentId } = await admin.spawn({
      connectionId: fromConnectionId,
      payload: { taskId: 'fix-add', agentType: 'worker', context: { repository, branch: 'main', instructions: 'Make sh test.sh pass.' } },
    });
    const events: AgentStatusChangedPayload[] = [];
    for await (const event of admin.events(agentId)) events.push(event);
    expect(events[0]?.status).toBe('spawning');
    expect(events.at(-1)?.status).toBe('completed');
    const status = await admin.status(agentId);
    expect(status.result?.patch).toContain('+  echo $(($1 + $2))');
    expect(status.result?.summary).toContain('the tests pass now');
    expect(status.progress?.turns).toBe(4);
  });
});
