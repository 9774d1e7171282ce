import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AgentDelivery } from '@mosaic-fed/core';
import {
  createDemoRepository,
  demoFixScript,
  GIT_SERVER_CREDENTIAL,
  startGitHttpServer,
  startScriptedMessagesServer,
  turnByTurn,
  type ScriptedMessagesServer,
} from '@mosaic-fed/orchestrator/testing';
import { AdminClient } from '@mosaic-fed/sdk';
import { silentLogger } from '@mosaic-fed/server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createNodeOrchestrator, forgeRepositoryOf, type NodeOrchestrator } from '../src/index.js';
import { connectOverGitServer, connectPeers, eventually, sessionCookie, startPeer, type Peer } from './peers.js';

// Delivery end to end: a hub spawns a worker on a spoke with `options.deliver`; the spoke
// clones from a real git server (git http-backend on loopback) and hands back a bundle;
// the hub pushes the agent's branch there with its own credential and opens a pull
// request through a recorded forge API on loopback, at the network boundary.
const work = mkdtempSync(join(tmpdir(), 'mosaic-delivery-e2e-'));
let model: ScriptedMessagesServer;
let git: Awaited<ReturnType<typeof startGitHttpServer>>;
let forge: Server;
const forgeRequests: { method: string; path: string; authorization: string | undefined; body: Record<string, unknown> }[] = [];
let agents: NodeOrchestrator;
let hub: Peer;
let spoke: Peer;
let repository = '';

async function bodyOf(request: IncomingMessage): Promise<Record<string, unknown>> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  return JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}') as Record<string, unknown>;
}

beforeAll(async () => {
  createDemoRepository(join(work, 'repo'));
  git = await startGitHttpServer(work);
  repository = `http://127.0.0.1:${git.port}/private/repo`;
  // Answers as GitHub's and Gitea's POST /repos/{owner}/{repo}/pulls do.
  forge = createServer((request, response) => {
    void bodyOf(request).then((body) => {
      forgeRequests.push({ method: request.method ?? '', path: request.url ?? '', authorization: request.headers.authorization, body });
      response.writeHead(201, { 'content-type': 'application/json' });
      response.end(JSON.stringify({ number: 12, html_url: `http://127.0.0.1:${git.port}/private/repo/pulls/12`, state: 'open' }));
    });
  });
  await new Promise<void>((done) => forge.listen(0, '127.0.0.1', done));
  model = await startScriptedMessagesServer(turnByTurn(demoFixScript()));
  agents = await createNodeOrchestrator({
    dataDir: join(work, 'spoke'),
    logger: silentLogger,
    sandbox: 'unsafe-process',
    allowNetworks: ['127.0.0.0/8'],
    anthropic: { apiKey: 'test-key', baseURL: model.url },
  });
  [hub, spoke] = await Promise.all([
    startPeer({ name: 'Hub', forges: { [`127.0.0.1:${git.port}`]: `http://127.0.0.1:${(forge.address() as AddressInfo).port}/api/v1` } }),
    startPeer({ name: 'Spoke', agents: agents.orchestrator, dataDir: join(work, 'spoke') }),
  ]);
});

afterAll(async () => {
  await Promise.all([hub, spoke].map((peer) => peer?.destroy()));
  await agents?.close();
  await model?.close();
  await git?.close();
  await new Promise((done) => forge?.close(done));
  rmSync(work, { recursive: true, force: true });
});

describe('delivery on the hub', () => {
  it("pushes the agent's commits to a branch with the hub's own credential and opens the pull request", async () => {
    const { fromConnectionId, spokeAdmin, admin } = await connectOverGitServer(hub, spoke, git.port);

    const { agentId } = await admin.spawn({
      connectionId: fromConnectionId,
      payload: {
        taskId: 'deliver-fix',
        agentType: 'worker',
        context: { repository, branch: 'main', instructions: 'Make sh test.sh pass.' },
        options: { deliver: { branch: 'agent/fix-add', pullRequest: true } },
      },
    });
    for await (const event of admin.events(agentId)) if (event.status === 'failed') throw new Error(event.error ?? 'the agent failed');
    let delivery: AgentDelivery | undefined;
    await eventually(async () => {
      delivery = await admin.delivery(agentId);
      expect(delivery).toMatchObject({ state: 'delivered' });
    }, 20_000);
    const { result } = await admin.status(agentId);
    expect(delivery).toMatchObject({ agentId, branch: 'agent/fix-add', pullRequested: true, attempts: 1, error: null, pullRequest: { number: 12 } });

    // The branch is on the git server, at the agent's commit, on top of main.
    const inRepo = (...args: string[]) => execFileSync('git', ['-C', join(work, 'repo'), ...args], { encoding: 'utf8' }).trim();
    expect(inRepo('rev-parse', 'refs/heads/agent/fix-add')).toBe(delivery?.commit);
    expect(inRepo('merge-base', 'main', 'agent/fix-add')).toBe(result?.bundle?.base);
    expect(inRepo('show', 'agent/fix-add:calc.sh')).toContain('echo $(($1 + $2))');
    // Pushed with the hub's credential: the server saw an authenticated receive-pack.
    expect(git.requests.some((request) => request.path.endsWith('/git-receive-pack') && request.authorization !== undefined)).toBe(true);

    expect(forgeRequests).toEqual([
      {
        method: 'POST',
        path: '/api/v1/repos/private/repo/pulls',
        authorization: `token ${GIT_SERVER_CREDENTIAL.password}`,
        body: { head: 'agent/fix-add', base: 'main', title: expect.stringMatching(/^deliver-fix: /), body: result?.summary },
      },
    ]);
    // The hub's page of the agent says where its commits went, and hands out the bundle.
    const cookie = await sessionCookie(hub);
    const page = await (await fetch(`${hub.url}/federation/agents/${agentId}`, { headers: { cookie } })).text();
    expect(page).toContain('Delivered to the branch agent/fix-add of the repository, with pull request #12');
    const download = await fetch(`${hub.url}/federation/agents/${agentId}/bundle`, { headers: { cookie } });
    expect(download.headers.get('content-type')).toBe('application/x-git-bundle');
    expect(new Uint8Array(await download.arrayBuffer())).toEqual(await admin.bundle(agentId));
    // The peer's agent.spawn never carried the delivery: the spoke knows nothing of it.
    const hosted = await spokeAdmin.agents();
    expect(JSON.stringify(hosted)).not.toContain('agent/fix-add');
  });

  it('never forces a branch someone else moved: the try fails with the reason, to be tried again', async () => {
    const { fromConnectionId } = await connectPeers(hub, spoke);
    const inRepo = (...args: string[]) => execFileSync('git', ['-C', join(work, 'repo'), ...args], { encoding: 'utf8' }).trim();
    // Someone else's commit on the branch: the agent's does not build on it.
    const theirs = inRepo('commit-tree', 'main^{tree}', '-p', 'main', '-m', 'Someone else was here');
    inRepo('update-ref', 'refs/heads/agent/taken', theirs);
    const admin = new AdminClient({ url: hub.url, token: hub.token });
    const { agentId } = await admin.spawn({
      connectionId: fromConnectionId,
      payload: { taskId: 'deliver-taken', agentType: 'worker', context: { repository, branch: 'main' }, options: { deliver: { branch: 'agent/taken' } } },
    });
    for await (const event of admin.events(agentId)) if (event.status === 'failed') throw new Error(event.error ?? 'the agent failed');
    const delivery = await eventually(async () => {
      const current = await admin.delivery(agentId);
      expect(current.attempts).toBeGreaterThan(0);
      return current;
    }, 20_000);
    expect(delivery).toMatchObject({ state: 'waiting', commit: null, pullRequested: false });
    expect(delivery.error).toMatch(/^could not push agent\/taken to http:\/\/127\.0\.0\.1:\d+\/private\/repo: .*rejected/);
    expect(inRepo('rev-parse', 'refs/heads/agent/taken')).toBe(theirs);
  });

  it('refuses a delivery onto the branch the agent starts from, and answers NOT_FOUND where none was asked', async () => {
    const { fromConnectionId } = await connectPeers(hub, spoke);
    const admin = new AdminClient({ url: hub.url, token: hub.token });
    await expect(
      admin.spawn({
        connectionId: fromConnectionId,
        payload: { taskId: 'onto-main', agentType: 'worker', context: { repository, branch: 'main' }, options: { deliver: { branch: 'main' } } },
      }),
    ).rejects.toMatchObject({ code: 'VALIDATION_FAILED' });
    await expect(admin.delivery(crypto.randomUUID())).rejects.toMatchObject({ code: 'NOT_FOUND' });
  });

  it('reads owner and repository from every form of repository address', () => {
    expect(forgeRepositoryOf('https://github.com/acme/widgets.git')).toEqual({ host: 'github.com', owner: 'acme', repo: 'widgets' });
    expect(forgeRepositoryOf('git.example.com:8443/team/tools')).toEqual({ host: 'git.example.com:8443', owner: 'team', repo: 'tools' });
    expect(forgeRepositoryOf('git@GitHub.com:acme/widgets.git')).toEqual({ host: 'github.com', owner: 'acme', repo: 'widgets' });
    expect(() => forgeRepositoryOf('https://git.example.com/lonely')).toThrow(/names no owner and repository/);
  });
});
