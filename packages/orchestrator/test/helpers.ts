// Real things for the orchestrator's tests: a git repository with a failing test, the
// scripted Messages API server with the real Anthropic SDK, a Docker API (Podman in CI)
// and a Redis server. A missing engine or Redis skips with a message on a laptop and
// fails in CI.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Anthropic from '@anthropic-ai/sdk';
import { serve } from '@hono/node-server';
import { randomUUID } from 'node:crypto';
import { AgentSpawnPayloadSchema, type AgentStatusChangedPayload, type OrchestratorAdapter, type OrchestratorSpawnRequest } from '@mosaic-fed/core';
import Docker from 'dockerode';
import { Redis } from 'ioredis';
import { createOrchestratorService } from '../src/index.js';
import { ProcessSandboxProvider, type ProcessSandboxOptions } from '../src/node.js';
import {
  createDemoRepository,
  demoFixScript,
  startScriptedMessagesServer,
  turnByTurn,
  type Scenario,
  type ScriptedMessagesOptions,
  type ScriptedMessagesServer,
  type ScriptedTurn,
} from '../src/testing.js';

export const inCI = process.env.CI === 'true';

/** A repository whose test fails until `add` adds (the demo's). */
export function createFixtureRepository(): { url: string; dir: string; remove(): void } {
  const dir = mkdtempSync(join(tmpdir(), 'mosaic-fixture-'));
  return { url: createDemoRepository(dir), dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

/** The fix of the fixture's bug, as a scripted conversation. */
export const fixScript = demoFixScript;

/** A conversation that starts a long command and waits on it. */
export const sleepScript = (seconds = 37): ScriptedTurn[] => [[{ type: 'tool_use', name: 'bash', input: { command: `sleep ${seconds}` } }]];

/**
 * A process sandbox provider of its own: an orchestrator removes its owner's leftovers at
 * start, so tests that run at once must never share the default owner.
 */
export function processSandboxes(options: ProcessSandboxOptions = {}): ProcessSandboxProvider {
  return new ProcessSandboxProvider({ orchestratorId: `test-${randomUUID()}`, ...options });
}

/** The real SDK against the stand-in server, playing scenarios or one turn-by-turn script. */
export async function scriptedClient(
  script: readonly ScriptedTurn[] | Scenario | readonly Scenario[],
  options: ScriptedMessagesOptions = {},
): Promise<{ client: Anthropic; server: ScriptedMessagesServer }> {
  const server = await startScriptedMessagesServer(isTurns(script) ? turnByTurn(script) : script, options);
  return { server, client: new Anthropic({ baseURL: server.url, apiKey: 'test-key', maxRetries: 0 }) };
}

function isTurns(script: readonly ScriptedTurn[] | Scenario | readonly Scenario[]): script is readonly ScriptedTurn[] {
  return Array.isArray(script) && script.every((item: unknown) => Array.isArray(item) || typeof item === 'function');
}

export const SANDBOX_IMAGE = process.env.MOSAIC_SANDBOX_IMAGE ?? 'localhost/mosaic-sandbox-test:latest';

/** A Docker API client when an engine answers; otherwise undefined on a laptop, a failure in CI. */
export async function dockerEngine(): Promise<Docker | undefined> {
  const docker = process.env.DOCKER_HOST === undefined ? new Docker({ socketPath: '/run/podman/podman.sock' }) : new Docker();
  try {
    await docker.ping();
    await docker.getImage(SANDBOX_IMAGE).inspect();
    return docker;
  } catch (error) {
    const reason = `no Docker API with the image ${SANDBOX_IMAGE} (${error instanceof Error ? error.message : 'unknown'}); run scripts/setup-podman.sh`;
    if (inCI) throw new Error(`CI needs a container engine: ${reason}`, { cause: error });
    console.warn(`skipping the Docker sandbox tests: ${reason}`);
    return undefined;
  }
}

/** A Redis client when a server answers at REDIS_URL (default 127.0.0.1:6379). */
export async function redisServer(): Promise<Redis | undefined> {
  const redis = new Redis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379', { lazyConnect: true, maxRetriesPerRequest: 1, retryStrategy: () => null });
  try {
    await redis.connect();
    await redis.ping();
    return redis;
  } catch (error) {
    redis.disconnect();
    const reason = `no Redis at ${process.env.REDIS_URL ?? 'redis://127.0.0.1:6379'} (${error instanceof Error ? error.message : 'unknown'})`;
    if (inCI) throw new Error(`CI needs Redis: ${reason}`, { cause: error });
    console.warn(`skipping the Valkey tests: ${reason}`);
    return undefined;
  }
}

/** Host processes whose command line contains `marker`. */
export function processesMatching(marker: string): string[] {
  const lines = execFileSync('ps', ['-eo', 'args'], { encoding: 'utf8' }).split('\n');
  return lines.filter((line) => line.includes(marker) && !line.includes('ps -eo'));
}

/** Waits until `check` holds, or fails with its last error. */
export async function eventually<T>(check: () => Promise<T> | T, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const value = await check();
      if (value !== false) return value;
      last = new Error('the check returned false');
    } catch (error) {
      last = error;
    }
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  throw last;
}

/** The shared token of the orchestrator service in tests. */
export const SERVICE_TOKEN = 'test-orchestrator-token-0123456789abcdef';

/** Serves an orchestrator as the PROTOCOL 7 service on a free loopback port. */
export async function serveOrchestrator(orchestrator: OrchestratorAdapter): Promise<{ url: string; close(): Promise<void> }> {
  const app = createOrchestratorService({ orchestrator, token: SERVICE_TOKEN });
  return new Promise((resolve) => {
    const server = serve({ fetch: app.fetch, hostname: '127.0.0.1', port: 0 }, (info) =>
      resolve({
        url: `http://127.0.0.1:${info.port}`,
        close: () =>
          new Promise<void>((done) => {
            // Open event streams would hold the server: end them.
            (server as { closeAllConnections?: () => void }).closeAllConnections?.();
            server.close(() => done());
          }),
      }),
    );
  });
}

/** A spawn of a worker that is to make the fixture repository's test pass. */
export function spawnRequest(
  repositoryUrl: string,
  options: { timeout?: number; maxRetries?: number; agentType?: 'worker' | 'reviewer' | 'tester' } = {},
): OrchestratorSpawnRequest {
  return {
    agentId: randomUUID(),
    ownerInstanceId: randomUUID(),
    spec: AgentSpawnPayloadSchema.parse({
      taskId: 'fix-add',
      agentType: options.agentType ?? 'worker',
      context: { repository: repositoryUrl, branch: 'main', workItems: ['make test.sh pass'], instructions: 'Fix add().' },
      options: { timeout: options.timeout ?? 60_000, maxRetries: options.maxRetries ?? 0 },
    }),
  };
}

/** Every status change of an agent, until its terminal one. */
export async function untilTerminal(orchestrator: OrchestratorAdapter, agentId: string): Promise<AgentStatusChangedPayload[]> {
  const events: AgentStatusChangedPayload[] = [];
  for await (const event of orchestrator.watch(agentId)) events.push(event);
  return events;
}
