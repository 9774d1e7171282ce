import { randomBytes } from 'node:crypto';
import { sha256Hex, type AgentBundleRef, type AgentStatus, type AgentStatusChangedPayload, type AgentTranscriptResponse, type Connection } from '@mosaic-fed/core';
import { join } from 'node:path';
import { AdminClient, FederationClient } from '@mosaic-fed/sdk';
import { DATABASE_FILE, openDatabase } from '../src/index.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectPeers, eventually, spawnPayload, startPeer, type Peer } from './peers.js';

// Two and three real instances on loopback ports, each with its own libSQL file.
let hub: Peer;
let spoke: Peer;
let other: Peer;
let hubToSpoke: string;

beforeAll(async () => {
  [hub, spoke, other] = await Promise.all([
    startPeer({ name: 'Hub' }),
    startPeer({ name: 'Spoke' }),
    startPeer({ name: 'Other Hub' }),
  ]);
});

afterAll(async () => {
  await Promise.all([hub, spoke, other].map((peer) => peer?.destroy()));
});

async function hubStatus(agentId: string): Promise<AgentStatus> {
  const result = await hub.api<AgentStatus>(`/api/v1/federation/agents/${agentId}/status`);
  return result.body.data;
}

/** Every status event of an agent as the hub's event stream delivers it, from `lastEventId` on. */
async function readEvents(peer: Peer, agentId: string, lastEventId?: string) {
  const events: AgentStatusChangedPayload[] = [];
  const admin = new AdminClient({ url: peer.url, token: peer.token });
  for await (const event of admin.events(agentId, lastEventId === undefined ? {} : { lastEventId })) events.push(event);
  return events;
}

describe('two instances', () => {
  it('connect, and accept on the other side: both ACTIVE', async () => {
    const requested = await hub.api<Connection>('/api/v1/federation/connections', { body: { url: spoke.url } });
    expect(requested.status).toBe(201);
    expect(requested.body.data).toMatchObject({ status: 'PENDING', direction: 'outgoing', peerInstanceId: spoke.instanceId });
    hubToSpoke = requested.body.data.id;

    const pending = await spoke.api<Connection[]>('/api/v1/federation/connections?status=PENDING');
    const request = pending.body.data.find((c) => c.peerInstanceId === hub.instanceId);
    expect(request).toMatchObject({ direction: 'incoming', peerUrl: hub.url, peerName: 'Hub' });

    const accepted = await spoke.api<Connection>(`/api/v1/federation/connections/${request?.id}/accept`, { method: 'POST' });
    expect(accepted.body.data.status).toBe('ACTIVE');
    const mine = await hub.api<Connection>(`/api/v1/federation/connections/${hubToSpoke}`);
    expect(mine.body.data.status).toBe('ACTIVE');
    // A second connect to the same peer changes nothing.
    const again = await hub.api<Connection>('/api/v1/federation/connections', { body: { url: spoke.url } });
    expect(again.body.data.id).toBe(hubToSpoke);
  });

  it('spawns on the peer, follows status and events to completed, and lists the agent on both sides', async () => {
    const spawned = await hub.api<{ agentId: string; state: string }>('/api/v1/federation/agents/spawn', {
      body: { connectionId: hubToSpoke, payload: spawnPayload('task-1') },
    });
    expect(spawned.status).toBe(201);
    expect(spawned.body.data.state).toBe('spawning');
    const { agentId } = spawned.body.data;
    expect(spoke.orchestrator.agents.get(agentId)?.request.ownerInstanceId).toBe(hub.instanceId);

    const stream = readEvents(hub, agentId);
    spoke.orchestrator.start(agentId);
    spoke.orchestrator.progress(agentId, 3, 'ran the test suite');
    await eventually(async () => expect((await hubStatus(agentId)).progress?.turns).toBe(3));
    spoke.orchestrator.complete(agentId, {
      summary: 'Fixed the failing test',
      patch: 'diff --git a/x b/x\n',
      usage: { inputTokens: 10, outputTokens: 5 },
    });
    await eventually(async () => expect((await hubStatus(agentId)).status).toBe('completed'));
    expect((await hubStatus(agentId)).result?.summary).toBe('Fixed the failing test');

    const events = await stream;
    expect(events.map((e) => e.status)).toEqual(['spawning', 'running', 'running', 'completed']);
    expect(events.map((e) => e.sequence)).toEqual([1, 2, 3, 4]);
    // Resumed with Last-Event-ID: only what came after.
    const resumed = await readEvents(hub, agentId, '2');
    expect(resumed.map((e) => e.sequence)).toEqual([3, 4]);

    const refreshed = await hub.api<AgentStatus>(`/api/v1/federation/agents/${agentId}/status?refresh=true`);
    expect(refreshed.body.data.status).toBe('completed');

    const hubList = await hub.api<{ sent: { items: { agentId: string }[] } }>('/api/v1/federation/agents');
    expect(hubList.body.data.sent.items.map((a) => a.agentId)).toContain(agentId);
    const spokeList = await spoke.api<{ hosted: { items: { agentId: string; ownerInstanceId: string }[] } }>(
      '/api/v1/federation/agents',
    );
    expect(spokeList.body.data.hosted.items).toContainEqual(expect.objectContaining({ agentId, ownerInstanceId: hub.instanceId }));
  });

  it('kills an agent on the peer; a second kill answers the same', async () => {
    const spawned = await hub.api<{ agentId: string }>('/api/v1/federation/agents/spawn', {
      body: { connectionId: hubToSpoke, payload: spawnPayload('task-kill') },
    });
    const { agentId } = spawned.body.data;
    spoke.orchestrator.start(agentId);
    const killed = await hub.api<{ status: string; killedAt: string }>(`/api/v1/federation/agents/${agentId}/kill`, { method: 'POST' });
    expect(killed.status).toBe(200);
    expect(killed.body.data.status).toBe('killed');
    const again = await hub.api<{ killedAt: string }>(`/api/v1/federation/agents/${agentId}/kill`, { method: 'POST' });
    expect(again.body.data.killedAt).toBe(killed.body.data.killedAt);
    await eventually(async () => expect((await hubStatus(agentId)).status).toBe('killed'));
  });

  it('follows an agent again after losing its orchestrator stream, and the hub still learns the end', async () => {
    spoke.orchestrator.watchFailures = 2;
    const spawned = await hub.api<{ agentId: string }>('/api/v1/federation/agents/spawn', {
      body: { connectionId: hubToSpoke, payload: spawnPayload('task-rewatch') },
    });
    const { agentId } = spawned.body.data;
    spoke.orchestrator.complete(agentId, { summary: 'Done after a hiccup' });
    await eventually(async () => expect((await hubStatus(agentId)).status).toBe('completed'), 15_000);
    expect(spoke.orchestrator.watchFailures).toBe(0);
  });

  it('lists the hub\'s own agents through the SDK, with signed messages', async () => {
    const client = await FederationClient.create({
      instanceId: hub.instanceId,
      signingKey: await hub.server.federation.instance.signingKey(),
      peer: { instanceId: spoke.instanceId, url: spoke.url, keys: (await spoke.server.federation.instance.load()).keys.map((k) => k.publicJwk) },
    });
    const page = await client.list({ limit: 1 });
    expect(page.agents).toHaveLength(1);
    expect(page.nextCursor).not.toBeNull();
    const all = await client.list({ limit: 500 });
    expect(all.agents.map((a) => a.taskId).sort()).toEqual(['task-1', 'task-kill', 'task-rewatch']);
    expect((await client.list({ status: 'killed' })).agents.map((a) => a.taskId)).toEqual(['task-kill']);
  });

  it("reads an agent's transcript from the peer, a page at a time, through the API and both SDK clients", async () => {
    const spawned = await hub.api<{ agentId: string }>('/api/v1/federation/agents/spawn', {
      body: { connectionId: hubToSpoke, payload: spawnPayload('task-transcript') },
    });
    const { agentId } = spawned.body.data;
    await eventually(() => expect(spoke.orchestrator.agents.has(agentId)).toBe(true));
    spoke.orchestrator.start(agentId);
    for (const command of ['ls', 'cat README.md', 'npm test']) {
      spoke.orchestrator.record(agentId, { kind: 'tool', turn: 1, tool: 'bash', input: command, output: 'ok' });
    }
    spoke.orchestrator.record(agentId, { kind: 'text', turn: 2, input: 'All three ran.' });

    const first = await hub.api<AgentTranscriptResponse>(`/api/v1/federation/agents/${agentId}/transcript?limit=3`);
    expect(first.status).toBe(200);
    expect(first.body.data.entries.map((entry) => [entry.index, entry.input])).toEqual([
      [1, 'ls'],
      [2, 'cat README.md'],
      [3, 'npm test'],
    ]);
    expect(first.body.data.nextCursor).toBe('3');
    const admin = new AdminClient({ url: hub.url, token: hub.token });
    const rest = await admin.transcript(agentId, { cursor: '3', limit: 3 });
    expect(rest).toEqual({ agentId, entries: [expect.objectContaining({ index: 4, kind: 'text', input: 'All three ran.' })], nextCursor: null });

    const client = await FederationClient.create({
      instanceId: hub.instanceId,
      signingKey: await hub.server.federation.instance.signingKey(),
      peer: { instanceId: spoke.instanceId, url: spoke.url, keys: (await spoke.server.federation.instance.load()).keys.map((k) => k.publicJwk) },
    });
    expect((await client.transcript(agentId)).entries).toHaveLength(4);

    const bad = await hub.api(`/api/v1/federation/agents/${agentId}/transcript?limit=9999`);
    expect(bad).toMatchObject({ status: 400, body: { code: 'VALIDATION_FAILED' } });
    const unknown = await hub.api(`/api/v1/federation/agents/${crypto.randomUUID()}/transcript`);
    expect(unknown).toMatchObject({ status: 404, body: { code: 'NOT_FOUND' } });
  });
  it("reads a completed agent's bundle from the peer in chunks, checked whole, through the API and both SDK clients", async () => {
    const start = async (taskId: string) => {
      const spawned = await hub.api<{ agentId: string }>('/api/v1/federation/agents/spawn', { body: { connectionId: hubToSpoke, payload: spawnPayload(taskId) } });
      const { agentId } = spawned.body.data;
      await eventually(() => expect(spoke.orchestrator.agents.has(agentId)).toBe(true));
      return agentId;
    };
    const completed = async (agentId: string, ref: AgentBundleRef, bundle: Uint8Array) => {
      spoke.orchestrator.complete(agentId, { summary: 'Committed.', bundle: ref }, bundle);
      await eventually(async () => expect((await hubStatus(agentId)).status).toBe('completed'));
    };
    // Three chunks and a bit: more than one message can carry.
    const bundle = new Uint8Array(randomBytes(3 * 96 * 1024 + 1_000));
    const ref = { sha256: await sha256Hex(bundle), bytes: bundle.length, branch: 'mosaic/agent-bundle', base: 'a'.repeat(40) };
    const agentId = await start('task-bundle');
    await completed(agentId, ref, bundle);

    const response = await fetch(`${hub.url}/api/v1/federation/agents/${agentId}/bundle`, { headers: { Authorization: `Bearer ${hub.token}` } });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('application/x-git-bundle');
    expect(response.headers.get('x-bundle-sha256')).toBe(ref.sha256);
    expect(new Uint8Array(await response.arrayBuffer())).toEqual(bundle);
    expect(await new AdminClient({ url: hub.url, token: hub.token }).bundle(agentId)).toEqual(bundle);
    const client = await FederationClient.create({
      instanceId: hub.instanceId,
      signingKey: await hub.server.federation.instance.signingKey(),
      peer: { instanceId: spoke.instanceId, url: spoke.url, keys: (await spoke.server.federation.instance.load()).keys.map((k) => k.publicJwk) },
    });
    expect(await client.bundle(agentId)).toEqual(bundle);
    const last = await client.bundleChunk(agentId, { offset: 3 * 96 * 1024 });
    expect(last).toMatchObject({ agentId, sha256: ref.sha256, bytes: ref.bytes, offset: 3 * 96 * 1024 });
    await expect(client.bundleChunk(agentId, { offset: bundle.length })).rejects.toMatchObject({ code: 'VALIDATION_FAILED' });
    // A copy of a chunk's message is answered in full again, but the spoke's message log
    // keeps no chunk: a peer reading bundles cannot fill it.
    const jti = crypto.randomUUID();
    expect(await client.bundleChunk(agentId, { offset: 0 }, { jti })).toEqual(await client.bundleChunk(agentId, { offset: 0 }, { jti }));
    const database = await openDatabase(`file:${join(spoke.dataDir, DATABASE_FILE)}`);
    try {
      const { rows } = await database.execute('SELECT MAX(LENGTH(reply)) AS longest FROM message_log');
      expect(Number(rows[0]?.longest)).toBeLessThan(10_000);
    } finally {
      database.close();
    }

    // A spoke whose bytes are not the ones its status names: the hub hands over nothing.
    const tampered = await start('task-bundle-tampered');
    const altered = bundle.slice();
    altered[1_000] = (altered[1_000] ?? 0) ^ 1;
    await completed(tampered, ref, altered);
    const refused = await hub.api(`/api/v1/federation/agents/${tampered}/bundle`);
    expect(refused.body).toMatchObject({ success: false, code: 'MALFORMED_MESSAGE', error: 'the bundle does not match its digest' });

    // An agent that left no bundle, and one still running.
    const plain = await start('task-no-bundle');
    spoke.orchestrator.complete(plain, { summary: 'Nothing to commit.' });
    await eventually(async () => expect((await hubStatus(plain)).status).toBe('completed'));
    expect(await hub.api(`/api/v1/federation/agents/${plain}/bundle`)).toMatchObject({ status: 404, body: { code: 'NOT_FOUND' } });
    expect(await hub.api(`/api/v1/federation/agents/${await start('task-bundle-running')}/bundle`)).toMatchObject({ status: 404, body: { code: 'NOT_FOUND' } });
    await expect(client.bundle(plain)).rejects.toMatchObject({ code: 'NOT_FOUND' });
  });
});

describe('three instances', () => {
  it('keeps each hub\'s agents its own: NOT_FOUND for another\'s, exactly as for a missing one', async () => {
    await connectPeers(other, spoke);
    const connections = await other.api<Connection[]>('/api/v1/federation/connections');
    const otherToSpoke = connections.body.data.find((c) => c.peerInstanceId === spoke.instanceId)?.id;
    const spawned = await other.api<{ agentId: string }>('/api/v1/federation/agents/spawn', {
      body: { connectionId: otherToSpoke, payload: spawnPayload('task-other') },
    });
    expect(spawned.status).toBe(201);
    const foreignAgent = spawned.body.data.agentId;

    const spokePeer = { instanceId: spoke.instanceId, url: spoke.url, keys: (await spoke.server.federation.instance.load()).keys.map((k) => k.publicJwk) };
    const hubClient = await FederationClient.create({
      instanceId: hub.instanceId,
      signingKey: await hub.server.federation.instance.signingKey(),
      peer: spokePeer,
    });
    // Its owner asks first, so the spoke remembers whose it is: still no one else's.
    const otherClient = await FederationClient.create({
      instanceId: other.instanceId,
      signingKey: await other.server.federation.instance.signingKey(),
      peer: spokePeer,
    });
    expect((await otherClient.status(foreignAgent)).taskId).toBe('task-other');
    const foreign = await hubClient.status(foreignAgent).catch((error: unknown) => error);
    const missing = await hubClient.status(crypto.randomUUID()).catch((error: unknown) => error);
    expect(foreign).toMatchObject({ code: 'NOT_FOUND', message: 'there is no such agent' });
    expect(missing).toMatchObject({ code: 'NOT_FOUND', message: 'there is no such agent' });
    await expect(hubClient.kill(foreignAgent)).rejects.toMatchObject({ code: 'NOT_FOUND' });
    // Nor answer what it waits for (PROTOCOL 5, Approvals): only its owner does.
    spoke.orchestrator.start(foreignAgent);
    spoke.orchestrator.ask(foreignAgent, { id: 'plan-1', kind: 'plan', summary: 'Read, then fix.' });
    await expect(hubClient.respond(foreignAgent, { approvalId: 'plan-1', decision: 'approve' })).rejects.toMatchObject({ code: 'NOT_FOUND', message: 'there is no such agent' });
    expect(spoke.orchestrator.answers).toEqual([]);
    expect(await otherClient.respond(foreignAgent, { approvalId: 'plan-1', decision: 'reject', note: 'Not yet.' })).toMatchObject({ agentId: foreignAgent, decision: 'reject' });
    expect(spoke.orchestrator.answers).toEqual([{ agentId: foreignAgent, approvalId: 'plan-1', decision: 'reject', note: 'Not yet.' }]);
    await expect(otherClient.respond(foreignAgent, { approvalId: 'plan-1', decision: 'approve' })).rejects.toMatchObject({ code: 'VALIDATION_FAILED' });
    expect(spoke.orchestrator.agents.get(foreignAgent)?.status.status).toBe('running');
    expect((await hubClient.list({ limit: 500 })).agents.map((a) => a.taskId)).not.toContain('task-other');
    // Nor its transcript, nor its bundle.
    await expect(hubClient.transcript(foreignAgent)).rejects.toMatchObject({ code: 'NOT_FOUND', message: 'there is no such agent' });
    await expect(hubClient.bundleChunk(foreignAgent, { offset: 0 })).rejects.toMatchObject({ code: 'NOT_FOUND', message: 'there is no such agent' });
    expect((await otherClient.transcript(foreignAgent)).entries).toEqual([]);
  });

  it('disconnects: both sides DISCONNECTED, and commands are refused afterwards', async () => {
    const signingKey = await hub.server.federation.instance.signingKey();
    const client = await FederationClient.create({
      instanceId: hub.instanceId,
      signingKey,
      peer: { instanceId: spoke.instanceId, url: spoke.url, keys: (await spoke.server.federation.instance.load()).keys.map((k) => k.publicJwk) },
    });
    const disconnected = await hub.api<Connection>(`/api/v1/federation/connections/${hubToSpoke}/disconnect`, { method: 'POST' });
    expect(disconnected.body.data.status).toBe('DISCONNECTED');
    const spokeSide = await spoke.api<Connection[]>('/api/v1/federation/connections');
    expect(spokeSide.body.data.find((c) => c.peerInstanceId === hub.instanceId)?.status).toBe('DISCONNECTED');

    const started = spoke.orchestrator.spawnCalls;
    const viaApi = await hub.api('/api/v1/federation/agents/spawn', {
      body: { connectionId: hubToSpoke, payload: spawnPayload('task-after') },
    });
    expect(viaApi.status).toBe(403);
    expect(viaApi.body.code).toBe('CONNECTION_NOT_ACTIVE');
    await expect(client.spawn(spawnPayload('task-direct'))).rejects.toMatchObject({ code: 'CONNECTION_NOT_ACTIVE' });
    expect(spoke.orchestrator.spawnCalls).toBe(started);
  });
});
