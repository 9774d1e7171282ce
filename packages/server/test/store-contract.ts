// One contract suite for every store implementation (STYLE "Inject every side effect"):
// memory and libSQL today, Valkey where it applies later.
import { DEFAULT_CAPABILITIES, generateKeyPair } from '@mosaic-fed/core';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { FederationStores, InstanceRecord } from '../src/stores/types.js';
import { allAudit, auditEntry } from './helpers.js';

export interface StoreHarness {
  stores: FederationStores;
  cleanup(): Promise<void>;
}

async function instanceRecord(): Promise<InstanceRecord> {
  const { publicJwk } = await generateKeyPair();
  return {
    instanceId: crypto.randomUUID(),
    name: 'Contract',
    url: 'https://contract.example.com',
    capabilities: DEFAULT_CAPABILITIES,
    metadata: { region: 'eu-west', nested: { list: [1, 'two', null] } },
    keys: [{ publicJwk, createdAt: '2026-11-25T12:00:00.000Z', expiresAt: null }],
    keyRotations: [],
    encryptedPrivateKey: 'v1.sealed',
    version: 1,
    createdAt: '2026-11-25T12:00:00.000Z',
    updatedAt: '2026-11-25T12:00:00.000Z',
  };
}

export function describeStoreContract(name: string, open: () => Promise<StoreHarness>): void {
  describe(`${name} stores: the shared contract`, () => {
    let harness: StoreHarness;
    let stores: FederationStores;
    beforeEach(async () => {
      harness = await open();
      stores = harness.stores;
    });
    afterEach(async () => {
      await harness.cleanup();
    });

    describe('instance', () => {
      it('is empty at first, then holds the first record it is given, with one audit entry', async () => {
        expect(await stores.instance.get()).toBeUndefined();
        const first = await instanceRecord();
        expect(await stores.instance.initialise(first, auditEntry('instance.initialise'))).toEqual(first);
        const second = await instanceRecord();
        expect(await stores.instance.initialise(second, auditEntry('instance.initialise'))).toEqual(first);
        expect(await stores.instance.get()).toEqual(first);
        expect((await allAudit(stores)).map((e) => e.action)).toEqual(['instance.initialise']);
      });

      it('lets one of two racing initialisations win', async () => {
        const [a, b] = [await instanceRecord(), await instanceRecord()];
        const [ra, rb] = await Promise.all([
          stores.instance.initialise(a, auditEntry('instance.initialise')),
          stores.instance.initialise(b, auditEntry('instance.initialise')),
        ]);
        expect(ra).toEqual(rb);
        expect(await allAudit(stores)).toHaveLength(1);
      });

      it('updates only from the expected version, atomically with its audit entry', async () => {
        const record = await instanceRecord();
        await stores.instance.initialise(record, auditEntry());
        const next = { ...record, name: 'Renamed', version: 2 };
        expect(await stores.instance.update(next, 1, auditEntry('instance.update'))).toBe(true);
        expect(await stores.instance.get()).toEqual(next);

        const stale = { ...record, name: 'Stale', version: 2 };
        expect(await stores.instance.update(stale, 1, auditEntry('instance.stale'))).toBe(false);
        expect(await stores.instance.get()).toEqual(next);
        expect((await allAudit(stores)).map((e) => e.action)).not.toContain('instance.stale');
      });

      it('lets exactly one of two concurrent updates from one version win', async () => {
        const record = await instanceRecord();
        await stores.instance.initialise(record, auditEntry());
        const results = await Promise.all(
          ['A', 'B'].map((n) => stores.instance.update({ ...record, name: n, version: 2 }, 1, auditEntry(`update.${n}`))),
        );
        expect(results.filter(Boolean)).toHaveLength(1);
        expect(await allAudit(stores)).toHaveLength(2);
      });

      it('hands out copies, so callers cannot change what is stored', async () => {
        const record = await instanceRecord();
        await stores.instance.initialise(record, auditEntry());
        const read = await stores.instance.get();
        if (read === undefined) throw new Error('missing');
        read.name = 'mutated';
        read.capabilities.agentTypes.push('worker');
        expect(await stores.instance.get()).toEqual(record);
      });
    });

    describe('audit', () => {
      it('lists newest first, page by page, with a cursor', async () => {
        const entries = Array.from({ length: 7 }, (_, i) => auditEntry(`action.${i}`));
        for (const entry of entries) await stores.audit.append(entry);
        const first = await stores.audit.list({ limit: 3 });
        expect(first.items.map((e) => e.action)).toEqual(['action.6', 'action.5', 'action.4']);
        const second = await stores.audit.list({ limit: 3, cursor: first.nextCursor ?? undefined });
        expect(second.items.map((e) => e.action)).toEqual(['action.3', 'action.2', 'action.1']);
        const third = await stores.audit.list({ limit: 3, cursor: second.nextCursor ?? undefined });
        expect(third.items.map((e) => e.action)).toEqual(['action.0']);
        expect(third.nextCursor).toBeNull();
        expect(third.items[0]).toEqual(entries[0]);
      });

      it('answers an unknown cursor with an empty page', async () => {
        await stores.audit.append(auditEntry());
        expect(await stores.audit.list({ limit: 10, cursor: 'not-a-cursor' })).toEqual({ items: [], nextCursor: null });
      });
    });

    describe('admin tokens', () => {
      it('finds a token by its hash only, and audits its creation', async () => {
        const record = { id: crypto.randomUUID(), label: 'ops', tokenHash: 'a'.repeat(64), createdAt: '2026-11-25T12:00:00.000Z' };
        await stores.adminTokens.create(record, auditEntry('admin-token.create'));
        expect(await stores.adminTokens.findByHash('a'.repeat(64))).toEqual(record);
        expect(await stores.adminTokens.findByHash('b'.repeat(64))).toBeUndefined();
        expect((await allAudit(stores)).map((e) => e.action)).toEqual(['admin-token.create']);
      });

      it('refuses a duplicate hash and writes no audit entry for it', async () => {
        const record = { id: crypto.randomUUID(), label: 'ops', tokenHash: 'c'.repeat(64), createdAt: '2026-11-25T12:00:00.000Z' };
        await stores.adminTokens.create(record, auditEntry('admin-token.create'));
        await expect(
          stores.adminTokens.create({ ...record, id: crypto.randomUUID() }, auditEntry('admin-token.duplicate')),
        ).rejects.toThrow();
        expect((await allAudit(stores)).map((e) => e.action)).toEqual(['admin-token.create']);
      });
    });
  });
}
