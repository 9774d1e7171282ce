import { verifyRotationChain, type AgentStatusChangedPayload } from '@mosaic-fed/core';
import { AdminClient } from '@mosaic-fed/sdk';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, sessionCookie, spawnPayload, startPeer, type Peer } from './peers.js';

// The SDK's AdminClient driving two real instances on loopback ports (libSQL files):
// everything an admin does, through the typed client only.
let hub: Peer;
let spoke: Peer;
let hubAdmin: AdminClient;
let spokeAdmin: AdminClient;
let hubToSpoke: string;
let spokeToHub: string;

beforeAll(async () => {
  [hub, spoke] = await Promise.all([startPeer({ name: 'Hub' }), startPeer({ name: 'Spoke' })]);
  hubAdmin = new AdminClient({ url: hub.url, token: hub.token });
  spokeAdmin = new AdminClient({ url: spoke.url, token: spoke.token });
});

afterAll(async () => {
  await Promise.all([hub, spoke].map((peer) => peer?.destroy()));
});

async function collect(events: AsyncIterable<AgentStatusChangedPayload>): Promise<AgentStatusChangedPayload[]> {
  const seen: AgentStatusChangedPayload[] = [];
  for await (const event of events) seen.push(event);
  return seen;
}

describe('AdminClient against real instances', () => {
  it('refuses a wrong token with UNAUTHORIZED and changes nothing', async () => {
    const stranger = new AdminClient({ url: hub.url, token: 'mfa_not-a-token' });
    await expect(stranger.updateInstance({ name: 'Taken over' })).rejects.toMatchObject({ code: 'UNAUTHORIZED' });
    expect((await hubAdmin.instance()).name).toBe('Hub');
  });

  it('configures the instance, explains a bad value field by field, and pages the audit log', async () => {
    const before = await hubAdmin.instance();
    expect(before.instanceId).toBe(hub.instanceId);
    const updated = await hubAdmin.updateInstance({ name: 'Hub North', metadata: { region: 'eu-west' } });
    expect(updated).toMatchObject({ name: 'Hub North', metadata: { region: 'eu-west' } });

    const refused = await hubAdmin.updateInstance({ name: '' }).catch((error: unknown) => error);
    expect(refused).toMatchObject({ code: 'VALIDATION_FAILED', details: [expect.objectContaining({ path: 'name' })] });
    expect((await hubAdmin.instance()).name).toBe('Hub North');

    const first = await hubAdmin.audit({ limit: 1 });
    expect(first.items.map((e) => e.action)).toEqual(['instance.update']);
    expect(first.nextCursor).not.toBeNull();
    const second = await hubAdmin.audit({ limit: 500, cursor: first.nextCursor ?? '' });
    expect(second.items.map((e) => e.action)).toContain('instance.initialise');
    expect(second.items.map((e) => e.id)).not.toContain(first.items[0]?.id);
  });

  it('connects, accepts and sets grants', async () => {
    const requested = await hubAdmin.connect(spoke.url);
    expect(requested).toMatchObject({ status: 'PENDING', direction: 'outgoing', peerInstanceId: spoke.instanceId });
    hubToSpoke = requested.id;
    const [incoming] = await spokeAdmin.connections({ status: 'PENDING' });
    expect(incoming).toMatchObject({ peerInstanceId: hub.instanceId, direction: 'incoming' });
    spokeToHub = incoming?.id ?? '';
    expect((await spokeAdmin.accept(spokeToHub)).status).toBe('ACTIVE');
    expect((await hubAdmin.connection(hubToSpoke)).status).toBe('ACTIVE');
    const granted = await spokeAdmin.updateGrants(spokeToHub, { spawnPerMinute: 30 });
    expect(granted.grants.spawnPerMinute).toBe(30);
  });

  it('spawns, streams every status change to completed, resumes after Last-Event-ID, and lists the agent on both sides', async () => {
    const { agentId, state } = await hubAdmin.spawn({ connectionId: hubToSpoke, payload: spawnPayload('task-admin') });
    expect(state).toBe('spawning');
    const streamed = collect(hubAdmin.events(agentId));
    spoke.orchestrator.start(agentId);
    spoke.orchestrator.progress(agentId, 2, 'read the failing test');
    spoke.orchestrator.complete(agentId, { summary: 'Fixed it', patch: 'diff --git a/a b/a\n' });

    const events = await streamed;
    expect(events.map((e) => [e.sequence, e.status])).toEqual([
      [1, 'spawning'],
      [2, 'running'],
      [3, 'running'],
      [4, 'completed'],
    ]);
    expect(events.at(-1)?.result?.patch).toBe('diff --git a/a b/a\n');
    expect((await collect(hubAdmin.events(agentId, { lastEventId: 2 }))).map((e) => e.sequence)).toEqual([3, 4]);
    // Nothing after the terminal event: the server answers 204 and the stream ends at once.
    expect(await collect(hubAdmin.events(agentId, { lastEventId: 4 }))).toEqual([]);

    expect((await hubAdmin.status(agentId)).status).toBe('completed');
    expect((await hubAdmin.status(agentId, { refresh: true })).result?.summary).toBe('Fixed it');
    expect((await hubAdmin.agents()).sent.items.map((a) => a.agentId)).toContain(agentId);
    expect((await spokeAdmin.agents()).hosted.items).toContainEqual(
      expect.objectContaining({ agentId, ownerInstanceId: hub.instanceId }),
    );
    await expect(hubAdmin.kill(agentId)).rejects.toMatchObject({
      code: 'AGENT_ALREADY_TERMINAL',
      data: expect.objectContaining({ status: 'completed' }),
    });
  });

  it('kills a running agent; the second kill answers the same', async () => {
    const { agentId } = await hubAdmin.spawn({ connectionId: hubToSpoke, payload: spawnPayload('task-admin-kill') });
    spoke.orchestrator.start(agentId);
    const killed = await hubAdmin.kill(agentId);
    expect(killed.status).toBe('killed');
    expect((await hubAdmin.kill(agentId)).killedAt).toBe(killed.killedAt);
    const events = await collect(hubAdmin.events(agentId));
    expect(events.at(-1)?.status).toBe('killed');
  });

  it("lets the spoke's admin read and stop an agent it runs for the hub, and lists agents filtered, newest first", async () => {
    const { agentId } = await hubAdmin.spawn({ connectionId: hubToSpoke, payload: spawnPayload('task-hosted-stop') });
    spoke.orchestrator.start(agentId);
    await eventually(async () => expect((await spokeAdmin.hostedAgent(agentId)).status.status).toBe('running'));
    expect(await spokeAdmin.hostedAgent(agentId)).toMatchObject({ agentId, ownerInstanceId: (await hubAdmin.instance()).instanceId });
    // The hub cannot stop it as hosted: it is not hosted there.
    await expect(hubAdmin.stopHostedAgent(agentId)).rejects.toMatchObject({ code: 'NOT_FOUND' });
    expect((await spokeAdmin.stopHostedAgent(agentId)).status).toBe('killed');
    const events = await collect(hubAdmin.events(agentId));
    expect(events.at(-1)?.status).toBe('killed');

    const newest = await hubAdmin.agents({ order: 'newest', limit: 2 });
    expect(newest.sent.items.at(0)?.agentId).toBe(agentId);
    const killed = await spokeAdmin.agents({ status: 'killed', taskId: 'task-hosted-stop' });
    expect(killed.hosted.items.map((agent) => agent.agentId)).toEqual([agentId]);
    expect((await spokeAdmin.agents({ agentType: 'tester' })).hosted.items).toEqual([]);
    await expect(spokeAdmin.agents({ taskId: 'not a task id' })).rejects.toMatchObject({ code: 'VALIDATION_FAILED' });
  });

  it('notes on each side when the other was last heard from, and shows it', async () => {
    const before = Date.now();
    await hubAdmin.spawn({ connectionId: hubToSpoke, payload: spawnPayload('task-last-seen') });
    // The hub heard the spoke's answer; the spoke heard the hub's message.
    const seenBySpoke = (await spokeAdmin.connection(spokeToHub)).peerSeenAt;
    const seenByHub = (await hubAdmin.connection(hubToSpoke)).peerSeenAt;
    for (const seen of [seenBySpoke, seenByHub]) {
      expect(seen).toBeDefined();
      // To the minute: a sighting within the last minute may stand for this one.
      expect(Date.parse(seen ?? '')).toBeGreaterThan(before - 61_000);
    }
    const page = await fetch(`${spoke.url}/federation/connections/${spokeToHub}`, { headers: { cookie: await sessionCookie(spoke) } });
    expect((await page.text()).replace(/<[^>]+>/g, '')).toContain(`last heard from ${(seenBySpoke ?? '').replace('T', ' ').slice(0, 16)} UTC`);
  });

  it('suspends and resumes a connection: commands are refused between the two', async () => {
    expect((await spokeAdmin.suspend(spokeToHub)).status).toBe('SUSPENDED');
    const spawnCalls = spoke.orchestrator.spawnCalls;
    await expect(hubAdmin.spawn({ connectionId: hubToSpoke, payload: spawnPayload('task-suspended') })).rejects.toMatchObject({
      code: 'CONNECTION_NOT_ACTIVE',
    });
    expect(spoke.orchestrator.spawnCalls).toBe(spawnCalls);
    // The hub's record says what it learned: the peer paused the connection on its side.
    const paused = await hubAdmin.connection(hubToSpoke);
    expect(paused).toMatchObject({ status: 'ACTIVE', peerPausedAt: expect.any(String) });
    const page = await fetch(`${hub.url}/federation/connections`, { headers: { cookie: await sessionCookie(hub) } });
    // The words as a person reads them (the state's badge is an element of its own).
    expect((await page.text()).replace(/<[^>]+>/g, '')).toContain('active here, but paused by the peer');
    expect((await spokeAdmin.resume(spokeToHub)).status).toBe('ACTIVE');
    await expect(hubAdmin.spawn({ connectionId: hubToSpoke, payload: spawnPayload('task-resumed') })).resolves.toMatchObject({
      state: 'spawning',
    });
    expect(await hubAdmin.connection(hubToSpoke)).not.toHaveProperty('peerPausedAt');
  });

  it('regenerates keys with a certificate the chain verifier accepts; the peer keeps working', async () => {
    const before = await spokeAdmin.instance();
    const rotated = await spokeAdmin.regenerateKeys();
    expect(rotated.previousKid).toBe(before.keys[0]?.publicJwk.kid);
    const pinned = before.keys[0]?.publicJwk;
    if (pinned === undefined) throw new Error('the instance has no key');
    const chain = await verifyRotationChain({ issuer: spoke.instanceId, certificates: [rotated.certificate], pinnedKeys: [pinned] });
    expect(chain.key.kid).toBe(rotated.currentKid);
    // The hub learned the new key and verifies the spoke's answers with it.
    await eventually(async () => {
      const { agentId } = await hubAdmin.spawn({ connectionId: hubToSpoke, payload: spawnPayload(`task-rotated-${Date.now()}`) });
      return expect((await hubAdmin.status(agentId, { refresh: true })).status).toBe('spawning');
    });
  });
});

