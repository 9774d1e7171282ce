import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BubblewrapSandboxProvider } from '@mosaic-fed/orchestrator/node';
import { createDemoRepository, startScriptedMessagesServer, turnByTurn, type ScriptedMessagesServer } from '@mosaic-fed/orchestrator/testing';
import { AdminClient } from '@mosaic-fed/sdk';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger } from '@mosaic-fed/server';
import { createNodeOrchestrator, type NodeOrchestrator } from '../src/index.js';
import { connectPeers, spawnPayload, startPeer, type Peer } from './peers.js';

// The `egress` grant end to end (PROTOCOL 3): the spoke's admin lets one connection's
// agents reach a package registry; the agent, in a bubblewrap sandbox, reaches it with
// curl through the proxy its environment names, and reaches nothing else. The "registry"
// listens on 127.0.0.2, a loopback address the sandbox's own loopback does not shadow
// (127.0.0.1 inside a sandbox is the sandbox itself).
const work = mkdtempSync(join(tmpdir(), 'mosaic-egress-e2e-'));
const inCI = process.env.CI === 'true';
let model: ScriptedMessagesServer;
let registry: Server;
let unlisted: Server;
let registryUrl = '';
let unlistedUrl = '';
let unlistedRequests = 0;
let agents: NodeOrchestrator | undefined;
let hub: Peer;
let spoke: Peer;

async function listen(server: Server): Promise<string> {
  await new Promise<void>((done) => server.listen(0, '127.0.0.2', done));
  return `127.0.0.2:${(server.address() as AddressInfo).port}`;
}

beforeAll(async () => {
  registry = createServer((request, response) => response.end(`package ${request.url ?? ''} from the registry\n`));
  unlisted = createServer((_request, response) => (unlistedRequests++, response.end('an internal service\n')));
  registryUrl = await listen(registry);
  unlistedUrl = await listen(unlisted);
  model = await startScriptedMessagesServer(
    turnByTurn([
      [{ type: 'tool_use', name: 'bash', input: { command: `curl -sS -m 5 http://${registryUrl}/left-pad; curl -sS -m 5 -o /dev/null -w 'unlisted=%{http_code}\\n' http://${unlistedUrl}/` } }],
      [{ type: 'text', text: 'Fetched what I could.' }],
    ]),
  );
  if (!(await new BubblewrapSandboxProvider().available())) {
    if (inCI) throw new Error('CI needs the bubblewrap sandbox: apt-get install bubblewrap');
    console.warn('skipping the egress end-to-end test: bubblewrap does not run here');
    return;
  }
  agents = await createNodeOrchestrator({
    dataDir: join(work, 'spoke-agents'),
    logger: silentLogger,
    sandbox: 'bubblewrap',
    allowFileRepositories: true,
    allowNetworks: ['127.0.0.0/8'],
    anthropic: { apiKey: 'test-key', baseURL: model.url },
  });
  [hub, spoke] = await Promise.all([startPeer({ name: 'Hub' }), startPeer({ name: 'Spoke', agents: agents.orchestrator })]);
});

afterAll(async () => {
  await Promise.all([hub, spoke].map((peer) => peer?.destroy()));
  await agents?.close();
  await model?.close();
  await Promise.all([registry, unlisted].map((server) => new Promise((done) => server.close(done))));
  rmSync(work, { recursive: true, force: true });
});

/** Spawns an agent over the connection and answers what its one command printed. */
async function fetchedBy(fromConnectionId: string, taskId: string): Promise<string> {
  const admin = new AdminClient({ url: hub.url, token: hub.token });
  const repository = createDemoRepository(join(work, taskId));
  const { agentId } = await admin.spawn({ connectionId: fromConnectionId, payload: { taskId, agentType: 'tester', context: { repository, branch: 'main' } } });
  for await (const event of admin.events(agentId)) if (event.status === 'failed') throw new Error(`the agent failed: ${event.error ?? ''}`);
  const { entries } = await admin.transcript(agentId);
  return entries.find((entry) => entry.kind === 'tool')?.output ?? '';
}

describe('a connection granted egress', () => {
  it("lets its agents' sandboxes reach the granted host through the proxy, and no other, and nothing once the grant is cleared", async (context) => {
    if (agents === undefined) return context.skip();
    const granted = await connectPeers(hub, spoke);
    const spokeAdmin = new AdminClient({ url: spoke.url, token: spoke.token });
    const connection = await spokeAdmin.updateGrants(granted.toConnectionId, { egress: [registryUrl] });
    expect(connection.grants.egress).toEqual([registryUrl]);

    const output = await fetchedBy(granted.fromConnectionId, 'with-egress');
    expect(output).toContain('package /left-pad from the registry');
    expect(output).toContain('unlisted=403');

    // The grant is the connection's: cleared, its agents reach nothing again.
    const cleared = await spokeAdmin.updateGrants(granted.toConnectionId, { egress: null });
    expect(cleared.grants).not.toHaveProperty('egress');
    const without = await fetchedBy(granted.fromConnectionId, 'without-egress');
    expect(without).not.toContain('from the registry');
    expect(without).toContain('unlisted=000');
    expect(unlistedRequests).toBe(0);
  });
});

describe("a spawn's egress rules", () => {
  it("are the instance's rules and the connection's grant, each once; with neither, the orchestrator is given none", async () => {
    const [from, to] = await Promise.all([startPeer({ name: 'Hub' }), startPeer({ name: 'Spoke', egress: ['registry.npmjs.org', '*.pythonhosted.org'] })]);
    const bare = await startPeer({ name: 'Bare spoke' });
    try {
      const withRules = await connectPeers(from, to);
      await new AdminClient({ url: to.url, token: to.token }).updateGrants(withRules.toConnectionId, { egress: ['127.0.0.2:4873', 'registry.npmjs.org'] });
      const admin = new AdminClient({ url: from.url, token: from.token });
      await admin.spawn({ connectionId: withRules.fromConnectionId, payload: spawnPayload('with-rules') });
      expect([...to.orchestrator.agents.values()].map((agent) => agent.request.egress)).toEqual([['registry.npmjs.org', '*.pythonhosted.org', '127.0.0.2:4873']]);

      const withNone = await connectPeers(from, bare);
      await admin.spawn({ connectionId: withNone.fromConnectionId, payload: spawnPayload('with-none') });
      expect([...bare.orchestrator.agents.values()].map((agent) => 'egress' in agent.request)).toEqual([false]);
    } finally {
      await Promise.all([from, to, bare].map((peer) => peer.destroy()));
    }
  });
});
