import { describe, expect, it } from 'vitest';
import { CachedConnectionStore } from '../src/stores/connection-cache.js';
import { createInMemoryStores } from '../src/stores/memory/index.js';
import type { ConnectionStore } from '../src/stores/types.js';
import { auditEntry } from './helpers.js';
import { connectionRecord } from './store-contract.js';

async function setUp(ttlMs: number) {
  const shared = createInMemoryStores().connections;
  const record = await connectionRecord({ status: 'ACTIVE' });
  await shared.create(record, auditEntry('connection.create'));
  // The cache's own clock, moved by the test: no waiting for real time to pass.
  let clock = 0;
  const cache = new CachedConnectionStore(shared, ttlMs, () => clock);
  return { shared, record, cache, advance: (ms: number) => void (clock += ms) };
}

/** A write made by another replica: straight to the shared store. */
async function suspendElsewhere(store: ConnectionStore, peerInstanceId: string) {
  const current = await store.getByPeer(peerInstanceId);
  if (current === undefined) throw new Error('no such connection');
  const next = { ...current, status: 'SUSPENDED' as const, version: current.version + 1 };
  expect(await store.update(next, current.version, auditEntry('connection.suspend'))).toBe(true);
  return next;
}

describe('CachedConnectionStore', () => {
  it("serves a sender's connection from memory, and sees another replica's change within its time", async () => {
    const { shared, record, cache, advance } = await setUp(150);
    expect((await cache.senderConnection(record.peerInstanceId))?.status).toBe('ACTIVE');
    await suspendElsewhere(shared, record.peerInstanceId);
    expect((await cache.senderConnection(record.peerInstanceId))?.status).toBe('ACTIVE');
    // Reads for writers are never served from memory.
    expect((await cache.getByPeer(record.peerInstanceId))?.status).toBe('SUSPENDED');
    advance(149);
    expect((await cache.senderConnection(record.peerInstanceId))?.status).toBe('ACTIVE');
    advance(1);
    expect((await cache.senderConnection(record.peerInstanceId))?.status).toBe('SUSPENDED');
  });

  it('sees a change written through it at once, even when the write loses its race', async () => {
    const { shared, record, cache } = await setUp(60_000);
    const first = await cache.senderConnection(record.peerInstanceId);
    expect(first?.status).toBe('ACTIVE');
    const suspended = { ...record, status: 'SUSPENDED' as const, version: 2 };
    expect(await cache.update(suspended, 1, auditEntry('connection.suspend'))).toBe(true);
    expect((await cache.senderConnection(record.peerInstanceId))?.status).toBe('SUSPENDED');

    // Another replica moved it on; this write finds a stale version and writes nothing,
    // but what is remembered is dropped, so the next message reads the truth.
    await cache.senderConnection(record.peerInstanceId);
    const disconnected = { ...suspended, status: 'DISCONNECTED' as const, version: 3 };
    expect(await shared.update(disconnected, 2, auditEntry('connection.disconnect'))).toBe(true);
    expect(await cache.update({ ...suspended, status: 'ACTIVE', version: 3 }, 2, auditEntry('connection.resume'))).toBe(false);
    expect((await cache.senderConnection(record.peerInstanceId))?.status).toBe('DISCONNECTED');
  });

  it('does not remember a read that overlapped a write', async () => {
    const { shared, record } = await setUp(60_000);
    let release: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const slow: ConnectionStore = {
      ...shared,
      create: (r, a) => shared.create(r, a),
      get: (id) => shared.get(id),
      list: (filter) => shared.list(filter),
      update: (r, v, a) => shared.update(r, v, a),
      markPeerPaused: (id, since) => shared.markPeerPaused(id, since),
      markPeerSeen: (id, at) => shared.markPeerSeen(id, at),
      getByPeer: async (peer) => {
        const found = await shared.getByPeer(peer);
        await gate;
        return found;
      },
    };
    const cache = new CachedConnectionStore(slow, 60_000);
    const reading = cache.senderConnection(record.peerInstanceId);
    await cache.update({ ...record, status: 'SUSPENDED', version: 2 }, 1, auditEntry('connection.suspend'));
    release();
    expect((await reading)?.status).toBe('ACTIVE');
    const fresh = cache.senderConnection(record.peerInstanceId);
    expect((await fresh)?.status).toBe('SUSPENDED');
  });

  it('lets the messages that arrive while a connection is read share that read, but not past a write', async () => {
    const { shared, record } = await setUp(60_000);
    let reads = 0;
    let release: () => void = () => undefined;
    let gate = new Promise<void>((resolve) => (release = resolve));
    const counted: ConnectionStore = {
      create: (r, a) => shared.create(r, a),
      get: (id) => shared.get(id),
      list: (filter) => shared.list(filter),
      update: (r, v, a) => shared.update(r, v, a),
      markPeerPaused: (id, since) => shared.markPeerPaused(id, since),
      markPeerSeen: (id, at) => shared.markPeerSeen(id, at),
      getByPeer: async (peer) => {
        reads++;
        const found = await shared.getByPeer(peer);
        await gate;
        return found;
      },
    };
    const cache = new CachedConnectionStore(counted, 60_000);
    const crowd = Array.from({ length: 10 }, () => cache.senderConnection(record.peerInstanceId));
    expect(reads).toBe(1);
    // A write through the cache while that read is under way: later messages read afresh.
    await cache.update({ ...record, status: 'SUSPENDED', version: 2 }, 1, auditEntry('connection.suspend'));
    const after = cache.senderConnection(record.peerInstanceId);
    expect(reads).toBe(2);
    release();
    expect(new Set((await Promise.all(crowd)).map((found) => found?.status))).toEqual(new Set(['ACTIVE']));
    expect((await after)?.status).toBe('SUSPENDED');
    // The read begun after the write is the one remembered.
    gate = Promise.resolve();
    expect((await cache.senderConnection(record.peerInstanceId))?.status).toBe('SUSPENDED');
    expect(reads).toBe(2);
  });

  it('remembers only connections that exist, and hands them out frozen', async () => {
    const { record, cache } = await setUp(60_000);
    expect(await cache.senderConnection(crypto.randomUUID())).toBeUndefined();
    const created = await connectionRecord({ status: 'ACTIVE' });
    await cache.create(created, auditEntry('connection.create'));
    expect((await cache.senderConnection(created.peerInstanceId))?.id).toBe(created.id);

    const remembered = await cache.senderConnection(record.peerInstanceId);
    expect(Object.isFrozen(remembered)).toBe(true);
    expect(Object.isFrozen(remembered?.grants)).toBe(true);
    expect(Object.isFrozen(remembered?.peerKeys[0])).toBe(true);
  });

  it('with a time of 0, reads the store for every message', async () => {
    const { shared, record, cache } = await setUp(0);
    expect((await cache.senderConnection(record.peerInstanceId))?.status).toBe('ACTIVE');
    await suspendElsewhere(shared, record.peerInstanceId);
    expect((await cache.senderConnection(record.peerInstanceId))?.status).toBe('SUSPENDED');
  });

  it('passes at most one sighting of a peer a minute on to the store', async () => {
    const { shared, record } = await setUp(60_000);
    const written: string[] = [];
    const counted: ConnectionStore = {
      create: (r, a) => shared.create(r, a),
      get: (id) => shared.get(id),
      getByPeer: (peer) => shared.getByPeer(peer),
      list: (filter) => shared.list(filter),
      update: (r, v, a) => shared.update(r, v, a),
      markPeerPaused: (id, since) => shared.markPeerPaused(id, since),
      markPeerSeen: (id, at) => {
        written.push(at);
        return shared.markPeerSeen(id, at);
      },
    };
    const cache = new CachedConnectionStore(counted, 60_000);
    for (const second of ['00', '10', '59']) await cache.markPeerSeen(record.id, `2026-11-25T12:00:${second}.000Z`);
    await cache.markPeerSeen(record.id, '2026-11-25T12:01:00.000Z');
    await cache.markPeerSeen(record.id, '2026-11-25T12:01:30.000Z');
    expect(written).toEqual(['2026-11-25T12:00:00.000Z', '2026-11-25T12:01:00.000Z']);
    expect((await cache.get(record.id))?.peerSeenAt).toBe('2026-11-25T12:01:00.000Z');
  });

  it('refuses a time that is not a number of milliseconds', () => {
    const { connections } = createInMemoryStores();
    expect(() => new CachedConnectionStore(connections, -1)).toThrow(TypeError);
    expect(() => new CachedConnectionStore(connections, Number.NaN)).toThrow(TypeError);
  });
});
