import { dirname, join } from 'node:path';
import { build } from 'esbuild';
import { Miniflare } from 'miniflare';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SendMessageRequest, TaskState, verifyAgentCardSignature } from '@a2a-js/sdk';
import { ClientFactory, ClientFactoryOptions, JsonRpcTransportFactory } from '@a2a-js/sdk/client';
import { AdminClient } from '@mosaic-fed/sdk';
import { EDGE_ADMIN_TOKEN, EDGE_SECRET, freePort, ORCHESTRATOR_TOKEN, startNodeSide, type NodeSide } from '../../shared/harness.js';

// The Worker bundled as Wrangler would, run in workerd through miniflare with no Node
// compatibility flag, on a real loopback port; a Node hub talks to it with signed
// messages, and its agents run on a Node orchestrator service.
const here = dirname(new URL(import.meta.url).pathname);
let side: NodeSide;
let mf: Miniflare;
let url: string;

beforeAll(async () => {
  side = await startNodeSide();
  const bundle = await build({
    entryPoints: [join(here, '..', 'worker.mjs')],
    bundle: true,
    write: false,
    format: 'esm',
    platform: 'browser',
    conditions: ['workerd', 'worker', 'browser'],
    target: 'es2022',
    logLevel: 'silent',
  });
  const script = bundle.outputFiles[0]?.text ?? '';
  // Edge-ready, not claimed: nothing of Node in what runs.
  expect(script).not.toMatch(/from\s*["']node:|require\(["']node:/);
  const port = await freePort();
  url = `http://127.0.0.1:${port}`;
  mf = new Miniflare({
    modules: true,
    script,
    compatibilityDate: '2026-07-01',
    host: '127.0.0.1',
    port,
    bindings: {
      MOSAIC_FED_URL: url,
      MOSAIC_FED_SECRET: EDGE_SECRET,
      MOSAIC_FED_ORCHESTRATOR_URL: side.orchestratorUrl,
      MOSAIC_FED_ORCHESTRATOR_TOKEN: ORCHESTRATOR_TOKEN,
      MOSAIC_FED_AUTO_ACCEPT_URLS: side.hub.url,
      // The hub is on loopback: its URL must be reachable to vouch for its request.
      MOSAIC_FED_ALLOW_NETWORKS: '127.0.0.0/8',
      // The example's repository is a folder beside the orchestrator.
      MOSAIC_FED_REPOSITORIES: 'file://**',
      MOSAIC_FED_ADMIN_TOKEN: EDGE_ADMIN_TOKEN,
    },
  });
  await mf.ready;
});

afterAll(async () => {
  await mf?.dispose();
  await side?.close();
});

describe('examples/cloudflare-worker', () => {
  it('runs in workerd, accepts the Node hub, answers its signed agent.spawn and agent.status', async () => {
    const document = (await (await fetch(`${url}/.well-known/mosaic-federation`)).json()) as { name: string; url: string };
    expect(document).toMatchObject({ name: 'Worker Spoke', url });
    const connection = await side.admin.connect(url);
    expect(connection.status).toBe('ACTIVE');
    const spawned = await side.admin.spawn({
      connectionId: connection.id,
      payload: { taskId: 'worker-example', agentType: 'worker', context: { repository: side.repository, branch: 'main' } },
    });
    expect(spawned.state).toBe('spawning');
    // In a Worker, the hub asks for the status (signed agent.status, answered by workerd).
    let status = await side.admin.status(spawned.agentId, { refresh: true });
    for (let tries = 0; status.status !== 'completed' && tries < 100; tries++) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      status = await side.admin.status(spawned.agentId, { refresh: true });
    }
    expect(status.status).toBe('completed');
    expect(status.result?.patch).toContain('+  echo $(($1 + $2))');
  });

  it('speaks A2A in workerd: a signed card, and an A2A client that starts an agent and follows it to its patch', async () => {
    const card = (await (await fetch(`${url}/.well-known/agent-card.json`)).json()) as Record<string, unknown>;
    await verifyAgentCardSignature(async (kid, jku) => {
      const { keys } = (await (await fetch(jku ?? '')).json()) as { keys: (JsonWebKey & { kid?: string })[] };
      const key = keys.find((candidate) => candidate.kid === kid);
      if (key === undefined) throw new Error('no such key');
      return key;
    })(card as never);

    const admin = new AdminClient({ url, token: EDGE_ADMIN_TOKEN });
    const { token } = await admin.createA2AClient({ name: 'edge test' });
    const fetchImpl: typeof fetch = (input, init) => {
      const headers = new Headers(init?.headers);
      headers.set('Authorization', `Bearer ${token}`);
      return fetch(input, { ...init, headers });
    };
    const client = await new ClientFactory(ClientFactoryOptions.createFrom(ClientFactoryOptions.default, { transports: [new JsonRpcTransportFactory({ fetchImpl })] })).createFromUrl(url);
    const sent = await client.sendMessage(
      SendMessageRequest.fromJSON({
        message: { messageId: 'edge-a2a-1', role: 'ROLE_USER', contextId: 'edge-a2a', parts: [{ data: { repository: side.repository, branch: 'main' } }] },
        configuration: { returnImmediately: true },
      }),
    );
    if (!('status' in sent)) throw new Error('expected a task');
    let task = await client.getTask({ id: sent.id, tenant: '' });
    for (let tries = 0; task.status?.state !== TaskState.TASK_STATE_COMPLETED && tries < 100; tries++) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      task = await client.getTask({ id: sent.id, tenant: '' });
    }
    expect(task.status?.state).toBe(TaskState.TASK_STATE_COMPLETED);
    const patch = task.artifacts.find((artifact) => artifact.artifactId === 'patch')?.parts[0]?.content;
    expect(patch?.$case === 'text' ? patch.value : '').toContain('+  echo $(($1 + $2))');
  });
});
