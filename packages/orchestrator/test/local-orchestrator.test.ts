import type Docker from 'dockerode';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalOrchestrator, ORCHESTRATOR_STOPPED, type SandboxProvider } from '../src/index.js';
import { createClaudeRunners } from '../src/anthropic.js';
import { AGENT_LABEL, DockerSandboxProvider } from '../src/docker.js';
import { GitWorkspaceProvider } from '../src/node.js';
import {
  createFixtureRepository,
  dockerEngine,
  eventually,
  fixScript,
  processesMatching,
  processSandboxes,
  SANDBOX_IMAGE,
  scriptedClient,
  sleepScript,
  spawnRequest,
  untilTerminal,
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

const request = (options?: Parameters<typeof spawnRequest>[1]) => spawnRequest(repository.url, options);

async function orchestratorFor(
  sandboxes: SandboxProvider,
  script = fixScript(),
  extra: { maxConcurrentAgents?: number } = {},
): Promise<LocalOrchestrator> {
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
  return orchestrator;
}

const sandboxKinds: { name: string; provider: () => SandboxProvider | undefined; leftovers: (agentId: string) => Promise<string[]> }[] = [
  {
    name: 'process sandbox',
    provider: () => processSandboxes(),
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
    // With the history cached, most input is billed as cache writes and reads.
    expect(status.result?.usage?.cacheCreationInputTokens).toBeGreaterThan(0);
    expect(status.result).toMatchObject({ outcome: 'succeeded', checks: [{ command: 'sh test.sh', exitCode: 0 }] });
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

describe('an agent with egress rules', () => {
  it('fails plainly on an orchestrator without an egress proxy, before any sandbox is made', async () => {
    let created = 0;
    const sandboxes = processSandboxes();
    const counting: SandboxProvider = { name: 'counting', create: (options) => (created++, sandboxes.create(options)) };
    const orchestrator = await orchestratorFor(counting);
    const spawn = { ...request(), egress: ['registry.npmjs.org'] };
    await orchestrator.spawn(spawn);
    const events = await untilTerminal(orchestrator, spawn.agentId);
    expect(events.at(-1)).toMatchObject({
      status: 'failed',
      error: 'this orchestrator has no egress proxy: its sandboxes cannot reach the hosts the grants allow',
    });
    expect(created).toBe(0);
  });
});

describe('stopping the orchestrator', () => {
  it('ends its running agents failed with the reason, not killed, and leaves no process behind', async () => {
    const orchestrator = await orchestratorFor(processSandboxes(), sleepScript());
    const running = request();
    await orchestrator.spawn(running);
    await eventually(async () => expect((await orchestrator.getStatus(running.agentId)).progress?.lastAction).toBe('ran sleep 37'));
    await orchestrator.close();
    expect(await orchestrator.getStatus(running.agentId)).toMatchObject({ status: 'failed', error: ORCHESTRATOR_STOPPED });
    expect(processesMatching('sleep 37')).toEqual([]);
    await expect(orchestrator.spawn(request())).rejects.toMatchObject({ code: 'ORCHESTRATOR_UNAVAILABLE' });
  });
});
