import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { agentStatusEvent } from '../../server/test/helpers.js';
import { connectPeers, eventually, spawnPayload, startPeer, type Peer } from './peers.js';

// The spoke's outbox against a real hub: what the hub refuses for good is not sent
// again, and a hub that says when to come back is taken at its word.
let hub: Peer;
let spoke: Peer;
let spokeToHub: { connectionId: string; peerInstanceId: string };

beforeAll(async () => {
  [hub, spoke] = await Promise.all([startPeer({ name: 'Hub' }), startPeer({ name: 'Spoke', federation: { outbox: { pollIntervalMs: 3_600_000, initialBackoffMs: 50, maxBackoffMs: 200 } } })]);
  const { fromConnectionId } = await connectPeers(spoke, hub);
  spokeToHub = { connectionId: fromConnectionId, peerInstanceId: hub.instanceId };
});

afterAll(async () => {
  await Promise.all([hub, spoke].map((peer) => peer?.destroy()));
});

/** The real clock set back (or on, by under a second) to a second into its current minute. */
function clockAtMinuteStart(): () => Date {
  const offset = (Date.now() % 60_000) - 1_000;
  return () => new Date(Date.now() - offset);
}

describe('the event outbox', () => {
  it('stops sending an event the peer refuses for good (an agent it never spawned), after a few tries', async () => {
    const { outbox, stores } = spoke.server.federation;
    await outbox.enqueue(spokeToHub, 'agent.status.changed', agentStatusEvent(crypto.randomUUID(), 1));
    const aDayLater = () => stores.outbox.due(Date.now() + 86_400_000, 100);
    // NOT_FOUND may only mean the hub has not recorded its agent yet: after one attempt
    // (two, if the enqueue's own wake-up came first) it is still to be tried again.
    expect(await outbox.deliverDue()).toBe(0);
    expect(await aDayLater()).toHaveLength(1);
    // Then, after a few more tries (quick ones here), given up: not due again, not even a
    // day later, well inside its retention.
    await eventually(async () => {
      expect(await outbox.deliverDue()).toBe(0);
      expect(await aDayLater()).toEqual([]);
    }, 10_000);
  });

  it('waits as long as the peer\'s Retry-After says when it is over its rate', async () => {
    // The hub counts by the minute and answers with the rest of it. Both peers keep a
    // clock a second into a minute, so the rest is clearly longer than a backoff would be.
    const now = clockAtMinuteStart();
    const [limitedHub, limitedSpoke] = await Promise.all([
      startPeer({ name: 'Hub', now }),
      startPeer({ name: 'Spoke', now, federation: { outbox: { pollIntervalMs: 3_600_000, initialBackoffMs: 50, maxBackoffMs: 200 } } }),
    ]);
    try {
      const { fromConnectionId, toConnectionId } = await connectPeers(limitedSpoke, limitedHub);
      const limited = await limitedHub.api(`/api/v1/federation/connections/${toConnectionId}`, { method: 'PATCH', body: { messagesPerMinute: 0 } });
      expect(limited.status).toBe(200);
      const { outbox, stores } = limitedSpoke.server.federation;
      await outbox.enqueue({ connectionId: fromConnectionId, peerInstanceId: limitedHub.instanceId }, 'agent.status.changed', agentStatusEvent(crypto.randomUUID(), 1));
      await outbox.deliverDue();
      const sent = now().getTime();
      // Exponential backoff would bring it back after a second; the hub asked for the rest of its minute.
      expect(await stores.outbox.due(sent + 1_500, 100)).toEqual([]);
      expect((await stores.outbox.due(sent + 61_000, 100)).map((entry) => entry.lastError)).toEqual([expect.stringContaining('allowance')]);
    } finally {
      await Promise.all([limitedHub.destroy(), limitedSpoke.destroy()]);
    }
  });

  it('delivers an agent\'s events in sequence after a hub outage, so the hub skips none (PROTOCOL 5)', { timeout: 60_000 }, async () => {
    const oneHub = await startPeer({ name: 'Hub that goes away' });
    const oneSpoke = await startPeer({ name: 'Spoke', autoAcceptUrls: [oneHub.url] });
    let hubNow = oneHub;
    try {
      const { fromConnectionId } = await connectPeers(oneHub, oneSpoke);
      const spawned = await oneHub.api<{ agentId: string }>('/api/v1/federation/agents/spawn', {
        body: { connectionId: fromConnectionId, payload: spawnPayload('task-outage') },
      });
      const { agentId } = spawned.body.data;
      await eventually(async () => expect((await oneHub.server.federation.stores.remoteAgents.events(agentId, 0)).length).toBe(1));
      await oneHub.stop();
      // While the hub is away: each event fails and backs off on its own schedule.
      oneSpoke.orchestrator.start(agentId);
      for (let turn = 1; turn <= 8; turn++) {
        oneSpoke.orchestrator.progress(agentId, turn, `turn ${turn}`);
        await new Promise((resolve) => setTimeout(resolve, 60));
      }
      oneSpoke.orchestrator.complete(agentId, { summary: 'done while the hub was away' });
      await new Promise((resolve) => setTimeout(resolve, 300));
      hubNow = await oneHub.restart();
      await eventually(async () => expect((await hubNow.server.federation.stores.remoteAgents.get(agentId))?.status.status).toBe('completed'), 30_000);
      const sequences = (await hubNow.server.federation.stores.remoteAgents.events(agentId, 0)).map((event) => event.sequence);
      expect(sequences).toEqual(Array.from({ length: sequences.length }, (_, i) => i + 1));
      expect(sequences.length).toBe((await oneSpoke.server.federation.stores.hostedAgents.get(agentId))?.sequence);
    } finally {
      await Promise.all([hubNow.destroy(), oneSpoke.destroy()]);
    }
  });
});
