import { AdminClient } from '@mosaic-fed/sdk';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectPeers, eventually, spawnPayload, startPeer, type Peer } from './peers.js';

// People on a hub (docs/protocol.md, "Acting for users"): two users in two workspaces and
// a viewer, each with their own token, through the SDK's AdminClient against two real
// instances on loopback; the spoke narrows its grants for one of the hub's workspaces.
let hub: Peer;
let spoke: Peer;
let admin: AdminClient;
let spokeAdmin: AdminClient;
let hubToSpoke: string;
let alice: AdminClient;
let bob: AdminClient;
let carol: AdminClient;

const as = async (userId: string) => new AdminClient({ url: hub.url, token: (await admin.createUserToken(userId, { label: `${userId}'s laptop` })).token });
const spawn = (client: AdminClient, workspaceId: string | undefined, taskId: string) =>
  client.spawn({ connectionId: hubToSpoke, ...(workspaceId === undefined ? {} : { workspaceId }), payload: spawnPayload(taskId) });

beforeAll(async () => {
  [hub, spoke] = await Promise.all([startPeer({ name: 'Hub' }), startPeer({ name: 'Spoke' })]);
  const { fromConnectionId, toConnectionId } = await connectPeers(hub, spoke);
  hubToSpoke = fromConnectionId;
  admin = new AdminClient({ url: hub.url, token: hub.token });
  spokeAdmin = new AdminClient({ url: spoke.url, token: spoke.token });
  await spokeAdmin.updateGrants(toConnectionId, { workspaces: { w2: { maxConcurrentAgents: 1 } } });
  for (const [id, name] of [['alice', 'Alice'], ['bob', 'Bob'], ['carol', 'Carol']] as const) await admin.createUser({ id, name });
  await admin.createWorkspace({ id: 'w1', name: 'Web' });
  await admin.createWorkspace({ id: 'w2', name: 'Data' });
  await admin.setMember('w1', 'alice', 'member');
  await admin.setMember('w2', 'bob', 'member');
  await admin.setMember('w1', 'carol', 'viewer');
  [alice, bob, carol] = await Promise.all([as('alice'), as('bob'), as('carol')]);
});

afterAll(async () => {
  await Promise.all([hub, spoke].map((peer) => peer?.destroy()));
});

describe('users and workspaces on a hub', () => {
  it('signs each person in as who they are, and keeps the admin routes for admins', async () => {
    expect(await admin.me()).toEqual({ kind: 'admin' });
    expect(await alice.me()).toMatchObject({ kind: 'user', user: { id: 'alice', name: 'Alice' }, memberships: [{ workspaceId: 'w1', role: 'member' }] });
    for (const call of [() => alice.instance(), () => alice.connections(), () => alice.users(), () => alice.audit(), () => bob.createWorkspace({ id: 'w3', name: 'Mine' }), () => alice.hostedAgent(crypto.randomUUID())]) {
      await expect(call()).rejects.toMatchObject({ code: 'FORBIDDEN' });
    }
    expect((await admin.workspaces()).map((w) => w.id)).toEqual(['w1', 'w2']);
  });

  it("spawns in the user's workspace, signed as them, and the spoke's grant for that workspace holds", async () => {
    const first = await spawn(alice, 'w1', 'w1-first');
    const review = await spawn(bob, 'w2', 'w2-first');
    // On the spoke, each agent belongs to the hub's user and workspace that spawned it.
    expect((await spokeAdmin.hostedAgent(first.agentId)).actor).toEqual({ userId: 'alice', workspaceId: 'w1' });
    expect((await spokeAdmin.hostedAgent(review.agentId)).actor).toEqual({ userId: 'bob', workspaceId: 'w2' });
    // W2 has one place on the spoke, taken: its next spawn is refused while W1's runs.
    await expect(spawn(bob, 'w2', 'w2-second')).rejects.toMatchObject({ code: 'CONCURRENCY_LIMIT' });
    await expect(spawn(alice, 'w1', 'w1-second')).resolves.toMatchObject({ state: 'spawning' });
    const spawns = (await spokeAdmin.audit({ action: 'agent.spawn' })).items.map((entry) => entry.actor.onBehalfOf);
    expect(spawns).toContainEqual({ userId: 'alice', workspaceId: 'w1' });
    expect(spawns).toContainEqual({ userId: 'bob', workspaceId: 'w2' });
  });

  it("refuses a spawn outside the user's workspaces, by a viewer, or by an admin for a workspace", async () => {
    await expect(spawn(alice, 'w2', 'not-hers')).rejects.toMatchObject({ code: 'NOT_FOUND' });
    await expect(spawn(alice, undefined, 'no-workspace')).rejects.toMatchObject({ code: 'VALIDATION_FAILED' });
    await expect(spawn(carol, 'w1', 'a-viewer')).rejects.toMatchObject({ code: 'FORBIDDEN' });
    await expect(spawn(admin, 'w1', 'admin-for-w1')).rejects.toMatchObject({ code: 'VALIDATION_FAILED' });
    // One user's Idempotency-Key never answers another's spawn.
    const key = crypto.randomUUID();
    const once = await alice.spawn({ connectionId: hubToSpoke, workspaceId: 'w1', payload: spawnPayload('keyed') }, { idempotencyKey: key });
    expect((await alice.spawn({ connectionId: hubToSpoke, workspaceId: 'w1', payload: spawnPayload('keyed') }, { idempotencyKey: key })).agentId).toBe(once.agentId);
    await expect(bob.spawn({ connectionId: hubToSpoke, workspaceId: 'w2', payload: spawnPayload('keyed') }, { idempotencyKey: key })).rejects.toMatchObject({ code: 'MESSAGE_ID_CONFLICT' });
  });

  it("shows each user their workspaces' agents only: another's is not there, in the list, the status, the stream or a kill", async () => {
    const mine = (await alice.agents({ limit: 500 })).sent.items;
    expect(mine.map((agent) => agent.taskId).sort()).toEqual(['keyed', 'w1-first', 'w1-second']);
    expect(mine.every((agent) => agent.owner?.workspaceId === 'w1')).toBe(true);
    expect((await bob.agents()).sent.items.map((agent) => agent.taskId)).toEqual(['w2-first']);
    expect((await bob.agents()).hosted.items).toEqual([]);
    const hers = mine.find((agent) => agent.taskId === 'w1-first')?.agentId ?? '';
    const answer = { approvalId: 'plan-1', decision: 'approve' } as const;
    for (const attempt of [() => bob.status(hers), () => bob.status(hers, { refresh: true }), () => bob.kill(hers), () => bob.transcript(hers), () => bob.delivery(hers), () => bob.respond(hers, answer)]) {
      await expect(attempt()).rejects.toMatchObject({ code: 'NOT_FOUND', message: 'there is no such agent' });
    }
    await expect(bob.events(hers).next()).rejects.toMatchObject({ code: 'NOT_FOUND' });
    // A viewer of W1 watches it, refreshed from the spoke, but does not stop it.
    expect((await carol.status(hers, { refresh: true })).taskId).toBe('w1-first');
    await expect(carol.kill(hers)).rejects.toMatchObject({ code: 'FORBIDDEN' });
    // Nor answer what it waits for: that is acting for the workspace.
    await expect(carol.respond(hers, answer)).rejects.toMatchObject({ code: 'FORBIDDEN' });
    // The admin sees every agent.
    expect((await admin.agents({ limit: 500 })).sent.items.map((agent) => agent.taskId)).toEqual(expect.arrayContaining(['w1-first', 'w2-first']));
  });

  it("lets a member stop their workspace's agent; the spoke's audit names them", async () => {
    const [first] = (await alice.agents({ taskId: 'w1-first' })).sent.items;
    const agentId = first?.agentId ?? '';
    spoke.orchestrator.start(agentId);
    expect((await alice.kill(agentId)).status).toBe('killed');
    await eventually(async () => expect((await alice.status(agentId)).status).toBe('killed'));
    const [kill] = (await spokeAdmin.audit({ action: 'agent.kill' })).items;
    expect(kill).toMatchObject({ target: `agent:${agentId}`, actor: { type: 'peer', id: hub.instanceId, onBehalfOf: { userId: 'alice', workspaceId: 'w1' } } });
    const [hubKill] = (await admin.audit({ action: 'agent.kill' })).items;
    expect(hubKill).toMatchObject({ actor: { type: 'user', id: 'alice', label: 'Alice' } });
  });

  it("lets a workspace's owner manage its members, and no one else but the admins", async () => {
    await admin.createUser({ id: 'dave', name: 'Dave' });
    await admin.setMember('w2', 'dave', 'owner');
    const dave = await as('dave');
    expect(await dave.setMember('w2', 'carol', 'viewer')).toMatchObject({ workspaceId: 'w2', userId: 'carol', role: 'viewer' });
    expect((await bob.members('w2')).map((m) => [m.userId, m.role])).toEqual([['bob', 'member'], ['carol', 'viewer'], ['dave', 'owner']]);
    await expect(bob.setMember('w2', 'alice', 'owner')).rejects.toMatchObject({ code: 'FORBIDDEN' });
    await expect(alice.members('w2')).rejects.toMatchObject({ code: 'NOT_FOUND' });
    await expect(dave.setMember('w1', 'dave', 'owner')).rejects.toMatchObject({ code: 'NOT_FOUND' });
    // Carol now watches W2's agents as well as W1's.
    expect((await carol.agents()).sent.items.map((agent) => agent.owner?.workspaceId).sort()).toEqual(['w1', 'w1', 'w1', 'w2']);
    await dave.removeMember('w2', 'carol');
    const [set] = (await admin.audit({ action: 'workspace.member', actor: 'dave' })).items;
    expect(set).toMatchObject({ action: 'workspace.member.remove', actor: { type: 'user', id: 'dave' } });
  });

  it('follows what the admin changes: the connections a workspace may use, and who is in it', async () => {
    await admin.updateWorkspace('w1', { connectionIds: [] });
    await expect(spawn(alice, 'w1', 'no-connection')).rejects.toMatchObject({ code: 'NOT_FOUND', message: 'there is no such connection' });
    await admin.updateWorkspace('w1', { connectionIds: [hubToSpoke] });
    await expect(spawn(alice, 'w1', 'connection-again')).resolves.toMatchObject({ state: 'spawning' });
    await admin.removeMember('w1', 'alice');
    expect((await alice.agents()).sent.items).toEqual([]);
    await expect(spawn(alice, 'w1', 'gone')).rejects.toMatchObject({ code: 'NOT_FOUND' });
    const audit = (await admin.audit({ action: 'workspace' })).items.map((entry) => entry.action);
    expect(audit).toEqual(expect.arrayContaining(['workspace.create', 'workspace.update', 'workspace.member.set', 'workspace.member.remove']));
  });
});
