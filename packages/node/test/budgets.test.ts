import { AdminClient } from '@mosaic-fed/sdk';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectPeers, eventually, sessionCookie, spawnPayload, startPeer, type Peer } from './peers.js';

// PROTOCOL 3's daily budgets on a connection, between two real instances on loopback: a
// spawn once the day's model tokens or agent minutes are used up is refused with
// BUDGET_EXHAUSTED and Retry-After until midnight UTC, and runs nothing.
let hub: Peer;
let spoke: Peer;
let hubAdmin: AdminClient;
let spokeAdmin: AdminClient;
let hubToSpoke: string;
let spokeToHub: string;

beforeAll(async () => {
  [hub, spoke] = await Promise.all([startPeer({ name: 'Hub' }), startPeer({ name: 'Spoke' })]);
  ({ fromConnectionId: hubToSpoke, toConnectionId: spokeToHub } = await connectPeers(hub, spoke));
  hubAdmin = new AdminClient({ url: hub.url, token: hub.token });
  spokeAdmin = new AdminClient({ url: spoke.url, token: spoke.token });
});

afterAll(async () => {
  await Promise.all([hub, spoke].map((peer) => peer?.destroy()));
});

describe('daily budgets of a connection', () => {
  it("refuses a spawn once the day's tokens are used, until midnight UTC, and runs nothing", async () => {
    await spokeAdmin.updateGrants(spokeToHub, { tokensPerDay: 1_000 });
    const { agentId } = await hubAdmin.spawn({ connectionId: hubToSpoke, payload: spawnPayload('budget-first') });
    spoke.orchestrator.complete(agentId, { summary: 'Done', usage: { inputTokens: 600, outputTokens: 100, cacheReadInputTokens: 400 } });
    await eventually(async () => expect((await spokeAdmin.hostedAgent(agentId)).status.status).toBe('completed'));
    const spawnCalls = spoke.orchestrator.spawnCalls;
    const refused = await hubAdmin.spawn({ connectionId: hubToSpoke, payload: spawnPayload('budget-second') }).catch((error: unknown) => error);
    expect(refused).toMatchObject({ code: 'BUDGET_EXHAUSTED', status: 429, message: expect.stringContaining('1,000 model tokens') });
    const now = new Date();
    const untilMidnight = (Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate() + 1) - now.getTime()) / 1000;
    expect((refused as { retryAfter?: number }).retryAfter).toBeGreaterThan(0);
    expect((refused as { retryAfter?: number }).retryAfter).toBeLessThanOrEqual(Math.ceil(untilMidnight) + 1);
    expect(spoke.orchestrator.spawnCalls).toBe(spawnCalls);

    // The spoke's admin reads the day's use against the budget.
    const page = await fetch(`${spoke.url}/federation/connections/${spokeToHub}`, { headers: { cookie: await sessionCookie(spoke) } });
    expect((await page.text()).replace(/<[^>]+>/g, '').replace(/\s+/g, ' ')).toContain('used 1,100 model tokens today (UTC) of the 1,000 it may use a day');
    // A larger budget, or none, lets spawns through again; the refused one is not sent again.
    await spokeAdmin.updateGrants(spokeToHub, { tokensPerDay: null });
    const unanswered = await hub.server.federation.stores.spawnRequests.unanswered(new Date(Date.now() + 60_000).toISOString(), 500);
    expect(unanswered.map((request) => request.payload.taskId)).not.toContain('budget-second');
    await expect(hubAdmin.spawn({ connectionId: hubToSpoke, payload: spawnPayload('budget-third') })).resolves.toMatchObject({ state: 'spawning' });
  });

  it("counts a running agent's tokens turn by turn, and a failed one's, with their estimated cost", async () => {
    // Today so far: the first test's 1,100 tokens.
    await spokeAdmin.updateGrants(spokeToHub, { tokensPerDay: 5_000 });
    try {
      const { agentId } = await hubAdmin.spawn({ connectionId: hubToSpoke, payload: spawnPayload('budget-running') });
      spoke.orchestrator.start(agentId);
      const usage = (inputTokens: number) => ({ inputTokens, outputTokens: 500, estimatedCost: { amount: inputTokens / 1_000, currency: 'USD' } });
      spoke.orchestrator.progress(agentId, 1, 'read the tests', usage(1_500));
      await eventually(async () => expect((await spokeAdmin.hostedAgent(agentId)).status.progress?.usage?.inputTokens).toBe(1_500));
      // 1,100 + 2,000: under the budget.
      await expect(hubAdmin.spawn({ connectionId: hubToSpoke, payload: spawnPayload('budget-beside') })).resolves.toMatchObject({ state: 'spawning' });
      // The hub sees the agent's use so far in its status.
      await eventually(async () => expect((await hubAdmin.status(agentId)).progress?.usage).toEqual(usage(1_500)));
      spoke.orchestrator.progress(agentId, 2, 'ran the tests', usage(3_500));
      await eventually(async () => expect((await spokeAdmin.hostedAgent(agentId)).status.progress?.usage?.inputTokens).toBe(3_500));
      // 1,100 + 4,000: over it, before the agent has ended.
      await expect(hubAdmin.spawn({ connectionId: hubToSpoke, payload: spawnPayload('budget-over') })).rejects.toMatchObject({ code: 'BUDGET_EXHAUSTED' });
      // A failed agent's tokens were spent all the same.
      spoke.orchestrator.fail(agentId, 'the tests never passed');
      await eventually(async () => expect((await spokeAdmin.hostedAgent(agentId)).status.status).toBe('failed'));
      await expect(hubAdmin.spawn({ connectionId: hubToSpoke, payload: spawnPayload('budget-after') })).rejects.toMatchObject({ code: 'BUDGET_EXHAUSTED' });
      const page = await fetch(`${spoke.url}/federation/connections/${spokeToHub}`, { headers: { cookie: await sessionCookie(spoke) } });
      expect((await page.text()).replace(/<[^>]+>/g, '').replace(/\s+/g, ' ')).toContain(
        'used 5,100 model tokens today (UTC) of the 5,000 it may use a day (about 3.50 USD by this instance',
      );
    } finally {
      await spokeAdmin.updateGrants(spokeToHub, { tokensPerDay: null });
    }
  });

  it('counts agent minutes as well: a budget of none is used up from the start', async () => {
    const granted = await spokeAdmin.updateGrants(spokeToHub, { agentMinutesPerDay: 0 });
    expect(granted.grants.agentMinutesPerDay).toBe(0);
    await expect(hubAdmin.spawn({ connectionId: hubToSpoke, payload: spawnPayload('minutes') })).rejects.toMatchObject({
      code: 'BUDGET_EXHAUSTED',
      message: expect.stringContaining('0 agent minutes'),
    });
    expect((await spokeAdmin.updateGrants(spokeToHub, { agentMinutesPerDay: null })).grants).not.toHaveProperty('agentMinutesPerDay');
    await expect(spokeAdmin.updateGrants(spokeToHub, { tokensPerDay: -1 })).rejects.toMatchObject({ code: 'VALIDATION_FAILED' });
  });
});
