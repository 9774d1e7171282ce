import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { agentStatusEvent } from './helpers.js';
import { connectPeers, startPeer, type Peer } from './peers.js';

// The spoke's outbox against a real hub: what the hub refuses for good is not sent
// again, and a hub that says when to come back is taken at its word.
let hub: Peer;
let spoke: Peer;
let spokeToHub: { connectionId: string; peerInstanceId: string };
let hubSideId: string;

beforeAll(async () => {
  [hub, spoke] = await Promise.all([startPeer({ name: 'Hub' }), startPeer({ name: 'Spoke', federation: { outbox: { pollIntervalMs: 3_600_000 } } })]);
  const { fromConnectionId, toConnectionId } = await connectPeers(spoke, hub);
  spokeToHub = { connectionId: fromConnectionId, peerInstanceId: hub.instanceId };
  hubSideId = toConnectionId;
});

afterAll(async () => {
  await Promise.all([hub, spoke].map((peer) => peer?.destroy()));
});

describe('the event outbox', () => {
  it('stops sending an event the peer refuses for good (an agent it never spawned)', async () => {
    const { outbox, stores } = spoke.server.federation;
    await outbox.enqueue(spokeToHub, 'agent.status.changed', agentStatusEvent(crypto.randomUUID(), 1));
    expect(await outbox.deliverDue()).toBe(0);
    const later = Date.now() + 3 * 86_400_000;
    expect(await stores.outbox.due(later, 100)).toEqual([]);
  });

  it('waits as long as the peer\'s Retry-After says when it is over its rate', { timeout: 30_000 }, async () => {
    const { outbox, stores } = spoke.server.federation;
    // The hub counts by the minute and answers with the rest of it: start early in one, so
    // that the rest is clearly longer than a backoff would be.
    const intoMinute = Date.now() % 60_000;
    if (intoMinute > 50_000) await new Promise((resolve) => setTimeout(resolve, 60_000 - intoMinute + 100));
    const limited = await hub.api(`/api/v1/federation/connections/${hubSideId}`, { method: 'PATCH', body: { messagesPerMinute: 0 } });
    expect(limited.status).toBe(200);
    await outbox.enqueue(spokeToHub, 'agent.status.changed', agentStatusEvent(crypto.randomUUID(), 1));
    await outbox.deliverDue();
    const now = Date.now();
    // Exponential backoff would bring it back after a second; the hub asked for the rest of its minute.
    expect(await stores.outbox.due(now + 1_500, 100)).toEqual([]);
    expect((await stores.outbox.due(now + 61_000, 100)).map((entry) => entry.lastError)).toEqual([expect.stringContaining('allowance')]);
  });
});
