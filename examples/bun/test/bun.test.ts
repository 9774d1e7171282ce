import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EDGE_SECRET, freePort, ORCHESTRATOR_TOKEN, spawnThroughHub, startNodeSide, type NodeSide } from '../../shared/harness.js';
import { startRuntimeServer, type RuntimeServer } from '../../shared/run-runtime.js';

// The server's main entry served by the real Bun binary (from its npm package), with a
// Node hub and a Node orchestrator service on loopback.
const here = dirname(new URL(import.meta.url).pathname);
const binary = join(here, '..', 'node_modules', '.bin', 'bun');
let side: NodeSide;
let server: RuntimeServer;

beforeAll(async () => {
  side = await startNodeSide();
  const port = await freePort();
  server = await startRuntimeServer(binary, ['run', 'server.mjs'], join(here, '..'), {
    PORT: String(port),
    MOSAIC_FED_URL: `http://127.0.0.1:${port}`,
    MOSAIC_FED_SECRET: EDGE_SECRET,
    MOSAIC_FED_ORCHESTRATOR_URL: side.orchestratorUrl,
    MOSAIC_FED_ORCHESTRATOR_TOKEN: ORCHESTRATOR_TOKEN,
    MOSAIC_FED_AUTO_ACCEPT_URLS: side.hub.url,
  });
}, 60_000);

afterAll(async () => {
  await server?.stop();
  await side?.close();
});

describe('examples/bun', () => {
  it('runs in Bun, accepts the Node hub, and answers its signed agent.spawn; the agent completes', async () => {
    expect(server.runtime).toMatch(/^bun /);
    const document = (await (await fetch(`${server.url}/.well-known/mosaic-federation`)).json()) as { name: string };
    expect(document.name).toBe('Bun Spoke');
    const { connection, spawned, events, status } = await spawnThroughHub(side, server.url);
    expect(connection.status).toBe('ACTIVE');
    expect(spawned.state).toBe('spawning');
    expect(events.at(-1)?.status).toBe('completed');
    expect(status.result?.patch).toContain('+  echo $(($1 + $2))');
  }, 60_000);
});
