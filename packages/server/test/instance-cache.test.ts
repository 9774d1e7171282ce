import { DEFAULT_CAPABILITIES } from '@mosaic-fed/core';
import { describe, expect, it } from 'vitest';
import { InstanceService } from '../src/instance/service.js';
import { silentLogger } from '../src/logger.js';
import { createInMemoryStores } from '../src/stores/memory/index.js';
import type { FederationStores, InstanceStore } from '../src/stores/types.js';

/** Lets the calls under way take their next steps. */
const settle = () => new Promise((resolve) => setTimeout(resolve, 10));
const ADMIN = { type: 'admin-token', id: 'token-1' } as const;

function gate(): { wait: Promise<void>; release: () => void } {
  let release: () => void = () => undefined;
  const wait = new Promise<void>((resolve) => (release = resolve));
  return { wait, release };
}

/** An instance store that counts its reads and can hold the next read or update. */
function watchedStore(inner: InstanceStore) {
  let reads = 0;
  let heldRead: Promise<void> | undefined;
  let heldUpdate: Promise<void> | undefined;
  const store: InstanceStore = {
    initialise: (record, audit) => inner.initialise(record, audit),
    update: async (record, expectedVersion, audit) => {
      // Held before anything is written.
      const held = heldUpdate;
      heldUpdate = undefined;
      await held;
      return inner.update(record, expectedVersion, audit);
    },
    get: async () => {
      reads++;
      // What is stored when the read starts is what it answers, however late.
      const record = await inner.get();
      const held = heldRead;
      heldRead = undefined;
      await held;
      return record;
    },
  };
  return {
    store,
    reads: () => reads,
    /** Holds the next read's answer until the returned function is called. */
    holdNextRead(): () => void {
      const { wait, release } = gate();
      heldRead = wait;
      return release;
    },
    /** Holds the next update, before it writes, until the returned function is called. */
    holdNextUpdate(): () => void {
      const { wait, release } = gate();
      heldUpdate = wait;
      return release;
    },
  };
}

function service(cacheMs: number) {
  // The cache's own clock, moved by the test: no waiting for real time to pass.
  let clock = 0;
  const given = createInMemoryStores();
  const watched = watchedStore(given.instance);
  const stores: FederationStores = { ...given, instance: watched.store };
  const instance = new InstanceService({
    stores,
    secret: 'instance-cache-test-secret-0123456789abcdef',
    now: () => new Date(),
    generateId: () => crypto.randomUUID(),
    logger: silentLogger,
    defaults: { name: 'Cache test', url: 'http://127.0.0.1:9', capabilities: DEFAULT_CAPABILITIES },
    keyGracePeriodSeconds: 60,
    cacheMs,
    monotonic: () => clock,
  });
  return { instance, advance: (ms: number) => void (clock += ms), ...watched };
}

describe('InstanceService record cache', () => {
  it('reads the store once for every request that finds the record stale at the same time', async () => {
    const { instance, reads, advance } = service(30);
    const first = await instance.load();
    advance(30);
    const before = reads();
    const loaded = await Promise.all(Array.from({ length: 20 }, () => instance.load()));
    expect(reads() - before).toBe(1);
    expect(new Set(loaded.map((record) => record.instanceId))).toEqual(new Set([first.instanceId]));
    // Once that read is done, the next stale moment reads again.
    advance(30);
    await instance.load();
    expect(reads() - before).toBe(2);
  });

  it('keeps the newer record when a read that began before an update here ends after it', async () => {
    const { instance, holdNextRead, holdNextUpdate, advance } = service(200);
    await instance.load();
    // The update starts while the record is fresh, and is held before it writes.
    const releaseUpdate = holdNextUpdate();
    const updating = instance.update({ name: 'Renamed' }, ADMIN);
    await settle();
    advance(200);
    // Now stale: a request reads the record (version 1), and its answer is held.
    const releaseRead = holdNextRead();
    const overlapping = instance.load();
    await settle();
    releaseUpdate();
    expect((await updating).name).toBe('Renamed');
    releaseRead();
    // The late answer of version 1 does not replace version 2: neither for that caller
    // nor for the next one, which the cache serves.
    expect((await overlapping).version).toBe(2);
    expect((await instance.load()).name).toBe('Renamed');
  });
});
