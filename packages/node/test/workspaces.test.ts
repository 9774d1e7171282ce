import { FederationClient, AdminClient } from '@mosaic-fed/sdk';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectPeers, sessionCookie, spawnPayload, startPeer, type Peer } from './peers.js';

// A spoke keeps a peer's workspaces apart (docs/protocol.md, "Acting for users"): the hub
// signs, in each message, the user and workspace it acts for; the spoke narrows the
// connection's grants for that workspace, shows each workspace its own agents only, and
// names the user in its audit log. Two real instances on loopback; the hub's users speak
// through the SDK's FederationClient with the hub's own key.
let hub: Peer;
let spoke: Peer;
let spokeAdmin: AdminClient;
let spokeToHub: string;
let alice: FederationClient;
let bob: FederationClient;
let hubItself: FederationClient;

const ALICE = { userId: 'alice', workspaceId: 'w1' };
const BOB = { userId: 'bob', workspaceId: 'w2' };

beforeAll(async () => {
  [hub, spoke] = await Promise.all([startPeer({ name: 'Hub' }), startPeer({ name: 'Spoke' })]);
  ({ toConnectionId: spokeToHub } = await connectPeers(hub, spoke));
  spokeAdmin = new AdminClient({ url: spoke.url, token: spoke.token });
  const as = async (actor?: { userId: string; workspaceId: string }) =>
    FederationClient.create({
      instanceId: hub.instanceId,
      signingKey: await hub.server.federation.instance.signingKey(),
      peer: { instanceId: spoke.instanceId, url: spoke.url, keys: (await spoke.server.federation.instance.load()).keys.map((k) => k.publicJwk) },
      ...(actor === undefined ? {} : { actor }),
    });
  [alice, bob, hubItself] = await Promise.all([as(ALICE), as(BOB), as()]);
});

afterAll(async () => {
  await Promise.all([hub, spoke].map((peer) => peer?.destroy()));
});

/** A page of the spoke's web UI as its admin reads it: the words, without the tags. */
async function page(path: string): Promise<string> {
  const response = await fetch(`${spoke.url}${path}`, { headers: { cookie: await sessionCookie(spoke) } });
  expect(response.status).toBe(200);
  return (await response.text()).replace(/<[^>]+>/g, '');
}

describe("a peer's workspaces on the spoke", () => {
  it('narrows the grants for one workspace: its agent types and how many run at once', async () => {
    const granted = await spokeAdmin.updateGrants(spokeToHub, { workspaces: { w2: { allowedAgentTypes: ['reviewer'], maxConcurrentAgents: 1 } } });
    expect(granted.grants.workspaces).toEqual({ w2: { allowedAgentTypes: ['reviewer'], maxConcurrentAgents: 1 } });

    const first = await alice.spawn(spawnPayload('w1-first'));
    expect(first.state).toBe('spawning');
    await expect(bob.spawn(spawnPayload('w2-worker', 'worker'))).rejects.toMatchObject({
      code: 'FORBIDDEN',
      message: expect.stringContaining('for workspace w2'),
    });
    const review = await bob.spawn(spawnPayload('w2-review', 'reviewer'));
    spoke.orchestrator.start(review.agentId);
    // W2's one place is taken: its next spawn is refused while W1's still start.
    await expect(bob.spawn(spawnPayload('w2-second', 'reviewer'))).rejects.toMatchObject({ code: 'CONCURRENCY_LIMIT' });
    await expect(alice.spawn(spawnPayload('w1-second'))).resolves.toMatchObject({ state: 'spawning' });
    expect((await spokeAdmin.hostedAgent(review.agentId)).actor).toEqual(BOB);
    // The spoke's admin reads both in words.
    expect(await page(`/federation/hosted/${review.agentId}`)).toContain('running on this instance for Hub, for its user bob in workspace w2.');
    expect(await page(`/federation/connections/${spokeToHub}`)).toContain('For its workspace w2: reviewer agents only and at most 1 at once.');
  });

  it("answers one workspace's messages about another's agents as about no agent at all", async () => {
    const mine = await alice.list();
    expect(mine.agents.map((agent) => agent.taskId).sort()).toEqual(['w1-first', 'w1-second']);
    const theirs = await bob.list();
    expect(theirs.agents.map((agent) => agent.taskId)).toEqual(['w2-review']);
    const aliceAgent = mine.agents[0]?.agentId ?? '';
    const answer = { approvalId: 'any', decision: 'approve' } as const;
    for (const attempt of [() => bob.status(aliceAgent), () => bob.kill(aliceAgent), () => bob.transcript(aliceAgent), () => bob.respond(aliceAgent, answer)]) {
      await expect(attempt()).rejects.toMatchObject({ code: 'NOT_FOUND', message: 'there is no such agent' });
    }
    expect((await alice.status(aliceAgent)).status).toBe('spawning');
    // The hub itself (no actor) owns them all.
    expect((await hubItself.list()).agents).toHaveLength(3);
    expect((await hubItself.status(theirs.agents[0]?.agentId ?? '')).taskId).toBe('w2-review');
  });

  it("names the peer's user and workspace in the spoke's audit log", async () => {
    const aliceAgent = (await alice.list({ taskId: 'w1-first' })).agents[0]?.agentId ?? '';
    expect((await alice.kill(aliceAgent)).status).toBe('killed');
    const spawns = (await spokeAdmin.audit({ action: 'agent.spawn', limit: 10 })).items;
    expect(spawns.map((entry) => entry.actor.onBehalfOf?.userId).sort()).toEqual(['alice', 'alice', 'bob']);
    expect(spawns.every((entry) => entry.actor.type === 'peer' && entry.actor.id === hub.instanceId && entry.actor.label === 'Hub')).toBe(true);
    const [kill] = (await spokeAdmin.audit({ action: 'agent.kill', limit: 10 })).items;
    expect(kill).toMatchObject({ target: `agent:${aliceAgent}`, actor: { type: 'peer', onBehalfOf: ALICE } });
    expect(await page('/federation/audit?action=agent.kill')).toContain('Hub (peer), for its user alice in workspace w1');
  });

  it('takes workspace grants only in shape, and drops them with null', async () => {
    const tooMany = Object.fromEntries(Array.from({ length: 51 }, (_, i) => [`w${i}`, { maxConcurrentAgents: 1 }]));
    await expect(spokeAdmin.updateGrants(spokeToHub, { workspaces: tooMany })).rejects.toMatchObject({ code: 'VALIDATION_FAILED' });
    const unknownField = spoke.api(`/api/v1/federation/connections/${spokeToHub}`, { method: 'PATCH', body: { workspaces: { w1: { egress: ['example.com'] } } } });
    expect((await unknownField).status).toBe(400);
    const cleared = await spokeAdmin.updateGrants(spokeToHub, { workspaces: null });
    expect(cleared.grants).not.toHaveProperty('workspaces');
    // Without its narrowing, W2 may start a worker again.
    await expect(bob.spawn(spawnPayload('w2-worker-now', 'worker'))).resolves.toMatchObject({ state: 'spawning' });
  });
});
