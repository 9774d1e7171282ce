// The test of an example that serves the server's main entry under another runtime
// (Bun, Deno): start it with its binary from its npm package, then have a Node hub
// connect, spawn a worker there, and follow it to its patch.
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EDGE_SECRET, freePort, ORCHESTRATOR_TOKEN, spawnThroughHub, startNodeSide, type NodeSide } from './harness.js';
import { startRuntimeServer, type RuntimeServer } from './run-runtime.js';

export interface RuntimeExample {
  /** The runtime's name, as its `runtime` line starts. */
  runtime: 'bun' | 'deno';
  /** The runtime's executable, relative to `dir`: the binary itself, never a wrapper
   *  process that would outlive a signal it does not pass on. */
  binary: string;
  /** Arguments that run `server.mjs`. */
  args: string[];
  /** The example's folder. */
  dir: string;
  /** The instance name its server.mjs gives. */
  name: string;
}

export function describeRuntimeExample({ runtime, binary, args, dir, name }: RuntimeExample): void {
  let side: NodeSide;
  let server: RuntimeServer;

  beforeAll(async () => {
    side = await startNodeSide();
    const port = await freePort();
    server = await startRuntimeServer(join(dir, binary), args, dir, {
      PORT: String(port),
      MOSAIC_FED_URL: `http://127.0.0.1:${port}`,
      MOSAIC_FED_SECRET: EDGE_SECRET,
      MOSAIC_FED_ORCHESTRATOR_URL: side.orchestratorUrl,
      MOSAIC_FED_ORCHESTRATOR_TOKEN: ORCHESTRATOR_TOKEN,
      MOSAIC_FED_AUTO_ACCEPT_URLS: side.hub.url,
      MOSAIC_FED_ALLOW_NETWORKS: '127.0.0.0/8',
      // The example's repository is a folder beside the orchestrator.
      MOSAIC_FED_REPOSITORIES: 'file://**',
    });
  }, 60_000);

  afterAll(async () => {
    await server?.stop();
    await side?.close();
    // The server went with its process: nothing of it is left running.
    if (server) await expect(fetch(`${server.url}/.well-known/mosaic-federation`)).rejects.toThrow();
  });

  describe(`examples/${runtime}`, () => {
    it(`runs in ${runtime}, accepts the Node hub, and answers its signed agent.spawn; the agent completes`, async () => {
      expect(server.runtime.startsWith(`${runtime} `)).toBe(true);
      const document = (await (await fetch(`${server.url}/.well-known/mosaic-federation`)).json()) as { name: string };
      expect(document.name).toBe(name);
      const { connection, spawned, events, status } = await spawnThroughHub(side, server.url);
      expect(connection.status).toBe('ACTIVE');
      expect(spawned.state).toBe('spawning');
      expect(events.at(-1)?.status).toBe('completed');
      expect(status.result?.patch).toContain('+  echo $(($1 + $2))');
    }, 60_000);
  });
}
