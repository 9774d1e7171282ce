// PROTOCOL 6: a spawn is recorded on the hub, under its Idempotency-Key and with the jti
// it goes out with, before it is sent. The same key returns the same agent; a spawn whose
// answer was lost is sent again with its jti, and the spoke answers it from its message
// log, so every agent the spoke runs ends known on the hub, and none runs twice.
import { AdminClient } from '@mosaic-fed/sdk';
import { describe, expect, it } from 'vitest';
import { connectPeers, destroyedAfterEachTest, eventually, spawnPayload, type Peer } from './peers.js';

const { peer } = destroyedAfterEachTest();

/** A hub that sends unanswered spawns again at once, and a spoke connected to it. */
async function pair(): Promise<{ hub: Peer; spoke: Peer; connectionId: string }> {
  const hub = await peer({ name: 'Hub', federation: { spawnResend: { afterMs: 0, intervalMs: 60_000 } } });
  const spoke = await peer({ name: 'Spoke' });
  const { fromConnectionId } = await connectPeers(hub, spoke);
  return { hub, spoke, connectionId: fromConnectionId };
}

function spawnRequest(hub: Peer, body: unknown, key?: string) {
  return fetch(`${hub.url}/api/v1/federation/agents/spawn`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${hub.token}`, 'Content-Type': 'application/json', ...(key === undefined ? {} : { 'Idempotency-Key': key }) },
    body: JSON.stringify(body),
  });
}

const sentAgents = async (hub: Peer) => (await new AdminClient({ url: hub.url, token: hub.token }).agents()).sent.items;

describe('spawns on the hub (PROTOCOL 6, Idempotency-Key)', () => {
  it('returns the same agent for the same key, starting one, and refuses another spawn under it', async () => {
    const { hub, spoke, connectionId } = await pair();
    const body = { connectionId, payload: spawnPayload('idem-1') };
    const answers = await Promise.all([1, 2, 3].map(() => spawnRequest(hub, body, 'key-one')));
    const settled = await Promise.all(answers.map(async (response) => ({ status: response.status, body: (await response.json()) as { data?: { agentId: string }; code?: string } })));
    const agentIds = new Set(settled.filter((answer) => answer.status === 201).map((answer) => answer.body.data?.agentId));
    // Copies that met the first one still on its way are told to come back (409, MESSAGE_IN_PROGRESS).
    for (const answer of settled) expect([201, 409]).toContain(answer.status);
    const again = await spawnRequest(hub, body, 'key-one');
    expect(again.status).toBe(201);
    const { data } = (await again.json()) as { data: { agentId: string } };
    agentIds.add(data.agentId);
    expect(agentIds.size).toBe(1);
    expect(spoke.orchestrator.started).toBe(1);
    expect((await sentAgents(hub)).map((agent) => agent.agentId)).toEqual([data.agentId]);

    const other = await spawnRequest(hub, { connectionId, payload: spawnPayload('idem-2') }, 'key-one');
    expect(other.status).toBe(409);
    expect(await other.json()).toMatchObject({ code: 'MESSAGE_ID_CONFLICT' });
    const malformed = await spawnRequest(hub, body, 'with space');
    expect(malformed.status).toBe(400);
    expect(await malformed.json()).toMatchObject({ code: 'VALIDATION_FAILED' });
    // Without a key, each call is a spawn of its own.
    expect((await spawnRequest(hub, body)).status).toBe(201);
    expect(spoke.orchestrator.started).toBe(2);
  });

  it('sends a spawn whose answer did not come in time again with its jti: the agent ends known, and runs once', async () => {
    const { hub, spoke, connectionId } = await pair();
    let release: () => void = () => undefined;
    spoke.orchestrator.gate = new Promise<void>((done) => (release = done));
    const admin = new AdminClient({ url: hub.url, token: hub.token });
    const payload = spawnPayload('idem-lost');
    // The caller gives up while the spoke is still starting the agent.
    await expect(admin.spawn({ connectionId, payload }, { idempotencyKey: 'key-lost', retries: 0, signal: AbortSignal.timeout(400) })).rejects.toThrow();
    expect(await sentAgents(hub)).toEqual([]);
    release();
    spoke.orchestrator.gate = undefined;
    const agentId = await eventually(async () => {
      await hub.server.federation.agents.resendUnanswered();
      const [agent] = await sentAgents(hub);
      if (agent === undefined) throw new Error('the hub does not know the agent yet');
      return agent.agentId;
    });
    expect(spoke.orchestrator.started).toBe(1);
    // The caller's retry with its key gets that agent; nothing new starts.
    expect((await admin.spawn({ connectionId, payload }, { idempotencyKey: 'key-lost' })).agentId).toBe(agentId);
    expect(spoke.orchestrator.started).toBe(1);
    // Status and kill reach it, as for any agent the hub spawned.
    expect((await admin.status(agentId, { refresh: true })).status).toBe('spawning');
    expect((await admin.kill(agentId)).status).toBe('killed');
  });

  it('forgets a spawn the spoke refused, so the key can be used again', async () => {
    const { hub, spoke, connectionId } = await pair();
    const [toHub] = (await spoke.api<{ id: string }[]>('/api/v1/federation/connections')).body.data;
    await spoke.api(`/api/v1/federation/connections/${toHub?.id}`, { method: 'PATCH', body: { allowedAgentTypes: ['reviewer'] } });
    const admin = new AdminClient({ url: hub.url, token: hub.token });
    const request = { connectionId, payload: spawnPayload('idem-refused') };
    await expect(admin.spawn(request, { idempotencyKey: 'key-refused' })).rejects.toMatchObject({ code: 'FORBIDDEN' });
    await spoke.api(`/api/v1/federation/connections/${toHub?.id}`, { method: 'PATCH', body: { allowedAgentTypes: ['worker'] } });
    const { agentId } = await admin.spawn(request, { idempotencyKey: 'key-refused' });
    expect((await sentAgents(hub)).map((agent) => agent.agentId)).toEqual([agentId]);
    expect(spoke.orchestrator.started).toBe(1);
  });

  it('sends unanswered spawns again when the hub starts, and the spoke answers them from its log', async () => {
    const pairOf = await pair();
    const { spoke, connectionId } = pairOf;
    let hub = pairOf.hub;
    let release: () => void = () => undefined;
    spoke.orchestrator.gate = new Promise<void>((done) => (release = done));
    const spawned = spawnRequest(hub, { connectionId, payload: spawnPayload('idem-restart') }, 'key-restart').catch((error: unknown) => error);
    await eventually(() => {
      if (spoke.orchestrator.spawnCalls === 0) throw new Error('the spawn has not reached the spoke yet');
    });
    // The hub goes away mid-spawn; the spoke goes on and starts the agent.
    await hub.stop();
    release();
    spoke.orchestrator.gate = undefined;
    await spawned;
    await eventually(() => {
      if (spoke.orchestrator.started !== 1) throw new Error('the spoke has not started the agent yet');
    });
    hub = await hub.restart();
    const [agent] = await eventually(async () => {
      const agents = await sentAgents(hub);
      if (agents.length === 0) throw new Error('the restarted hub does not know the agent yet');
      return agents;
    });
    expect(agent?.taskId).toBe('idem-restart');
    expect(spoke.orchestrator.started).toBe(1);
    await hub.destroy();
  });
});
