// Real instances for multi-instance tests: each one served by the Node entry on its own
// loopback port, with a libSQL file in its own data directory.
import { DEFAULT_REPOSITORY_PATTERNS, type OrchestratorAdapter } from '@mosaic-fed/core';
import { afterEach } from 'vitest';
import { createAdminToken, type FederationAppOptions, silentLogger } from '@mosaic-fed/server';
import { GIT_SERVER_CREDENTIAL } from '@mosaic-fed/orchestrator/testing';
import { AdminClient } from '@mosaic-fed/sdk';
import { startServer, type RunningServer, type StartServerOptions } from '../src/index.js';
import { createTempDir } from '../../server/test/helpers.js';
import { InMemoryOrchestrator } from './in-memory-orchestrator.js';

export interface PeerOptions {
  name: string;
  /** Reuse a port (a restart keeps the URL its peers pinned). */
  port?: number;
  dataDir?: string;
  autoAcceptUrls?: string[];
  /** Networks it may call; default loopback, where every test peer lives. */
  allowNetworks?: string[];
  /** The instance's repository policy. Default https hosts and local folders. */
  repositories?: string[];
  /** The instance's egress rules. Default none. */
  egress?: string[];
  /** Forge APIs for deliveries' pull requests, by repository host. */
  forges?: Record<string, string>;
  now?: () => Date;
  orchestrator?: InMemoryOrchestrator;
  /** Runs agents with this (a real orchestrator) instead of the in-memory one. */
  agents?: OrchestratorAdapter;
  /** More metrics its endpoint serves: a real orchestrator's. */
  metrics?: NonNullable<StartServerOptions['metrics']>;
  federation?: Partial<Omit<FederationAppOptions, 'url' | 'secret' | 'stores' | 'logger'>>;
}

export interface ApiResult<T = unknown> {
  status: number;
  body: { success: boolean; data: T; code?: string; error?: string; details?: { path: string; message: string }[] };
}

export interface Peer {
  name: string;
  url: string;
  instanceId: string;
  token: string;
  dataDir: string;
  server: RunningServer;
  orchestrator: InMemoryOrchestrator;
  /** Calls the instance's own API as an admin. */
  api<T = unknown>(path: string, init?: { method?: string; body?: unknown }): Promise<ApiResult<T>>;
  /** Stops the server; the data directory stays. */
  stop(): Promise<void>;
  /** Starts the same instance again on the same port. */
  restart(): Promise<Peer>;
  /** Stops the server and removes its data. */
  destroy(): Promise<void>;
}

export async function startPeer(options: PeerOptions, token?: string): Promise<Peer> {
  const dir = options.dataDir === undefined ? createTempDir('mosaic-fed-peer-') : undefined;
  const dataDir = options.dataDir ?? dir?.path ?? '';
  const orchestrator = options.orchestrator ?? new InMemoryOrchestrator(options.now);
  const server = await startServer({
    port: options.port ?? 0,
    dataDir,
    name: options.name,
    logger: silentLogger,
    orchestrator: options.agents ?? orchestrator,
    ...(options.autoAcceptUrls === undefined ? {} : { autoAcceptUrls: options.autoAcceptUrls }),
    allowNetworks: options.allowNetworks ?? ['127.0.0.0/8'],
    // The tests' repositories are folders on this machine.
    repositories: options.repositories ?? [...DEFAULT_REPOSITORY_PATTERNS, 'file://**'],
    ...(options.egress === undefined ? {} : { egress: options.egress }),
    ...(options.forges === undefined ? {} : { forges: options.forges }),
    ...(options.now === undefined ? {} : { now: options.now }),
    ...(options.metrics === undefined ? {} : { metrics: options.metrics }),
    federation: {
      outbox: { initialBackoffMs: 50, maxBackoffMs: 200, pollIntervalMs: 50 },
      messageRetries: 1,
      ...options.federation,
    },
  });
  const adminToken =
    token ??
    (
      await createAdminToken({
        store: server.federation.stores.adminTokens,
        label: 'tests',
        actor: { type: 'cli', id: 'test' },
      })
    ).token;
  let stopped = false;
  const peer: Peer = {
    name: options.name,
    url: server.url,
    instanceId: server.instanceId,
    token: adminToken,
    dataDir,
    server,
    orchestrator,
    async api<T>(path: string, init: { method?: string; body?: unknown } = {}) {
      const response = await fetch(`${server.url}${path}`, {
        method: init.method ?? (init.body === undefined ? 'GET' : 'POST'),
        headers: { Authorization: `Bearer ${adminToken}`, 'Content-Type': 'application/json' },
        ...(init.body === undefined ? {} : { body: JSON.stringify(init.body) }),
      });
      return { status: response.status, body: (await response.json()) as ApiResult<T>['body'] };
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      await server.close();
    },
    async restart() {
      await peer.stop();
      return startPeer({ ...options, port: server.port, dataDir, orchestrator }, adminToken);
    },
    async destroy() {
      await peer.stop();
      dir?.remove();
    },
  };
  return peer;
}

/**
 * Peers (and anything else with `destroy`) that each test of the calling file starts and
 * that are destroyed after it.
 */
export function destroyedAfterEachTest() {
  const started: { destroy(): Promise<void> }[] = [];
  afterEach(async () => {
    await Promise.all(started.splice(0).map((resource) => resource.destroy()));
  });
  const track = <T extends { destroy(): Promise<void> }>(resource: T): T => {
    started.push(resource);
    return resource;
  };
  return { track, peer: async (options: PeerOptions): Promise<Peer> => track(await startPeer(options)) };
}

/** Waits until `check` stops throwing (or returns true), or fails with its last error. */
export async function eventually<T>(check: () => Promise<T> | T, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  while (Date.now() < deadline) {
    try {
      const value = await check();
      if (value !== false) return value;
      lastError = new Error('the check returned false');
    } catch (error) {
      lastError = error;
    }
    await new Promise((done) => setTimeout(done, 25));
  }
  throw lastError;
}

/** Connects `from` to `to` and, unless auto-accepted, accepts on `to`. Returns both connection ids. */
export async function connectPeers(from: Peer, to: Peer): Promise<{ fromConnectionId: string; toConnectionId: string }> {
  const requested = await from.api<{ id: string; status: string }>('/api/v1/federation/connections', {
    body: { url: to.url },
  });
  if (requested.status !== 201) throw new Error(`connect failed: ${JSON.stringify(requested.body)}`);
  const incoming = await to.api<{ id: string; peerInstanceId: string; status: string }[]>('/api/v1/federation/connections');
  const theirs = incoming.body.data.find((c) => c.peerInstanceId === from.instanceId);
  if (theirs === undefined) throw new Error('the request did not arrive');
  if (theirs.status !== 'ACTIVE') {
    const accepted = await to.api(`/api/v1/federation/connections/${theirs.id}/accept`, { method: 'POST' });
    if (accepted.status !== 200) throw new Error(`accept failed: ${JSON.stringify(accepted.body)}`);
  }
  return { fromConnectionId: requested.body.data.id, toConnectionId: theirs.id };
}

export function spawnPayload(taskId: string, agentType: 'worker' | 'reviewer' | 'tester' = 'worker') {
  return {
    taskId,
    agentType,
    context: {
      repository: 'git.example.com/org/repo',
      branch: 'feature/fix-tests',
      workItems: ['item-1'],
      instructions: 'Make the failing test pass.',
    },
  };
}

/**
 * Connects `hub` to `spoke` for a repository on the test git server at `port`: the spoke's
 * grants allow its private repositories, and both hold its credential (the spoke to clone,
 * the hub to push).
 */
export async function connectOverGitServer(hub: Peer, spoke: Peer, port: number) {
  const { fromConnectionId, toConnectionId } = await connectPeers(hub, spoke);
  const spokeAdmin = new AdminClient({ url: spoke.url, token: spoke.token });
  await spokeAdmin.updateGrants(toConnectionId, { repositories: [`http://127.0.0.1:${port}/private/*`] });
  await spokeAdmin.setGitCredential(`127.0.0.1:${port}`, GIT_SERVER_CREDENTIAL);
  const admin = new AdminClient({ url: hub.url, token: hub.token });
  await admin.setGitCredential(`127.0.0.1:${port}`, GIT_SERVER_CREDENTIAL);
  return { fromConnectionId, toConnectionId, spokeAdmin, admin };
}

/** Signs in to a peer's web UI as a browser would, and answers the session cookie. */
export async function sessionCookie(peer: Peer): Promise<string> {
  const page = await fetch(`${peer.url}/federation/sign-in`);
  const guardCookie = (page.headers.get('set-cookie') ?? '').split(';')[0] ?? '';
  const guard = /name="guard" value="([^"]+)"/.exec(await page.text())?.[1] ?? '';
  const signedIn = await fetch(`${peer.url}/federation/sign-in`, {
    method: 'POST',
    redirect: 'manual',
    headers: { Origin: peer.url, Cookie: guardCookie, 'Content-Type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ guard, token: peer.token }),
  });
  return (signedIn.headers.get('set-cookie') ?? '').split(';')[0] ?? '';
}
