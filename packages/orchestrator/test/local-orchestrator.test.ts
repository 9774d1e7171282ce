import { randomUUID } from 'node:crypto';
import { rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type Docker from 'dockerode';
import {
  AgentSpawnPayloadSchema,
  type AgentStatusChangedPayload,
  type OrchestratorAdapter,
  type OrchestratorSpawnRequest,
} from '@mosaic-fed/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HttpOrchestrator, LocalOrchestrator, ORCHESTRATOR_STOPPED, UNEXPLAINED_FAILURE, type Sandbox, type SandboxProvider } from '../src/index.js';
import { createClaudeRunners } from '../src/anthropic.js';
import { AGENT_LABEL, DockerSandboxProvider } from '../src/docker.js';
import { GitWorkspaceProvider, ProcessSandboxProvider } from '../src/node.js';
import {
  createFixtureRepository,
  dockerEngine,
  eventually,
  fixScript,
  processesMatching,
  SANDBOX_IMAGE,
  scriptedClient,
  serveOrchestrator,
  SERVICE_TOKEN,
  sleepScript,
} from './helpers.js';

const repository = createFixtureRepository();
const servers: { close(): Promise<void> }[] = [];
const orchestrators: LocalOrchestrator[] = [];
const workspaces = new GitWorkspaceProvider({ allowFileUrls: true });
let docker: Docker | undefined;

beforeAll(async () => {
  docker = await dockerEngine();
});

afterAll(async () => {
  await Promise.all(orchestrators.map((orchestrator) => orchestrator.close()));
  await Promise.all(servers.map((server) => server.close()));
  repository.remove();
});

function request(options: { timeout?: number; maxRetries?: number; agentType?: 'worker' | 'reviewer' | 'tester' } = {}): OrchestratorSpawnRequest {
  return {
    agentId: randomUUID(),
    ownerInstanceId: randomUUID(),
    spec: AgentSpawnPayloadSchema.parse({
      taskId: 'fix-add',
      agentType: options.agentType ?? 'worker',
      context: { repository: repository.url, branch: 'main', workItems: ['make test.sh pass'], instructions: 'Fix add().' },
      options: { timeout: options.timeout ?? 60_000, maxRetries: options.maxRetries ?? 0 },
    }),
  };
}

/** How the tests reach the orchestrator: in process, or through the service over HTTP. */
type Via = 'in process' | 'HTTP service';

async function orchestratorFor(
  sandboxes: SandboxProvider,
  script = fixScript(),
  extra: { maxConcurrentAgents?: number; via?: Via } = {},
): Promise<OrchestratorAdapter> {
  const { client, server } = await scriptedClient(script);
  servers.push(server);
  const orchestrator = new LocalOrchestrator({
    sandboxes,
    workspaces,
    runners: createClaudeRunners({ client, commandTimeoutMs: 60_000 }),
    progressIntervalMs: 50,
    ...(extra.maxConcurrentAgents === undefined ? {} : { maxConcurrentAgents: extra.maxConcurrentAgents }),
  });
  await orchestrator.start();
  orchestrators.push(orchestrator);
  if (extra.via !== 'HTTP service') return orchestrator;
  const service = await serveOrchestrator(orchestrator);
  servers.push(service);
  return new HttpOrchestrator({ url: service.url, token: SERVICE_TOKEN, reconnectDelayMs: 50 });
}

async function untilTerminal(orchestrator: OrchestratorAdapter, agentId: string): Promise<AgentStatusChangedPayload[]> {
  const events: AgentStatusChangedPayload[] = [];
  for await (const event of orchestrator.watch(agentId)) events.push(event);
  return events;
}

const sandboxKinds: { name: string; provider: () => SandboxProvider | undefined; leftovers: (agentId: string) => Promise<string[]> }[] = [
  {
    name: 'process sandbox',
    provider: () => new ProcessSandboxProvider(),
    leftovers: async () => processesMatching('sleep 37'),
  },
  {
    name: 'Docker sandbox (Podman in CI)',
    provider: () => (docker === undefined ? undefined : new DockerSandboxProvider({ image: SANDBOX_IMAGE, docker, orchestratorId: 'tests' })),
    leftovers: async (agentId) =>
      (await (docker as Docker).listContainers({ all: true, filters: { label: [`${AGENT_LABEL}=${agentId}`] } })).map((c) => c.Id),
  },
];

describe.each(sandboxKinds)('LocalOrchestrator in the $name', ({ provider, leftovers }) => {
  it('runs a worker from spawning to completed, with the patch its commands made in the sandbox', async (context) => {
    const sandboxes = provider();
    if (sandboxes === undefined) return context.skip();
    const orchestrator = await orchestratorFor(sandboxes);
    const spawn = request();
    const answer = await orchestrator.spawn(spawn);
    expect(answer).toMatchObject({ agentId: spawn.agentId, state: 'spawning' });

    const events = await untilTerminal(orchestrator, spawn.agentId);
    const states = events.map((event) => event.status);
    expect(states[0]).toBe('spawning');
    expect(states.at(-1)).toBe('completed');
    expect(new Set(states)).toEqual(new Set(['spawning', 'running', 'completed']));
    expect(events.map((event) => event.sequence)).toEqual(events.map((_, index) => index + 1));

    const status = await orchestrator.getStatus(spawn.agentId);
    expect(status.result?.summary).toContain('the tests pass now');
    expect(status.result?.patch).toContain('--- a/calc.sh');
    expect(status.result?.patch).toContain('-  echo $(($1 - $2))');
    expect(status.result?.patch).toContain('+  echo $(($1 + $2))');
    expect(status.result?.usage?.inputTokens).toBeGreaterThan(0);
    expect(status.progress?.turns).toBe(4);
    // Idempotent by agent id: the same answer, nothing started twice.
    expect(await orchestrator.spawn(spawn)).toEqual(answer);
    expect(await leftovers(spawn.agentId)).toEqual([]);
  });

  it('kills a running agent within 2 s and leaves no process or container behind', async (context) => {
    const sandboxes = provider();
    if (sandboxes === undefined) return context.skip();
    const orchestrator = await orchestratorFor(sandboxes, sleepScript());
    const spawn = request();
    await orchestrator.spawn(spawn);
    await eventually(async () => expect((await orchestrator.getStatus(spawn.agentId)).progress?.lastAction).toBe('ran sleep 37'));
    await eventually(async () => expect(await leftovers(spawn.agentId)).not.toEqual([]));

    const started = Date.now();
    const killed = await orchestrator.kill(spawn.agentId);
    expect(Date.now() - started).toBeLessThan(2_000);
    expect(killed).toMatchObject({ agentId: spawn.agentId, status: 'killed' });
    expect((await orchestrator.getStatus(spawn.agentId)).status).toBe('killed');
    expect(await leftovers(spawn.agentId)).toEqual([]);
    // Killing again answers the same; the terminal state never changes.
    expect(await orchestrator.kill(spawn.agentId)).toEqual(killed);
    expect((await untilTerminal(orchestrator, spawn.agentId)).at(-1)?.status).toBe('killed');
  });
});

describe('stopping the orchestrator', () => {
  it('ends its running agents failed with the reason, not killed, and leaves no process behind', async () => {
    const orchestrator = (await orchestratorFor(new ProcessSandboxProvider(), sleepScript())) as LocalOrchestrator;
    const running = request();
    await orchestrator.spawn(running);
    await eventually(async () => expect((await orchestrator.getStatus(running.agentId)).progress?.lastAction).toBe('ran sleep 37'));
    await orchestrator.close();
    expect(await orchestrator.getStatus(running.agentId)).toMatchObject({ status: 'failed', error: ORCHESTRATOR_STOPPED });
    expect(processesMatching('sleep 37')).toEqual([]);
    await expect(orchestrator.spawn(request())).rejects.toMatchObject({ code: 'ORCHESTRATOR_UNAVAILABLE' });
  });
});

describe.each<{ via: Via }>([{ via: 'in process' }, { via: 'HTTP service' }])('agent lifecycle, $via', ({ via }) => {
  it('ends an agent past its timeout as failed with error "timeout"', async () => {
    const orchestrator = await orchestratorFor(new ProcessSandboxProvider(), sleepScript(), { via });
    const spawn = request({ timeout: 1_000, maxRetries: 3 });
    await orchestrator.spawn(spawn);
    const events = await untilTerminal(orchestrator, spawn.agentId);
    expect(events.at(-1)).toMatchObject({ status: 'failed', error: 'timeout', attempt: 1 });
    expect(processesMatching('sleep 37')).toEqual([]);
  });

  it('re-runs a failed first attempt when maxRetries allows, and completes on attempt 2', async () => {
    let first = true;
    const script = fixScript();
    const opening = script[0];
    script[0] = (scripted) => {
      if (first) {
        first = false;
        throw new Error('the model is overloaded');
      }
      return typeof opening === 'function' ? opening(scripted) : (opening ?? []);
    };
    const orchestrator = await orchestratorFor(new ProcessSandboxProvider(), script, { via });
    const spawn = request({ maxRetries: 1 });
    await orchestrator.spawn(spawn);
    const events = await untilTerminal(orchestrator, spawn.agentId);
    expect(events.at(-1)).toMatchObject({ status: 'completed', attempt: 2 });
    expect(events.filter((event) => event.status === 'running').map((event) => event.attempt)).toContain(2);
    expect(events.at(-1)?.result?.patch).toContain('+  echo $(($1 + $2))');
  });

  it('fails when the only attempt fails, with the reason and no stack', async () => {
    const orchestrator = await orchestratorFor(new ProcessSandboxProvider(), fixScript(), { via });
    const spawn = request();
    spawn.spec.context.branch = 'no-such-branch';
    await orchestrator.spawn(spawn);
    const last = (await untilTerminal(orchestrator, spawn.agentId)).at(-1);
    expect(last).toMatchObject({ status: 'failed', attempt: 1 });
    expect(last?.error).toContain('could not clone');
    expect(last?.error).not.toMatch(/\n\s+at /);
  });

  it('tells the peer one generic reason for a failure that names host paths, keeping them to its log', async () => {
    // A sandbox folder that cannot be made: its error names where on the host.
    const blocker = join(tmpdir(), `mosaic-not-a-dir-${randomUUID()}`);
    writeFileSync(blocker, 'a file where a folder should be');
    try {
      const orchestrator = await orchestratorFor(new ProcessSandboxProvider({ root: join(blocker, 'sandboxes') }), fixScript(), { via });
      const spawn = request();
      await orchestrator.spawn(spawn);
      const last = (await untilTerminal(orchestrator, spawn.agentId)).at(-1);
      expect(last).toMatchObject({ status: 'failed', error: UNEXPLAINED_FAILURE });
      expect(JSON.stringify(last)).not.toContain(blocker);
    } finally {
      rmSync(blocker, { force: true });
    }
  });

  it('runs 20 agents with at most 4 at once, and completes them all', async () => {
    let live = 0;
    let most = 0;
    const process = new ProcessSandboxProvider();
    const counting: SandboxProvider = {
      name: 'counting',
      async create(options) {
        const sandbox = await process.create(options);
        most = Math.max(most, ++live);
        let destroyed = false;
        const counted: Sandbox = Object.create(sandbox) as Sandbox;
        counted.destroy = async () => {
          if (!destroyed) {
            destroyed = true;
            live--;
          }
          await sandbox.destroy();
        };
        return counted;
      },
    };
    const orchestrator = await orchestratorFor(counting, fixScript(), { maxConcurrentAgents: 4, via });
    const spawns = Array.from({ length: 20 }, () => request());
    let running = 0;
    let mostRunning = 0;
    await Promise.all(spawns.map((spawn) => orchestrator.spawn(spawn)));
    const finals = await Promise.all(
      spawns.map(async (spawn) => {
        let wasRunning = false;
        let last: AgentStatusChangedPayload | undefined;
        for await (const event of orchestrator.watch(spawn.agentId)) {
          if (event.status === 'running' && !wasRunning) {
            wasRunning = true;
            mostRunning = Math.max(mostRunning, ++running);
          }
          if (event.status !== 'running' && wasRunning) running--;
          last = event;
        }
        return last?.status;
      }),
    );
    expect(finals).toEqual(Array.from({ length: 20 }, () => 'completed'));
    expect(most).toBeLessThanOrEqual(4);
    expect(most).toBeGreaterThan(1);
    expect(mostRunning).toBeLessThanOrEqual(4);
  });

  it('kills an agent still waiting for a place, without ever starting it', async () => {
    const orchestrator = await orchestratorFor(new ProcessSandboxProvider(), sleepScript(), { maxConcurrentAgents: 1, via });
    const busy = request();
    const waiting = request();
    await orchestrator.spawn(busy);
    await orchestrator.spawn(waiting);
    await eventually(async () => expect((await orchestrator.getStatus(busy.agentId)).status).toBe('running'));
    // Asked together (read together): each its own answer, an unknown one NOT_FOUND.
    const [busyStatus, waitingStatus, unknown] = await Promise.all([
      orchestrator.getStatus(busy.agentId),
      orchestrator.getStatus(waiting.agentId),
      orchestrator.getStatus(randomUUID()).catch((error: unknown) => error),
    ]);
    expect([busyStatus.agentId, busyStatus.status]).toEqual([busy.agentId, 'running']);
    expect([waitingStatus.agentId, waitingStatus.status]).toEqual([waiting.agentId, 'spawning']);
    expect(unknown).toMatchObject({ code: 'NOT_FOUND' });
    await orchestrator.kill(waiting.agentId);
    const events = await untilTerminal(orchestrator, waiting.agentId);
    expect(events.map((event) => event.status)).toEqual(['spawning', 'killed']);
    await orchestrator.kill(busy.agentId);
  });

  it('answers NOT_FOUND for an unknown agent and AGENT_ALREADY_TERMINAL for a kill after completion', async () => {
    const orchestrator = await orchestratorFor(new ProcessSandboxProvider(), fixScript(), { via });
    await expect(orchestrator.getStatus(randomUUID())).rejects.toMatchObject({ code: 'NOT_FOUND' });
    await expect(orchestrator.kill(randomUUID())).rejects.toMatchObject({ code: 'NOT_FOUND' });
    const spawn = request();
    await orchestrator.spawn(spawn);
    await untilTerminal(orchestrator, spawn.agentId);
    await expect(orchestrator.kill(spawn.agentId)).rejects.toMatchObject({ code: 'AGENT_ALREADY_TERMINAL', data: { status: 'completed' } });
    expect((await orchestrator.getStatus(spawn.agentId)).status).toBe('completed');
  });
});
