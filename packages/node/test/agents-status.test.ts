// Many statuses per message (docs/protocol.md, "Many statuses at once"): a hub refreshes
// the agents it sent with one signed `agents.status` per peer, and the spoke answers the
// sender's own agents only, the others as not found.
import { AdminClient } from '@mosaic-fed/sdk';
import { describe, expect, it } from 'vitest';
import { connectPeers, destroyedAfterEachTest, eventually, sessionCookie, spawnPayload } from './peers.js';

const { peer: startPeer } = destroyedAfterEachTest();

describe('agents.status', () => {
  it("refreshes many agents with one message per peer, and answers another's or an unknown one as not found", async () => {
    let incoming = 0;
    const spoke = await startPeer({
      name: 'Spoke',
      federation: { observer: { request: ({ route }) => void (route.includes('/incoming/') && incoming++) } },
    });
    const hub = await startPeer({ name: 'Hub' });
    const other = await startPeer({ name: 'Other hub' });
    const { fromConnectionId } = await connectPeers(hub, spoke);
    const { fromConnectionId: otherConnection } = await connectPeers(other, spoke);
    const admin = new AdminClient({ url: hub.url, token: hub.token });
    const spawned = [];
    for (const taskId of ['a', 'b', 'c']) spawned.push(await admin.spawn({ connectionId: fromConnectionId, payload: spawnPayload(taskId) }));
    const [a, b, c] = spawned.map((agent) => agent.agentId);
    const theirs = (await new AdminClient({ url: other.url, token: other.token }).spawn({ connectionId: otherConnection, payload: spawnPayload('theirs') })).agentId;
    spoke.orchestrator.start(a ?? '');
    spoke.orchestrator.complete(b ?? '', { summary: 'Done.' });
    // The spoke answers from the statuses it stored from each agent's events.
    const stored = async (agentId: string | undefined) => (await spoke.server.federation.stores.hostedAgents.get(agentId ?? ''))?.status.status;
    await eventually(async () => (await stored(a)) === 'running' && (await stored(b)) === 'completed');

    const before = incoming;
    const unknown = crypto.randomUUID();
    const answer = await admin.statuses([c ?? '', a ?? '', b ?? '', theirs, unknown]);
    expect(incoming - before).toBe(1);
    expect(answer.agents.map((status) => [status.agentId, status.status])).toEqual([
      [c, 'spawning'],
      [a, 'running'],
      [b, 'completed'],
    ]);
    expect(answer.notFound).toEqual([theirs, unknown]);
    // Each answer is stored as a refresh is: the hub's own view says so without asking again.
    expect((await admin.status(b ?? '')).status).toBe('completed');

    // The agents page asks the same way for the agents on it that have not ended: one message.
    const cookie = await sessionCookie(hub);
    const page = await (await fetch(`${hub.url}/federation/agents`, { headers: { Cookie: cookie } })).text();
    const csrf = /name="csrf" value="([^"]+)"/.exec(page)?.[1] ?? '';
    const listed = [...page.matchAll(/name="agentIds" value="([^"]+)"/g)].map((match) => match[1]);
    expect(new Set(listed)).toEqual(new Set([a, c]));
    const beforePage = incoming;
    const body = new URLSearchParams({ csrf });
    for (const id of listed) body.append('agentIds', id ?? '');
    const refreshed = await fetch(`${hub.url}/federation/agents/refresh`, {
      method: 'POST',
      redirect: 'manual',
      headers: { Cookie: cookie, Origin: hub.url, 'Content-Type': 'application/x-www-form-urlencoded' },
      body,
    });
    expect(refreshed.headers.get('location')).toBe('/federation/agents?done=refreshed');
    expect(incoming - beforePage).toBe(1);

    // Straight to the spoke: only the sender's agents; the other hub's is not found there either.
    const direct = await spoke.server.federation.hosted.statuses([a ?? '', theirs], { iss: hub.instanceId });
    expect(direct.agents.map((status) => status.agentId)).toEqual([a]);
    expect(direct.notFound).toEqual([theirs]);
  });

  it('refuses a list that is empty, too long or repeats an id, and a peer without the agent.status grant', async () => {
    const spoke = await startPeer({ name: 'Spoke' });
    const hub = await startPeer({ name: 'Hub' });
    const { fromConnectionId, toConnectionId } = await connectPeers(hub, spoke);
    const admin = new AdminClient({ url: hub.url, token: hub.token });
    const { agentId } = await admin.spawn({ connectionId: fromConnectionId, payload: spawnPayload('a') });
    for (const agentIds of [[], Array.from({ length: 501 }, () => crypto.randomUUID()), [agentId, agentId]]) {
      await expect(admin.statuses(agentIds)).rejects.toMatchObject({ code: 'VALIDATION_FAILED' });
    }
    await new AdminClient({ url: spoke.url, token: spoke.token }).updateGrants(toConnectionId, { allowedCommands: ['agent.spawn'] });
    await expect(admin.statuses([agentId])).rejects.toMatchObject({ code: 'FORBIDDEN' });
  });
});
