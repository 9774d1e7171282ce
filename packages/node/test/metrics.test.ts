import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createDemoRepository, demoFixScript, startScriptedMessagesServer, turnByTurn } from '@mosaic-fed/orchestrator/testing';
import { AdminClient } from '@mosaic-fed/sdk';
import { silentLogger } from '@mosaic-fed/server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createNodeOrchestrator } from '../src/index.js';
import { connectPeers, spawnPayload, startPeer, type Peer } from './peers.js';

// The Node entry's Prometheus endpoint, scraped from two real instances on loopback and
// parsed as Prometheus reads the text format.
let hub: Peer;
let spoke: Peer;
let spokeToHub: string;

beforeAll(async () => {
  [hub, spoke] = await Promise.all([startPeer({ name: 'Hub' }), startPeer({ name: 'Spoke' })]);
  const { fromConnectionId, toConnectionId } = await connectPeers(hub, spoke);
  spokeToHub = toConnectionId;
  await new AdminClient({ url: hub.url, token: hub.token }).spawn({ connectionId: fromConnectionId, payload: spawnPayload('metrics-task') });
});

afterAll(async () => {
  await Promise.all([hub, spoke].map((peer) => peer?.destroy()));
});

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** The text exposition format's samples (`name{label="value",...} number`), comments left out. */
function parse(text: string): Sample[] {
  return text
    .split('\n')
    .filter((line) => line !== '' && !line.startsWith('#'))
    .map((line) => {
      const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
      if (match === null) throw new Error(`not a sample: ${line}`);
      const labels = Object.fromEntries([...(match[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\\\]|\\\\.)*)"/g)].map(([, key, value]) => [key ?? '', value ?? '']));
      return { name: match[1] ?? '', labels, value: Number(match[3]) };
    });
}

async function scrape(peer: Peer, token = peer.token): Promise<{ status: number; samples: Sample[]; type: string }> {
  const response = await fetch(`${peer.url}/api/v1/federation/metrics`, { headers: { Authorization: `Bearer ${token}` } });
  const text = await response.text();
  return { status: response.status, type: response.headers.get('content-type') ?? '', samples: response.status === 200 ? parse(text) : [] };
}

const find = (samples: Sample[], name: string, labels: Record<string, string> = {}) =>
  samples.filter((sample) => sample.name === name && Object.entries(labels).every(([key, value]) => sample.labels[key] === value));

describe('the Prometheus endpoint', () => {
  it("counts requests by route and code, refused messages by code, and reads agents, the outbox and a day's tokens", async () => {
    const refused = await fetch(`${spoke.url}/api/v1/federation/incoming/command`, { method: 'POST', headers: { 'Content-Type': 'application/jwt' }, body: 'not a message' });
    expect(refused.status).toBe(400);
    const { status, samples, type } = await scrape(spoke);
    expect(status).toBe(200);
    expect(type).toContain('text/plain');
    const incoming = find(samples, 'mosaic_fed_http_requests_total', { method: 'POST', route: '/api/v1/federation/incoming/:endpoint', status: '200' });
    expect(incoming[0]?.value).toBeGreaterThanOrEqual(1);
    expect(find(samples, 'mosaic_fed_http_requests_total', { status: '400', route: '/api/v1/federation/incoming/:endpoint' })[0]?.value).toBe(1);
    expect(find(samples, 'mosaic_fed_message_verification_failures_total', { code: 'MALFORMED_MESSAGE' })[0]?.value).toBe(1);
    expect(find(samples, 'mosaic_fed_http_request_duration_seconds_count', { method: 'POST', route: '/api/v1/federation/incoming/:endpoint' })[0]?.value).toBeGreaterThanOrEqual(2);
    // Route patterns, never raw paths: no agent or connection id in a route label.
    for (const sample of find(samples, 'mosaic_fed_http_requests_total')) expect(sample.labels.route).not.toMatch(/[0-9a-f]{8}-[0-9a-f]{4}/);
    expect(find(samples, 'mosaic_fed_hosted_agents', { state: 'spawning', type: 'worker' })[0]?.value).toBe(1);
    expect(find(samples, 'mosaic_fed_outbox_backlog', { kind: 'pending' })).toHaveLength(1);
    expect(find(samples, 'mosaic_fed_outbox_oldest_age_seconds')[0]?.value).toBeGreaterThanOrEqual(0);
    expect(find(samples, 'mosaic_fed_connection_tokens_today', { connection: spokeToHub, peer: 'Hub' })[0]?.value).toBe(0);
    expect(find(samples, 'mosaic_fed_process_resident_memory_bytes')[0]?.value).toBeGreaterThan(0);
  });

  it("serves its orchestrator's beside them: how long sandboxes took to start, and the agents queued and running", async () => {
    const work = mkdtempSync(join(tmpdir(), 'mosaic-metrics-'));
    const model = await startScriptedMessagesServer(turnByTurn(demoFixScript()));
    const agents = await createNodeOrchestrator({
      dataDir: join(work, 'orchestrator'),
      logger: silentLogger,
      sandbox: 'unsafe-process',
      allowFileRepositories: true,
      maxConcurrentAgents: 1,
      anthropic: { apiKey: 'test-key', baseURL: model.url },
    });
    const runner = await startPeer({ name: 'Runner', agents: agents.orchestrator, ...(agents.metrics === undefined ? {} : { metrics: [agents.metrics] }) });
    try {
      const { fromConnectionId } = await connectPeers(hub, runner);
      const admin = new AdminClient({ url: hub.url, token: hub.token });
      const repository = createDemoRepository(join(work, 'repo'));
      const payload = (taskId: string) => ({ taskId, agentType: 'worker' as const, context: { repository, branch: 'main' } });
      const [first, second] = [await admin.spawn({ connectionId: fromConnectionId, payload: payload('first') }), await admin.spawn({ connectionId: fromConnectionId, payload: payload('second') })];
      // One place: while the first runs, the second is queued for it.
      const busy = await scrape(runner);
      expect(find(busy.samples, 'mosaic_fed_agent_queue', { state: 'queued' })[0]?.value).toBe(1);
      expect(find(busy.samples, 'mosaic_fed_agent_queue', { state: 'running' })[0]?.value).toBe(1);
      for (const { agentId } of [first, second]) for await (const event of admin.events(agentId)) void event;
      const { samples } = await scrape(runner);
      expect(find(samples, 'mosaic_fed_sandbox_start_seconds_count', { provider: 'process' })[0]?.value).toBe(2);
      expect(find(samples, 'mosaic_fed_sandbox_start_seconds_sum', { provider: 'process' })[0]?.value).toBeGreaterThan(0);
      expect(find(samples, 'mosaic_fed_agent_queue', { state: 'queued' })[0]?.value).toBe(0);
      expect(find(samples, 'mosaic_fed_agent_queue', { state: 'running' })[0]?.value).toBe(0);
      // And its own are there still.
      expect(find(samples, 'mosaic_fed_http_requests_total').length).toBeGreaterThan(0);
    } finally {
      await runner.destroy();
      await agents.close();
      await model.close();
      rmSync(work, { recursive: true, force: true });
    }
  });

  it("is the admins' to read: no token is 401, a user's token 403", async () => {
    expect((await scrape(spoke, 'mfa_not-a-token')).status).toBe(401);
    await spoke.server.federation.people.createUser({ id: 'viewer', name: 'Viewer' }, { type: 'cli', id: 'test' });
    const { token } = await spoke.server.federation.people.createUserToken('viewer', { label: 'scrape' }, { type: 'cli', id: 'test' });
    expect((await scrape(spoke, token)).status).toBe(403);
  });
});
