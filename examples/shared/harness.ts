// What the edge examples' tests share: the Node side of the exchange (a hub, an
// orchestrator service with the scripted model, a repository with a failing test), and the
// exchange itself: the hub connects to the instance under test, spawns a worker there,
// and follows it to its result.
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { serve } from '@hono/node-server';
import { silentLogger, type AgentStatusChangedPayload } from '@mosaic-fed/core';
import { createOrchestratorService } from '@mosaic-fed/orchestrator';
import { createDemoRepository, demoScenarios, startScriptedMessagesServer } from '@mosaic-fed/orchestrator/testing';
import { AdminClient } from '@mosaic-fed/sdk';
import { createAdminToken } from '@mosaic-fed/server';
import { createNodeOrchestrator, startServer, type RunningServer } from '@mosaic-fed/node';

export const ORCHESTRATOR_TOKEN = 'edge-example-orchestrator-token-0123456789';
export const EDGE_SECRET = 'edge-example-secret-0123456789abcdef0123';
/** The admin token the edge instances are configured with (MOSAIC_FED_ADMIN_TOKEN). */
export const EDGE_ADMIN_TOKEN = 'edge-example-admin-token-0123456789abcdef';

export interface NodeSide {
  hub: RunningServer;
  admin: AdminClient;
  orchestratorUrl: string;
  repository: string;
  close(): Promise<void>;
}

/** A free loopback port (for a process that must know its URL before it listens). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

export async function startNodeSide(): Promise<NodeSide> {
  const work = mkdtempSync(join(tmpdir(), 'mosaic-edge-example-'));
  const closers: (() => Promise<unknown>)[] = [];
  const model = await startScriptedMessagesServer(demoScenarios());
  closers.push(() => model.close());
  const agents = await createNodeOrchestrator({
    dataDir: join(work, 'orchestrator'),
    logger: silentLogger,
    sandbox: 'unsafe-process',
    allowFileRepositories: true,
    anthropic: { apiKey: 'scripted', baseURL: model.url },
  });
  closers.push(() => agents.close());
  const service = createOrchestratorService({ orchestrator: agents.orchestrator, token: ORCHESTRATOR_TOKEN });
  const orchestratorUrl = await new Promise<string>((resolve) => {
    const server = serve({ fetch: service.fetch, hostname: '127.0.0.1', port: 0 }, (info) => resolve(`http://127.0.0.1:${info.port}`));
    closers.push(
      () =>
        new Promise<void>((done) => {
          (server as { closeAllConnections?: () => void }).closeAllConnections?.();
          server.close(() => done());
        }),
    );
  });
  const hub = await startServer({
    port: 0,
    dataDir: join(work, 'hub'),
    name: 'Node Hub',
    logger: silentLogger,
    // Every instance of the example is on this machine.
    allowNetworks: ['127.0.0.0/8'],
  });
  closers.push(() => hub.close());
  const { token } = await createAdminToken({ store: hub.federation.stores.adminTokens, label: 'tests', actor: { type: 'cli', id: 'tests' } });
  return {
    hub,
    admin: new AdminClient({ url: hub.url, token }),
    orchestratorUrl,
    repository: createDemoRepository(join(work, 'repo')),
    async close() {
      for (const close of closers.reverse()) await close().catch(() => undefined);
      rmSync(work, { recursive: true, force: true });
    },
  };
}

/** The hub connects to the instance at `url` (which auto-accepts it), spawns a worker there and follows it. */
export async function spawnThroughHub(side: NodeSide, url: string) {
  const connection = await side.admin.connect(url);
  const spawned = await side.admin.spawn({
    connectionId: connection.id,
    payload: { taskId: 'edge-example', agentType: 'worker', context: { repository: side.repository, branch: 'main' } },
  });
  const events: AgentStatusChangedPayload[] = [];
  for await (const event of side.admin.events(spawned.agentId)) events.push(event);
  return { connection, spawned, events, status: await side.admin.status(spawned.agentId, { refresh: true }) };
}
