import type { AgentSpawnResponse, AgentStatus, Connection, OutgoingMessage } from '@mosaic-fed/core';
import { pinnedKeys, sendMessage } from '@mosaic-fed/sdk';
import { describe, expect, it } from 'vitest';
import { createClock } from '../../server/test/helpers.js';
import { connectPeers, destroyedAfterEachTest, eventually, spawnPayload } from './peers.js';

const { peer, track } = destroyedAfterEachTest();

describe('replay and idempotency are one mechanism (PROTOCOL 2)', () => {
  it('20 concurrent copies of a spawn, and one more 10 minutes later, create exactly one agent', async () => {
    // The clock is shared by the sender and the spoke, and moved on by hand.
    const clock = createClock(new Date());
    const hub = await peer({ name: 'Hub', now: clock.now });
    const spoke = await peer({ name: 'Spoke', now: clock.now, autoAcceptUrls: [hub.url] });
    await connectPeers(hub, spoke);
    const signingKey = await hub.server.federation.instance.signingKey();
    const resolveKey = await pinnedKeys(spoke.instanceId, (await spoke.server.federation.instance.load()).keys.map((k) => k.publicJwk));
    const jti = crypto.randomUUID();
    const spawn = (taskId: string) =>
      sendMessage(
        { kind: 'COMMAND', iss: hub.instanceId, aud: spoke.instanceId, jti, commandType: 'agent.spawn', payload: spawnPayload(taskId) } as OutgoingMessage,
        { url: spoke.url, selfId: hub.instanceId, signingKey, resolveKey, now: clock.now, retries: 5, backoffMs: 20 },
      ) as Promise<AgentSpawnResponse>;

    const answers = await Promise.all(Array.from({ length: 20 }, () => spawn('task-once')));
    expect(new Set(answers.map((a) => a.agentId)).size).toBe(1);
    expect(spoke.orchestrator.started).toBe(1);

    clock.advance(10 * 60);
    const later = await spawn('task-once');
    expect(later).toEqual(answers[0]);
    expect(spoke.orchestrator.started).toBe(1);
    const hosted = await spoke.api<{ hosted: { items: unknown[] } }>('/api/v1/federation/agents');
    expect(hosted.body.data.hosted.items).toHaveLength(1);

    await expect(spawn('task-other')).rejects.toMatchObject({ code: 'MESSAGE_ID_CONFLICT', status: 409 });
    expect(spoke.orchestrator.started).toBe(1);
  });
});

describe('scale and durability', () => {
  it('50 concurrent spawns from a hub create exactly 50 agents, all visible from the hub', async () => {
    const hub = await peer({ name: 'Hub' });
    const spoke = await peer({ name: 'Spoke', autoAcceptUrls: [hub.url] });
    const { fromConnectionId, toConnectionId } = await connectPeers(hub, spoke);
    await spoke.api(`/api/v1/federation/connections/${toConnectionId}`, {
      method: 'PATCH',
      body: { maxConcurrentAgents: 50, spawnPerMinute: 100 },
    });
    const results = await Promise.all(
      Array.from({ length: 50 }, (_, i) =>
        hub.api<AgentSpawnResponse>('/api/v1/federation/agents/spawn', {
          body: { connectionId: fromConnectionId, payload: spawnPayload(`task-${i}`) },
        }),
      ),
    );
    expect(results.map((r) => r.status)).toEqual(Array.from({ length: 50 }, () => 201));
    expect(new Set(results.map((r) => r.body.data.agentId)).size).toBe(50);
    expect(spoke.orchestrator.started).toBe(50);
    const listed = await hub.api<{ sent: { items: { agentId: string }[] } }>('/api/v1/federation/agents?limit=500');
    expect(listed.body.data.sent.items).toHaveLength(50);
    // The 51st is over the grant.
    const over = await hub.api('/api/v1/federation/agents/spawn', {
      body: { connectionId: fromConnectionId, payload: spawnPayload('task-51') },
    });
    expect(over.body.code).toBe('CONCURRENCY_LIMIT');
  });

  it('a hub that was down when its agent completed learns it from the outbox after a restart', async () => {
    let hub = await peer({ name: 'Hub' });
    const spoke = await peer({ name: 'Spoke', autoAcceptUrls: [hub.url] });
    const { fromConnectionId } = await connectPeers(hub, spoke);
    const spawned = await hub.api<AgentSpawnResponse>('/api/v1/federation/agents/spawn', {
      body: { connectionId: fromConnectionId, payload: spawnPayload('task-while-away') },
    });
    const { agentId } = spawned.body.data;

    await hub.stop();
    spoke.orchestrator.complete(agentId, { summary: 'done while the hub was away', patch: 'diff\n' });
    // The spoke keeps trying: the event waits in its outbox.
    await eventually(async () => {
      const due = await spoke.server.federation.stores.outbox.due(Date.now() + 60_000, 50);
      return due.some((entry) => entry.attempts > 0);
    });

    hub = await hub.restart();
    track(hub);
    await eventually(async () => {
      const status = await hub.api<AgentStatus>(`/api/v1/federation/agents/${agentId}/status`);
      expect(status.body.data.status).toBe('completed');
      expect(status.body.data.result?.summary).toBe('done while the hub was away');
    });
  });
});

describe('key regeneration reaches peers (PROTOCOL 4)', () => {
  it('an online peer pins the new key at once; an offline one follows the chain later, without re-pairing', async () => {
    const hub = await peer({ name: 'Hub' });
    let offline = await peer({ name: 'Offline Spoke', autoAcceptUrls: [hub.url] });
    const online = await peer({ name: 'Online Spoke', autoAcceptUrls: [hub.url] });
    const toOffline = await connectPeers(hub, offline);
    const toOnline = await connectPeers(hub, online);

    await offline.stop();
    const regenerated = await hub.api<{ currentKid: string; previousKid: string }>(
      '/api/v1/federation/instance/regenerate-keys',
      { method: 'POST' },
    );
    expect(regenerated.status).toBe(200);
    const { currentKid } = regenerated.body.data;

    // The online peer heard the announcement, signed with the old key, and pinned the new one.
    const onlineView = await online.api<Connection>(`/api/v1/federation/connections/${toOnline.toConnectionId}`);
    expect(onlineView.body.data.peerKeys[0]?.kid).toBe(currentKid);

    offline = await offline.restart();
    track(offline);
    const before = await offline.api<Connection>(`/api/v1/federation/connections/${toOffline.toConnectionId}`);
    expect(before.body.data.peerKeys.map((k) => k.kid)).not.toContain(currentKid);

    // The hub now signs with the new key; the offline peer walks the chain and accepts.
    const spawned = await hub.api<AgentSpawnResponse>('/api/v1/federation/agents/spawn', {
      body: { connectionId: toOffline.fromConnectionId, payload: spawnPayload('task-after-rotation') },
    });
    expect(spawned.status).toBe(201);
    const after = await offline.api<Connection>(`/api/v1/federation/connections/${toOffline.toConnectionId}`);
    expect(after.body.data.status).toBe('ACTIVE');
    expect(after.body.data.peerKeys[0]?.kid).toBe(currentKid);
    const online2 = await hub.api<AgentSpawnResponse>('/api/v1/federation/agents/spawn', {
      body: { connectionId: toOnline.fromConnectionId, payload: spawnPayload('task-online') },
    });
    expect(online2.status).toBe(201);
  });
});
