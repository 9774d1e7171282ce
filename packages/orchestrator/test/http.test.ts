import { randomUUID } from 'node:crypto';
import { AgentSpawnPayloadSchema } from '@mosaic-fed/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import Anthropic from '@anthropic-ai/sdk';
import { createOrchestratorService, HttpOrchestrator, LocalOrchestrator } from '../src/index.js';
import { createClaudeRunners } from '../src/anthropic.js';
import { GitWorkspaceProvider } from '../src/node.js';
import { createFixtureRepository, fixScript, processSandboxes, scriptedClient, serveOrchestrator, SERVICE_TOKEN } from './helpers.js';

// What only the HTTP path has: the bearer token, validation at the service's boundary,
// and an unreachable service.
const repository = createFixtureRepository();
const closers: (() => Promise<void>)[] = [];
let url: string;
let orchestrator: LocalOrchestrator;

beforeAll(async () => {
  const { client, server } = await scriptedClient(fixScript());
  orchestrator = new LocalOrchestrator({
    sandboxes: processSandboxes(),
    workspaces: new GitWorkspaceProvider({ allowFileUrls: true }),
    runners: createClaudeRunners({ client }),
  });
  const service = await serveOrchestrator(orchestrator);
  url = service.url;
  closers.push(() => orchestrator.close(), () => service.close(), () => server.close());
});

afterAll(async () => {
  for (const close of closers) await close();
  repository.remove();
});

const spawnRequest = () => ({
  agentId: randomUUID(),
  ownerInstanceId: randomUUID(),
  spec: AgentSpawnPayloadSchema.parse({ taskId: 't-http', agentType: 'worker', context: { repository: repository.url, branch: 'main' } }),
});

/** A worker runner alone, with a model client that reaches nothing: for what is refused before any model is asked. */
function workerRunner() {
  const { worker } = createClaudeRunners({ client: new Anthropic({ apiKey: 'unused', baseURL: 'http://127.0.0.1:9' }) });
  if (worker === undefined) throw new Error('createClaudeRunners gave no worker runner');
  return { worker };
}

describe('the orchestrator service', () => {
  it('refuses a missing or wrong token with 401 and runs nothing', async () => {
    const body = JSON.stringify(spawnRequest());
    for (const authorization of [undefined, 'Bearer wrong-token-0123456789abcdef0123456789']) {
      const response = await fetch(`${url}/agents/spawn`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', ...(authorization === undefined ? {} : { Authorization: authorization }) },
        body,
      });
      expect(response.status).toBe(401);
      expect(await response.json()).toMatchObject({ success: false, code: 'UNAUTHORIZED' });
    }
    const agentId = (JSON.parse(body) as { agentId: string }).agentId;
    await expect(orchestrator.getStatus(agentId)).rejects.toMatchObject({ code: 'NOT_FOUND' });
    // Through the adapter, a refused token means the orchestrator is unusable.
    const wrong = new HttpOrchestrator({ url, token: 'not-the-token' });
    await expect(wrong.spawn(spawnRequest())).rejects.toMatchObject({ code: 'ORCHESTRATOR_UNAVAILABLE' });
  });

  it('answers VALIDATION_FAILED with the fields for a bad spawn request', async () => {
    const response = await fetch(`${url}/agents/spawn`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${SERVICE_TOKEN}`, 'Content-Type': 'application/json' },
      body: JSON.stringify({ ...spawnRequest(), agentId: 'not-a-uuid', extra: true }),
    });
    expect(response.status).toBe(400);
    const body = (await response.json()) as { code: string; details: { path: string }[] };
    expect(body.code).toBe('VALIDATION_FAILED');
    expect(body.details.map((detail) => detail.path)).toEqual(expect.arrayContaining(['agentId', '(root)']));
  });

  it('keeps the protocol codes of the orchestrator (NOT_FOUND) and reports an unreachable service as ORCHESTRATOR_UNAVAILABLE', async () => {
    const adapter = new HttpOrchestrator({ url, token: SERVICE_TOKEN });
    await expect(adapter.getStatus(randomUUID())).rejects.toMatchObject({ code: 'NOT_FOUND' });
    await expect(adapter.kill(randomUUID())).rejects.toMatchObject({ code: 'NOT_FOUND' });
    const down = new HttpOrchestrator({ url: 'http://127.0.0.1:9', token: SERVICE_TOKEN, timeoutMs: 2_000 });
    await expect(down.spawn(spawnRequest())).rejects.toMatchObject({ code: 'ORCHESTRATOR_UNAVAILABLE' });
    await expect(down.getStatus(randomUUID())).rejects.toMatchObject({ code: 'ORCHESTRATOR_UNAVAILABLE' });
  });

  it('streams events resumably: after sequence n, only what came later', async () => {
    const adapter = new HttpOrchestrator({ url, token: SERVICE_TOKEN });
    const request = spawnRequest();
    await adapter.spawn(request);
    const all: number[] = [];
    for await (const event of adapter.watch(request.agentId)) all.push(event.sequence);
    expect(all.length).toBeGreaterThanOrEqual(3);
    const later: number[] = [];
    for await (const event of adapter.watch(request.agentId, { afterSequence: 2 })) later.push(event.sequence);
    expect(later).toEqual(all.filter((sequence) => sequence > 2));
  });

  it('answers a body that is not JSON, an address with nothing, and a type it runs no runner for, each with its code', async () => {
    const call = (path: string, body: string) =>
      fetch(`${url}${path}`, { method: 'POST', headers: { Authorization: `Bearer ${SERVICE_TOKEN}`, 'Content-Type': 'application/json' }, body }).then(
        async (response) => ({ status: response.status, body: (await response.json()) as { code: string; error: string } }),
      );
    expect(await call('/agents/spawn', '{"agentId":')).toMatchObject({ status: 400, body: { code: 'VALIDATION_FAILED' } });
    expect(await call(`/agents/${randomUUID()}/respond`, 'not json')).toMatchObject({ status: 400, body: { code: 'VALIDATION_FAILED' } });
    expect(await call('/agents/teleport', '{}')).toMatchObject({ status: 404, body: { code: 'NOT_FOUND', error: 'there is nothing at this address' } });
    // Only a worker runner here (createClaudeRunners gives all three): a type without one is refused as a capability.
    const workersOnly = new LocalOrchestrator({
      sandboxes: processSandboxes(),
      workspaces: new GitWorkspaceProvider({ allowFileUrls: true }),
      runners: workerRunner(),
    });
    const reviewer = { ...spawnRequest(), spec: AgentSpawnPayloadSchema.parse({ taskId: 't-review', agentType: 'reviewer', context: { repository: repository.url, branch: 'main' } }) };
    await expect(workersOnly.spawn(reviewer)).rejects.toMatchObject({ code: 'CAPABILITY_DISABLED', message: 'this orchestrator runs no reviewer agents' });
    await workersOnly.close();
  });

  it('refuses options it cannot work with, when it is made', () => {
    const base = { sandboxes: processSandboxes(), workspaces: new GitWorkspaceProvider({ allowFileUrls: true }) };
    expect(() => new LocalOrchestrator({ ...base, runners: {} })).toThrow('LocalOrchestrator: give at least one runner');
    expect(() => new LocalOrchestrator({ ...base, runners: workerRunner(), maxConcurrentAgents: 0 })).toThrow(
      'LocalOrchestrator: maxConcurrentAgents must be a whole number of at least 1',
    );
    expect(() => createOrchestratorService({ orchestrator, token: 'too-short' })).toThrow('createOrchestratorService: the token must have at least 32 characters');
  });
});
