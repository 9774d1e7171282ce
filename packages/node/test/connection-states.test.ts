import { describe, expect, it } from 'vitest';
import { destroyedAfterEachTest, eventually, type Peer } from './peers.js';

// A connection's states (PROTOCOL 2) through the admin API of two real instances: each
// step allowed only from the states it names, refused from the others with
// VALIDATION_FAILED naming the state, and a step repeated answering the state it reached.
const { peer } = destroyedAfterEachTest();

interface Row {
  id: string;
  peerInstanceId: string;
  status: string;
  direction: string;
}

async function connectionTo(from: Peer, to: Peer): Promise<Row> {
  const listed = await from.api<Row[]>('/api/v1/federation/connections');
  const found = listed.body.data.find((row) => row.peerInstanceId === to.instanceId);
  if (found === undefined) throw new Error(`${from.name} has no connection with ${to.name}`);
  return found;
}

const act = (on: Peer, id: string, action: string) => on.api<Row>(`/api/v1/federation/connections/${id}/${action}`, { method: 'POST' });

describe('the states of a connection', () => {
  it('refuses each step from a state it does not start from, and answers a repeated step with the state it reached', async () => {
    const hub = await peer({ name: 'hub' });
    const spoke = await peer({ name: 'spoke' });

    const self = await hub.api('/api/v1/federation/connections', { body: { url: hub.url } });
    expect(self.status).toBe(400);
    expect(self.body).toMatchObject({ code: 'VALIDATION_FAILED', error: 'that address is this instance itself' });

    const requested = await hub.api<Row>('/api/v1/federation/connections', { body: { url: spoke.url } });
    expect(requested.body.data).toMatchObject({ status: 'PENDING', direction: 'outgoing' });
    const incoming = await connectionTo(spoke, hub);
    expect(incoming).toMatchObject({ status: 'PENDING', direction: 'incoming' });

    // Only the peer that was asked can accept or reject; nothing is suspended or resumed before it is ACTIVE.
    for (const [on, id, action, said] of [
      [hub, requested.body.data.id, 'accept', 'the connection is PENDING; only a PENDING request from a peer can be accepted'],
      [hub, requested.body.data.id, 'reject', 'the connection is PENDING; only a PENDING request from a peer can be rejected'],
      [spoke, incoming.id, 'suspend', 'the connection is PENDING; only an ACTIVE connection can be suspended'],
      [spoke, incoming.id, 'resume', 'the connection is PENDING; only a SUSPENDED connection can be resumed'],
    ] as const) {
      const refused = await act(on, id, action);
      expect(refused.status, `${on.name} ${action}`).toBe(400);
      expect(refused.body).toMatchObject({ code: 'VALIDATION_FAILED', error: said, details: [{ path: 'status' }] });
    }

    // Rejected: the requester learns it; a second reject answers the same; it cannot be accepted after.
    expect((await act(spoke, incoming.id, 'reject')).body.data.status).toBe('REJECTED');
    await eventually(async () => (await connectionTo(hub, spoke)).status === 'REJECTED');
    expect((await act(spoke, incoming.id, 'reject')).body.data.status).toBe('REJECTED');
    expect((await act(spoke, incoming.id, 'accept')).body).toMatchObject({ code: 'VALIDATION_FAILED', error: 'the connection is REJECTED; only a PENDING request from a peer can be accepted' });

    // Asked again, the same connection is PENDING again on both sides, and can be accepted.
    const again = await hub.api<Row>('/api/v1/federation/connections', { body: { url: spoke.url } });
    expect(again.body.data).toMatchObject({ id: requested.body.data.id, status: 'PENDING' });
    const second = await eventually(async () => {
      const row = await connectionTo(spoke, hub);
      if (row.status !== 'PENDING') throw new Error(`the spoke's side is ${row.status}`);
      return row;
    });
    expect((await act(spoke, second.id, 'accept')).body.data.status).toBe('ACTIVE');
    await eventually(async () => (await connectionTo(hub, spoke)).status === 'ACTIVE');
    expect((await act(spoke, second.id, 'accept')).body.data.status).toBe('ACTIVE');

    // Suspended and resumed on this side alone, each twice.
    expect((await act(spoke, second.id, 'suspend')).body.data.status).toBe('SUSPENDED');
    expect((await act(spoke, second.id, 'suspend')).body.data.status).toBe('SUSPENDED');
    expect((await act(spoke, second.id, 'resume')).body.data.status).toBe('ACTIVE');
    expect((await act(spoke, second.id, 'resume')).body.data.status).toBe('ACTIVE');
    expect((await connectionTo(hub, spoke)).status).toBe('ACTIVE');

    // Disconnected: both sides, and a second disconnect answers the same.
    expect((await act(hub, requested.body.data.id, 'disconnect')).body.data.status).toBe('DISCONNECTED');
    await eventually(async () => (await connectionTo(spoke, hub)).status === 'DISCONNECTED');
    expect((await act(hub, requested.body.data.id, 'disconnect')).body.data.status).toBe('DISCONNECTED');
  });

  it('withdraws a rejected request on this side alone: the peer that rejected it is not told again', async () => {
    const hub = await peer({ name: 'hub' });
    const spoke = await peer({ name: 'spoke' });
    const requested = await hub.api<Row>('/api/v1/federation/connections', { body: { url: spoke.url } });
    const incoming = await connectionTo(spoke, hub);
    await act(spoke, incoming.id, 'reject');
    await eventually(async () => (await connectionTo(hub, spoke)).status === 'REJECTED');
    expect((await act(hub, requested.body.data.id, 'disconnect')).body.data.status).toBe('DISCONNECTED');
    // The spoke's side stays as it left it.
    await new Promise((done) => setTimeout(done, 200));
    expect((await connectionTo(spoke, hub)).status).toBe('REJECTED');
  });
});
