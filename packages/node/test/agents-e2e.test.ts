import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { tokensOf, type AgentStatus, type AgentStatusChangedPayload } from '@mosaic-fed/core';
import { BubblewrapSandboxProvider } from '@mosaic-fed/orchestrator/node';
import {
  createDemoRepository,
  DEMO_FIX,
  demoFixScript,
  GIT_SERVER_CREDENTIAL,
  planFirstScenario,
  startGitHttpServer,
  startScriptedMessagesServer,
  turnByTurn,
  type ScriptedMessagesServer,
  type ScriptedTurn,
} from '@mosaic-fed/orchestrator/testing';
import { AdminClient } from '@mosaic-fed/sdk';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger } from '@mosaic-fed/server';
import { createNodeOrchestrator, type NodeOrchestrator, type SandboxChoice } from '../src/index.js';
import { connectPeers, spawnPayload, startPeer, type Peer } from './peers.js';

// The whole path with nothing stubbed but the model: a hub spawns a worker on a spoke
// whose Node entry runs the real orchestrator (git checkout, a real sandbox, the
// Anthropic SDK against the scripted Messages API); the hub sees the patch and takes the
// agent's commits as a branch from its bundle.
const work = mkdtempSync(join(tmpdir(), 'mosaic-e2e-'));
let model: ScriptedMessagesServer;
let repository: string;
const inCI = process.env.CI === 'true';

beforeAll(async () => {
  repository = createDemoRepository(join(work, 'repo'));
  // An agent asked for its plan plays the plan-first scenario; every other one the fix.
  model = await startScriptedMessagesServer([{ ...planFirstScenario(DEMO_FIX), when: (request) => request.mentions('submit_plan') }, turnByTurn(demoFixScript())]);
});

afterAll(async () => {
  await model?.close();
  rmSync(work, { recursive: true, force: true });
});

const sandboxes: { sandbox: SandboxChoice; description: string; needs?: () => Promise<boolean> }[] = [
  { sandbox: 'bubblewrap', description: 'bubblewrap sandbox (Linux namespaces)', needs: () => new BubblewrapSandboxProvider().available() },
  { sandbox: 'unsafe-process', description: 'unsafe-process sandbox (no isolation: for your own experiments only)' },
];

describe.each(sandboxes)('a worker agent end to end in the $sandbox sandbox', ({ sandbox, description, needs }) => {
  let agents: NodeOrchestrator | undefined;
  let hub: Peer;
  let spoke: Peer;

  beforeAll(async () => {
    if (needs !== undefined && !(await needs())) {
      if (inCI) throw new Error(`CI needs the ${sandbox} sandbox: apt-get install bubblewrap`);
      console.warn(`skipping the ${sandbox} end-to-end test: it does not run here`);
      return;
    }
    agents = await createNodeOrchestrator({
      dataDir: join(work, sandbox),
      logger: silentLogger,
      sandbox,
      allowFileRepositories: true,
      anthropic: { apiKey: 'test-key', baseURL: model.url },
    });
    [hub, spoke] = await Promise.all([startPeer({ name: 'Hub' }), startPeer({ name: 'Spoke', agents: agents.orchestrator })]);
  });

  afterAll(async () => {
    await Promise.all([hub, spoke].map((peer) => peer?.destroy()));
    await agents?.close();
  });

  it('is spawned by the hub, runs on the spoke, and its patch reaches the hub', async (context) => {
    if (agents === undefined) return context.skip();
    expect(agents.description).toBe(description);
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
    // The same work as commits: the bundle, read from the spoke in chunks, goes into a
    // clone of the repository as the agent's branch.
    const ref = status.result?.bundle;
    expect(ref).toMatchObject({ branch: `mosaic/agent-${agentId}` });
    const file = join(work, `${sandbox}.bundle`);
    writeFileSync(file, await admin.bundle(agentId));
    const clone = join(work, `${sandbox}-clone`);
    execFileSync('git', ['clone', '--quiet', repository, clone]);
    execFileSync('git', ['-C', clone, 'fetch', '--quiet', file, `refs/heads/${ref?.branch}:refs/heads/delivered`]);
    expect(execFileSync('git', ['-C', clone, 'merge-base', 'main', 'delivered'], { encoding: 'utf8' }).trim()).toBe(ref?.base);
    expect(execFileSync('git', ['-C', clone, 'show', 'delivered:calc.sh'], { encoding: 'utf8' })).toContain('echo $(($1 + $2))');
  });

  it("stops at the model turn that reaches the connection's token budget for an agent, and says so to the hub", async (context) => {
    if (agents === undefined) return context.skip();
    const { fromConnectionId, toConnectionId } = await connectPeers(hub, spoke);
    const admin = new AdminClient({ url: hub.url, token: hub.token });
    const spokeAdmin = new AdminClient({ url: spoke.url, token: spoke.token });
    // Half of what the whole fix took in the test before: reached on a turn before the last.
    const [whole] = (await admin.agents({ taskId: 'fix-add' })).sent.items;
    const budget = Math.floor(tokensOf(whole?.status.result?.usage ?? { inputTokens: 0, outputTokens: 0 }) / 2);
    expect(budget).toBeGreaterThan(0);
    await spokeAdmin.updateGrants(toConnectionId, { maxTokensPerAgent: budget });
    try {
      const asked = model.requests.length;
      const { agentId } = await admin.spawn({
        connectionId: fromConnectionId,
        payload: { taskId: 'fix-add-budget', agentType: 'worker', context: { repository, branch: 'main', instructions: 'Make sh test.sh pass.' } },
      });
      const events: AgentStatusChangedPayload[] = [];
      for await (const event of admin.events(agentId)) events.push(event);
      expect(events.at(-1)).toMatchObject({ status: 'failed', error: expect.stringMatching(new RegExp(`^the agent used its budget of ${budget.toLocaleString('en')} model tokens \\([\\d,]+ used\\)$`)) });
      // Fewer turns than the fix needs: it stopped before the end.
      expect(model.requests.length - asked).toBeLessThan(whole?.status.progress?.turns ?? 0);
    } finally {
      await spokeAdmin.updateGrants(toConnectionId, { maxTokensPerAgent: null });
    }
  });

  it("waits for the hub's approval of its plan and of the commands the spoke's rules hold, and goes on as answered", async (context) => {
    if (agents === undefined) return context.skip();
    const { fromConnectionId, toConnectionId } = await connectPeers(hub, spoke);
    const admin = new AdminClient({ url: hub.url, token: hub.token });
    const spokeAdmin = new AdminClient({ url: spoke.url, token: spoke.token });
    await spokeAdmin.updateGrants(toConnectionId, { approvals: { commands: ['sh test.sh'] } });
    try {
      const { agentId } = await admin.spawn({
        connectionId: fromConnectionId,
        payload: { taskId: 'fix-add-approved', agentType: 'worker', context: { repository, branch: 'main' }, options: { approval: 'plan' } },
      });
      const events = (async () => {
        const seen: AgentStatusChangedPayload[] = [];
        for await (const event of admin.events(agentId)) seen.push(event);
        return seen;
      })();
      /** The hub's status once the agent waits for an approval of this kind (the hub learns it from the spoke's events). */
      const waitingFor = async (kind: string): Promise<AgentStatus & { pendingApproval: NonNullable<AgentStatus['pendingApproval']> }> => {
        for (let tries = 0; tries < 300; tries++) {
          const status = await admin.status(agentId);
          if (status.status === 'waiting' && status.pendingApproval?.kind === kind) return { ...status, pendingApproval: status.pendingApproval };
          await new Promise((resolve) => setTimeout(resolve, 50));
        }
        throw new Error(`the agent never waited for approval of its ${kind}`);
      };
      const plan = await waitingFor('plan');
      expect(plan.pendingApproval.summary).toBe('Replace `$1 - $2` with `$1 + $2` in calc.sh.');
      expect(await admin.respond(agentId, { approvalId: plan.pendingApproval.id, decision: 'approve', note: 'Go ahead.' })).toMatchObject({
        agentId,
        approvalId: plan.pendingApproval.id,
        decision: 'approve',
      });
      // The spoke takes one answer per approval; the hub passes its refusal on.
      await expect(admin.respond(agentId, { approvalId: plan.pendingApproval.id, decision: 'reject' })).rejects.toMatchObject({ code: 'VALIDATION_FAILED' });
      const command = await waitingFor('command');
      expect(command.pendingApproval).toMatchObject({ summary: 'Run `sh test.sh`', details: { command: 'sh test.sh', rule: 'sh test.sh' } });
      await admin.respond(agentId, { approvalId: command.pendingApproval.id, decision: 'approve' });
      const seen = await events;
      expect(seen.at(-1)).toMatchObject({ status: 'completed', result: { outcome: 'succeeded', checks: [{ command: 'sh test.sh', exitCode: 0 }] } });
      expect(seen.filter((event) => event.status === 'waiting').map((event) => event.pendingApproval?.kind)).toEqual(['plan', 'command']);
      // Both sides keep who answered what.
      const hubAudit = await admin.audit({ action: 'agent.respond' });
      expect(hubAudit.items.filter((entry) => entry.target === `agent:${agentId}`).map((entry) => entry.after)).toEqual([
        { approvalId: command.pendingApproval.id, decision: 'approve' },
        { approvalId: plan.pendingApproval.id, decision: 'approve' },
      ]);
      const spokeAudit = await spokeAdmin.audit({ action: 'agent.respond' });
      expect(spokeAudit.items.filter((entry) => entry.target === `agent:${agentId}`).map((entry) => entry.actor.type)).toEqual(['peer', 'peer']);
    } finally {
      await spokeAdmin.updateGrants(toConnectionId, { approvals: null });
    }
  });

  it('fetches a granted repository only at an address the outbound policy allows, and says no more than that', async (context) => {
    if (agents === undefined) return context.skip();
    // A web server on the spoke's loopback: the spoke's orchestrator may not reach it, even
    // for a repository the grants allow.
    let requests = 0;
    const web = createServer((_request, response) => {
      requests += 1;
      response.end('not a git server');
    });
    await new Promise<void>((done) => web.listen(0, '127.0.0.1', done));
    try {
      const { fromConnectionId, toConnectionId } = await connectPeers(hub, spoke);
      const granted = await spoke.api(`/api/v1/federation/connections/${toConnectionId}`, { method: 'PATCH', body: { repositories: ['http://127.0.0.1:*/**'] } });
      expect(granted.status).toBe(200);
      const admin = new AdminClient({ url: hub.url, token: hub.token });
      const probe = `http://127.0.0.1:${(web.address() as AddressInfo).port}/internal/repo.git`;
      const { agentId } = await admin.spawn({ connectionId: fromConnectionId, payload: { taskId: 'probe', agentType: 'worker', context: { repository: probe, branch: 'main' } } });
      let last: AgentStatusChangedPayload | undefined;
      for await (const event of admin.events(agentId)) last = event;
      expect(last?.status).toBe('failed');
      expect(last?.error).toBe(`could not clone ${probe} at main`);
      expect(requests).toBe(0);
    } finally {
      await new Promise((done) => web.close(done));
    }
  });
});

describe('a private repository', () => {
  it('is cloned with the credential the spoke admin set for its host, which no prompt, status or event carries', async () => {
    const git = await startGitHttpServer(work);
    // The model's requests, to show the credential never reaches it.
    const seen: string[] = [];
    const script = demoFixScript().map((turn): ScriptedTurn => (request) => {
      seen.push(JSON.stringify(request));
      return typeof turn === 'function' ? turn(request) : turn;
    });
    const privateModel = await startScriptedMessagesServer(turnByTurn(script));
    const dataDir = join(work, 'private');
    const agents = await createNodeOrchestrator({
      dataDir,
      logger: silentLogger,
      sandbox: 'unsafe-process',
      // The repository's server is on this machine's loopback.
      allowNetworks: ['127.0.0.0/8'],
      anthropic: { apiKey: 'test-key', baseURL: privateModel.url },
    });
    const [hub, spoke] = await Promise.all([startPeer({ name: 'Hub' }), startPeer({ name: 'Spoke', agents: agents.orchestrator, dataDir })]);
    try {
      const { fromConnectionId, toConnectionId } = await connectPeers(hub, spoke);
      const spokeAdmin = new AdminClient({ url: spoke.url, token: spoke.token });
      await spokeAdmin.updateGrants(toConnectionId, { repositories: [`http://127.0.0.1:${git.port}/private/*`] });
      await spokeAdmin.setGitCredential(`127.0.0.1:${git.port}`, GIT_SERVER_CREDENTIAL);
      const admin = new AdminClient({ url: hub.url, token: hub.token });
      const { agentId } = await admin.spawn({
        connectionId: fromConnectionId,
        payload: { taskId: 'private', agentType: 'worker', context: { repository: `http://127.0.0.1:${git.port}/private/repo`, branch: 'main' } },
      });
      const events: AgentStatusChangedPayload[] = [];
      for await (const event of admin.events(agentId)) events.push(event);
      expect(events.at(-1)?.status).toBe('completed');
      expect(events.at(-1)?.result?.patch).toContain('+  echo $(($1 + $2))');
      expect(git.requests.some((request) => request.authorization !== undefined)).toBe(true);
      expect(seen.length).toBeGreaterThan(0);
      for (const text of [...seen, JSON.stringify(events)]) expect(text).not.toContain(GIT_SERVER_CREDENTIAL.password);
    } finally {
      await Promise.all([hub.destroy(), spoke.destroy()]);
      await agents.close();
      await privateModel.close();
      await git.close();
    }
  });
});

describe('a spoke with no sandbox that isolates agents', () => {
  it('refuses a peer\'s spawn with the reason, starting nothing and keeping nothing', async () => {
    const agents = await createNodeOrchestrator({
      dataDir: join(work, 'none'),
      logger: silentLogger,
      sandboxImage: 'localhost/no-such-image:latest',
      bubblewrapPath: join(work, 'no-bwrap-here'),
      anthropic: { apiKey: 'test-key', baseURL: model.url },
    });
    const [hub, spoke] = await Promise.all([startPeer({ name: 'Hub' }), startPeer({ name: 'Spoke', agents: agents.orchestrator })]);
    try {
      expect(agents.description).toBe('no sandbox (peers\' spawns are refused)');
      const { fromConnectionId } = await connectPeers(hub, spoke);
      const spawned = await hub.api('/api/v1/federation/agents/spawn', { body: { connectionId: fromConnectionId, payload: spawnPayload('unisolated') } });
      expect(spawned.status).toBe(403);
      expect(spawned.body).toMatchObject({ code: 'CAPABILITY_DISABLED', error: expect.stringContaining('no sandbox that isolates agents') });
      const hosted = await spoke.api<{ hosted: { items: unknown[] } }>('/api/v1/federation/agents');
      expect(hosted.body.data.hosted.items).toEqual([]);
    } finally {
      await Promise.all([hub.destroy(), spoke.destroy()]);
      await agents.close();
    }
  });
});

describe('a spoke with no key for Claude', () => {
  it("refuses a peer's spawn in its own words, not the model SDK's, starting nothing", async () => {
    const saved = { key: process.env.ANTHROPIC_API_KEY, token: process.env.ANTHROPIC_AUTH_TOKEN };
    delete process.env.ANTHROPIC_API_KEY;
    delete process.env.ANTHROPIC_AUTH_TOKEN;
    const agents = await createNodeOrchestrator({ dataDir: join(work, 'no-key'), logger: silentLogger, sandbox: 'unsafe-process', allowFileRepositories: true });
    if (saved.key !== undefined) process.env.ANTHROPIC_API_KEY = saved.key;
    if (saved.token !== undefined) process.env.ANTHROPIC_AUTH_TOKEN = saved.token;
    const [hub, spoke] = await Promise.all([startPeer({ name: 'Hub' }), startPeer({ name: 'Spoke', agents: agents.orchestrator })]);
    try {
      const { fromConnectionId } = await connectPeers(hub, spoke);
      const spawned = await hub.api('/api/v1/federation/agents/spawn', {
        body: { connectionId: fromConnectionId, payload: { taskId: 'no-key', agentType: 'worker', context: { repository, branch: 'main' } } },
      });
      expect(spawned.status).toBe(403);
      expect(spawned.body).toMatchObject({ code: 'CAPABILITY_DISABLED', error: 'this instance has no key for Claude (set ANTHROPIC_API_KEY): it runs no agent for peers' });
      const hosted = await spoke.api<{ hosted: { items: unknown[] } }>('/api/v1/federation/agents');
      expect(hosted.body.data.hosted.items).toEqual([]);
    } finally {
      await Promise.all([hub.destroy(), spoke.destroy()]);
      await agents.close();
    }
  });
});
