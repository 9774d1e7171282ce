// One contract suite for every store implementation (STYLE "Inject every side effect"):
// memory and libSQL today, Valkey where it applies later.
import { DEFAULT_CAPABILITIES, defaultGrants, generateKeyPair } from '@mosaic-fed/core';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { AgentStatus } from '@mosaic-fed/core';
import type {
  DeliveryRecord,
  ConnectionRecord,
  FederationStores,
  HostedAgentRecord,
  InstanceRecord,
  OutboxEntry,
  RemoteAgentRecord,
  SpawnRequestRecord,
} from '../src/stores/types.js';
import { allAudit, auditEntry } from './helpers.js';

export interface StoreHarness {
  stores: FederationStores;
  cleanup(): Promise<void>;
  /** The message log's entries expire by themselves (Valkey), so it has nothing to prune. */
  messageLogExpiresItself?: boolean;
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

export async function connectionRecord(overrides: Partial<ConnectionRecord> = {}): Promise<ConnectionRecord> {
  const { publicJwk } = await generateKeyPair();
  return {
    id: crypto.randomUUID(),
    peerInstanceId: crypto.randomUUID(),
    peerUrl: 'https://peer.example.com',
    peerName: 'Peer',
    status: 'PENDING',
    direction: 'incoming',
    grants: defaultGrants(DEFAULT_CAPABILITIES),
    peerCapabilities: DEFAULT_CAPABILITIES,
    peerMetadata: { region: 'x' },
    peerKeys: [publicJwk],
    replacedPeerKeys: [],
    peerUrlVouches: false,
    createdAt: '2026-11-25T12:00:00.000Z',
    updatedAt: '2026-11-25T12:00:00.000Z',
    version: 1,
    ...overrides,
  };
}

export function agentStatus(overrides: Partial<AgentStatus> = {}): AgentStatus {
  return {
    agentId: crypto.randomUUID(),
    taskId: 'task-1',
    agentType: 'worker',
    status: 'spawning',
    attempt: 1,
    spawnedAt: '2026-11-25T12:00:00.000Z',
    startedAt: null,
    completedAt: null,
    progress: null,
    result: null,
    error: null,
    ...overrides,
  };
}

function hosted(connectionId: string, overrides: Partial<AgentStatus> = {}, createdAt = '2026-11-25T12:00:00.000Z'): HostedAgentRecord {
  const status = agentStatus(overrides);
  return { agentId: status.agentId, connectionId, ownerInstanceId: 'owner-a', status, sequence: 0, createdAt };
}

function remote(createdAt = '2026-11-25T12:00:00.000Z', overrides: Partial<AgentStatus> = {}, connectionId = 'conn-1'): RemoteAgentRecord {
  const status = agentStatus(overrides);
  return {
    agentId: status.agentId,
    connectionId,
    peerInstanceId: 'peer-1',
    taskId: status.taskId,
    agentType: status.agentType,
    status,
    sequence: 0,
    createdAt,
  };
}

function outboxEntry(overrides: Partial<OutboxEntry> = {}): OutboxEntry {
  return {
    id: crypto.randomUUID(),
    connectionId: 'conn-1',
    peerInstanceId: 'peer-1',
    orderKey: null,
    eventType: 'agent.status.changed',
    payload: { n: 1 },
    attempts: 0,
    nextAttemptAt: 1_000,
    giveUpAt: 100_000,
    createdAt: 1_000,
    deliveredAt: null,
    lastError: null,
    ...overrides,
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
      it('keeps to an action and those below it, an actor, and a time span, page by page', async () => {
        const at = (minute: number) => `2026-11-25T13:${String(minute).padStart(2, '0')}:00.000Z`;
        const admin = { type: 'admin-token' as const, id: 'token-7', label: 'ops' };
        const entries = [
          auditEntry('connection.accept', { at: at(1), actor: admin }),
          auditEntry('connections.other', { at: at(2), actor: admin }),
          auditEntry('connection.grants.update', { at: at(3) }),
          auditEntry('instance.update', { at: at(4), actor: admin }),
          auditEntry('connection.reject', { at: at(5), actor: admin }),
        ];
        for (const entry of entries) await stores.audit.append(entry);
        const actions = async (filters: Parameters<typeof stores.audit.list>[0]) => (await stores.audit.list(filters)).items.map((e) => e.action);
        expect(await actions({ limit: 10, action: 'connection' })).toEqual(['connection.reject', 'connection.grants.update', 'connection.accept']);
        expect(await actions({ limit: 10, action: 'connection.grants' })).toEqual(['connection.grants.update']);
        expect(await actions({ limit: 10, actor: 'token-7', action: 'connection' })).toEqual(['connection.reject', 'connection.accept']);
        expect(await actions({ limit: 10, actor: 'admin-token', since: at(2), until: at(4) })).toEqual(['instance.update', 'connections.other']);
        const first = await stores.audit.list({ limit: 1, actor: 'token-7', action: 'connection' });
        expect(first.nextCursor).not.toBeNull();
        const second = await stores.audit.list({ limit: 1, actor: 'token-7', action: 'connection', cursor: first.nextCursor ?? undefined });
        expect(second.items.map((e) => e.action)).toEqual(['connection.accept']);
        expect(second.nextCursor).toBeNull();
        expect(await actions({ limit: 10, action: 'nothing' })).toEqual([]);
      });

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
      const tokenRecord = (tokenHash: string, createdAt = '2026-11-25T12:00:00.000Z') => ({
        id: crypto.randomUUID(),
        label: 'ops',
        tokenHash,
        createdAt,
        expiresAt: null,
        lastUsedAt: null,
        revokedAt: null,
      });

      it('finds a token by its hash only, and audits its creation', async () => {
        const record = { ...tokenRecord('a'.repeat(64)), expiresAt: '2026-12-25T12:00:00.000Z' };
        await stores.adminTokens.create(record, auditEntry('admin-token.create'));
        expect(await stores.adminTokens.findByHash('a'.repeat(64))).toEqual(record);
        expect(await stores.adminTokens.findByHash('b'.repeat(64))).toBeUndefined();
        expect((await allAudit(stores)).map((e) => e.action)).toEqual(['admin-token.create']);
      });

      it("keeps the user a user's token signs in, and none on an admin's", async () => {
        const forAlice = { ...tokenRecord('d'.repeat(64)), userId: 'alice' };
        const admin = tokenRecord('e'.repeat(64), '2026-11-25T12:00:01.000Z');
        await stores.adminTokens.create(forAlice, auditEntry('admin-token.create'));
        await stores.adminTokens.create(admin, auditEntry('admin-token.create'));
        expect(await stores.adminTokens.findByHash('d'.repeat(64))).toEqual(forAlice);
        expect(await stores.adminTokens.get(admin.id)).not.toHaveProperty('userId');
        expect((await stores.adminTokens.list()).map((t) => t.userId)).toEqual(['alice', undefined]);
      });

      it('refuses a duplicate hash and writes no audit entry for it', async () => {
        const record = tokenRecord('c'.repeat(64));
        await stores.adminTokens.create(record, auditEntry('admin-token.create'));
        await expect(
          stores.adminTokens.create({ ...record, id: crypto.randomUUID() }, auditEntry('admin-token.duplicate')),
        ).rejects.toThrow();
        expect((await allAudit(stores)).map((e) => e.action)).toEqual(['admin-token.create']);
      });

      it('lists tokens oldest first, revokes once with its audit entry, and records only later uses', async () => {
        const first = tokenRecord('d'.repeat(64), '2026-11-25T12:00:00.000Z');
        const second = tokenRecord('e'.repeat(64), '2026-11-25T12:00:01.000Z');
        await stores.adminTokens.create(second, auditEntry('admin-token.create'));
        await stores.adminTokens.create(first, auditEntry('admin-token.create'));
        expect((await stores.adminTokens.list()).map((t) => t.id)).toEqual([first.id, second.id]);

        expect(await stores.adminTokens.revoke(first.id, '2026-11-25T13:00:00.000Z', auditEntry('admin-token.revoke'))).toBe(true);
        expect(await stores.adminTokens.revoke(first.id, '2026-11-25T14:00:00.000Z', auditEntry('admin-token.again'))).toBe(false);
        expect(await stores.adminTokens.revoke(crypto.randomUUID(), '2026-11-25T14:00:00.000Z', auditEntry('admin-token.none'))).toBe(false);
        expect((await stores.adminTokens.get(first.id))?.revokedAt).toBe('2026-11-25T13:00:00.000Z');
        expect((await stores.adminTokens.findByHash(first.tokenHash))?.revokedAt).toBe('2026-11-25T13:00:00.000Z');
        expect((await allAudit(stores)).map((e) => e.action)).toEqual(['admin-token.revoke', 'admin-token.create', 'admin-token.create']);

        await stores.adminTokens.recordUse(second.id, '2026-11-25T12:10:00.000Z');
        await stores.adminTokens.recordUse(second.id, '2026-11-25T12:05:00.000Z');
        expect((await stores.adminTokens.get(second.id))?.lastUsedAt).toBe('2026-11-25T12:10:00.000Z');
        expect(await stores.adminTokens.get(crypto.randomUUID())).toBeUndefined();
      });
    });

    describe('A2A clients', () => {
      const clientRecord = (tokenHash: string, createdAt = '2026-11-25T12:00:00.000Z') => ({
        id: crypto.randomUUID(),
        name: 'ci bot',
        tokenHash,
        grants: { allowedCommands: ['agent.spawn' as const], allowedAgentTypes: ['worker' as const], maxConcurrentAgents: 2, spawnPerMinute: 10, messagesPerMinute: 100 },
        createdAt,
        lastUsedAt: null,
        revokedAt: null,
      });

      it('stores a client with its audit entry, finds it by id and by hash, and refuses a duplicate hash', async () => {
        const record = clientRecord('a'.repeat(64));
        await stores.a2aClients.create(record, auditEntry('a2a-client.create'));
        expect(await stores.a2aClients.get(record.id)).toEqual(record);
        expect(await stores.a2aClients.findByHash('a'.repeat(64))).toEqual(record);
        expect(await stores.a2aClients.findByHash('b'.repeat(64))).toBeUndefined();
        await expect(stores.a2aClients.create({ ...record, id: crypto.randomUUID() }, auditEntry('a2a-client.duplicate'))).rejects.toThrow();
        expect((await allAudit(stores)).map((e) => e.action)).toEqual(['a2a-client.create']);
      });

      it('lists oldest first, changes only a live client, revokes once, and records only later uses', async () => {
        const first = clientRecord('c'.repeat(64), '2026-11-25T12:00:00.000Z');
        const second = clientRecord('d'.repeat(64), '2026-11-25T12:00:01.000Z');
        await stores.a2aClients.create(second, auditEntry('a2a-client.create'));
        await stores.a2aClients.create(first, auditEntry('a2a-client.create'));
        expect((await stores.a2aClients.list()).map((c) => c.id)).toEqual([first.id, second.id]);

        const grants = { ...first.grants, maxConcurrentAgents: 5 };
        expect(await stores.a2aClients.update(first.id, { name: 'release bot', grants }, auditEntry('a2a-client.update'))).toBe(true);
        expect(await stores.a2aClients.get(first.id)).toMatchObject({ name: 'release bot', grants });
        expect(await stores.a2aClients.revoke(first.id, '2026-11-25T13:00:00.000Z', auditEntry('a2a-client.revoke'))).toBe(true);
        expect(await stores.a2aClients.revoke(first.id, '2026-11-25T14:00:00.000Z', auditEntry('a2a-client.again'))).toBe(false);
        expect(await stores.a2aClients.update(first.id, { name: 'after', grants }, auditEntry('a2a-client.after'))).toBe(false);
        expect(await stores.a2aClients.update(crypto.randomUUID(), { name: 'none', grants }, auditEntry('a2a-client.none'))).toBe(false);
        expect(await stores.a2aClients.get(first.id)).toMatchObject({ name: 'release bot', revokedAt: '2026-11-25T13:00:00.000Z' });
        expect((await allAudit(stores)).map((e) => e.action)).toEqual(['a2a-client.revoke', 'a2a-client.update', 'a2a-client.create', 'a2a-client.create']);

        await stores.a2aClients.recordUse(second.id, '2026-11-25T12:10:00.000Z');
        await stores.a2aClients.recordUse(second.id, '2026-11-25T12:05:00.000Z');
        expect((await stores.a2aClients.get(second.id))?.lastUsedAt).toBe('2026-11-25T12:10:00.000Z');
      });

      it('finds a client by its OIDC subject, one client per subject, and forgets a subject taken away', async () => {
        const first = { ...clientRecord('e'.repeat(64)), oidcSubject: 'svc-ci' };
        const second = clientRecord('f'.repeat(64), '2026-11-25T12:00:01.000Z');
        await stores.a2aClients.create(first, auditEntry('a2a-client.create'));
        await stores.a2aClients.create(second, auditEntry('a2a-client.create'));
        expect(await stores.a2aClients.findBySubject('svc-ci')).toEqual(first);
        expect(await stores.a2aClients.get(second.id)).not.toHaveProperty('oidcSubject');
        await expect(stores.a2aClients.create({ ...clientRecord('1'.repeat(64)), oidcSubject: 'svc-ci' }, auditEntry('a2a-client.copy'))).rejects.toThrow();
        await expect(stores.a2aClients.update(second.id, { name: second.name, grants: second.grants, oidcSubject: 'svc-ci' }, auditEntry('a2a-client.steal'))).rejects.toThrow();
        expect(await stores.a2aClients.update(first.id, { name: first.name, grants: first.grants }, auditEntry('a2a-client.update'))).toBe(true);
        expect(await stores.a2aClients.findBySubject('svc-ci')).toBeUndefined();
        expect(await stores.a2aClients.get(first.id)).not.toHaveProperty('oidcSubject');
        expect((await allAudit(stores)).map((e) => e.action)).toEqual(['a2a-client.update', 'a2a-client.create', 'a2a-client.create']);
      });
    });

    describe('A2A push configs', () => {
      const config = (taskId: string, id: string, createdAt = '2026-11-25T12:00:00.000Z') => ({
        id,
        taskId,
        clientId: 'client-1',
        url: 'https://hooks.example.com/a2a',
        scheme: 'Bearer',
        sealedSecrets: 'v1.sealed',
        createdAt,
      });

      it("keeps a task's configs once per id, lists them oldest first, and deletes one", async () => {
        const first = config('task-1', 'b', '2026-11-25T12:00:00.000Z');
        const second = { ...config('task-1', 'a', '2026-11-25T12:00:01.000Z'), scheme: null, sealedSecrets: null };
        expect(await stores.a2aPushConfigs.create(second)).toBe(true);
        expect(await stores.a2aPushConfigs.create(first)).toBe(true);
        expect(await stores.a2aPushConfigs.create({ ...first, url: 'https://other.example.com' })).toBe(false);
        expect(await stores.a2aPushConfigs.create(config('task-2', 'b'))).toBe(true);
        expect(await stores.a2aPushConfigs.get('task-1', 'b')).toEqual(first);
        expect(await stores.a2aPushConfigs.list('task-1')).toEqual([first, second]);
        expect(await stores.a2aPushConfigs.delete('task-1', 'b')).toBe(true);
        expect(await stores.a2aPushConfigs.delete('task-1', 'b')).toBe(false);
        expect(await stores.a2aPushConfigs.get('task-1', 'b')).toBeUndefined();
        expect((await stores.a2aPushConfigs.list('task-2')).map((c) => c.id)).toEqual(['b']);
      });
    });

    describe('A2A agents', () => {
      const agentRecord = (createdAt: string) => ({
        id: crypto.randomUUID(),
        name: 'Coding agent',
        cardUrl: 'https://agent.example.com/.well-known/agent-card.json',
        endpoint: 'https://agent.example.com/a2a',
        binding: 'JSONRPC' as const,
        sealedToken: null,
        createdAt,
      });

      it('adds and removes agents with their audit entries, and keeps their tasks, polled until done', async () => {
        const second = agentRecord('2026-11-25T12:00:01.000Z');
        const first = { ...agentRecord('2026-11-25T12:00:00.000Z'), binding: 'HTTP+JSON' as const, sealedToken: 'v1.sealed' };
        await stores.a2aAgents.add(second, auditEntry('a2a-agent.add'));
        await stores.a2aAgents.add(first, auditEntry('a2a-agent.add'));
        expect(await stores.a2aAgents.list()).toEqual([first, second]);
        expect(await stores.a2aAgents.get(first.id)).toEqual(first);

        const task = (agentId: string, createdAt: string) => ({ agentId, a2aAgentId: first.id, remoteTaskId: `remote-${agentId}`, done: false, createdAt });
        await stores.a2aAgents.addTask(task('b', '2026-11-25T12:01:00.000Z'));
        await stores.a2aAgents.addTask(task('a', '2026-11-25T12:02:00.000Z'));
        await stores.a2aAgents.addTask({ ...task('b', '2026-11-25T12:03:00.000Z'), remoteTaskId: 'other' });
        expect(await stores.a2aAgents.task('b')).toEqual(task('b', '2026-11-25T12:01:00.000Z'));
        expect((await stores.a2aAgents.activeTasks(10)).map((t) => t.agentId)).toEqual(['b', 'a']);
        expect((await stores.a2aAgents.activeTasks(1)).map((t) => t.agentId)).toEqual(['b']);
        await stores.a2aAgents.finishTask('b');
        expect((await stores.a2aAgents.activeTasks(10)).map((t) => t.agentId)).toEqual(['a']);
        expect((await stores.a2aAgents.task('b'))?.done).toBe(true);

        expect(await stores.a2aAgents.remove(first.id, auditEntry('a2a-agent.remove'))).toBe(true);
        expect(await stores.a2aAgents.remove(first.id, auditEntry('a2a-agent.again'))).toBe(false);
        expect(await stores.a2aAgents.get(first.id)).toBeUndefined();
        expect(await stores.a2aAgents.task('a')).toBeDefined();
        expect((await allAudit(stores)).map((e) => e.action)).toEqual(['a2a-agent.remove', 'a2a-agent.add', 'a2a-agent.add']);
      });
    });

    describe('people', () => {
      it('creates users and workspaces once each, with their audit entries, and finds them', async () => {
        const alice = { id: 'alice', name: 'Alice', createdAt: '2026-11-25T12:00:00.000Z' };
        expect(await stores.people.createUser(alice, auditEntry('user.create'))).toBe(true);
        expect(await stores.people.createUser({ ...alice, name: 'Other' }, auditEntry('user.create.again'))).toBe(false);
        expect(await stores.people.createUser({ id: 'aaron', name: 'Aaron', createdAt: alice.createdAt }, auditEntry('user.create'))).toBe(true);
        expect(await stores.people.getUser('alice')).toEqual(alice);
        expect(await stores.people.getUser('nobody')).toBeUndefined();
        expect((await stores.people.listUsers()).map((u) => u.id)).toEqual(['aaron', 'alice']);
        // One user per OIDC subject.
        const linked = { id: 'olga', name: 'Olga', oidcSubject: 'sub-7', createdAt: alice.createdAt };
        expect(await stores.people.createUser(linked, auditEntry('user.create'))).toBe(true);
        expect(await stores.people.createUser({ ...linked, id: 'olga2' }, auditEntry('user.create.again'))).toBe(false);
        expect(await stores.people.findUserByOidcSubject('sub-7')).toEqual(linked);
        expect(await stores.people.findUserByOidcSubject('sub-8')).toBeUndefined();
        expect(await stores.people.getUser('alice')).not.toHaveProperty('oidcSubject');

        const w1 = { id: 'w1', name: 'Web', connectionIds: null, createdAt: alice.createdAt };
        expect(await stores.people.createWorkspace(w1, auditEntry('workspace.create'))).toBe(true);
        expect(await stores.people.createWorkspace(w1, auditEntry('workspace.create.again'))).toBe(false);
        const limited = { ...w1, name: 'Web team', connectionIds: [crypto.randomUUID()] };
        expect(await stores.people.updateWorkspace(limited, auditEntry('workspace.update'))).toBe(true);
        expect(await stores.people.updateWorkspace({ ...limited, id: 'w9' }, auditEntry('workspace.update.none'))).toBe(false);
        expect(await stores.people.getWorkspace('w1')).toEqual(limited);
        expect(await stores.people.listWorkspaces()).toEqual([limited]);
        expect((await allAudit(stores)).map((e) => e.action)).toEqual(['workspace.update', 'workspace.create', 'user.create', 'user.create', 'user.create']);
      });

      it('sets a role, changes it keeping when the user joined, and removes it', async () => {
        const joined = { workspaceId: 'w1', userId: 'alice', role: 'viewer' as const, createdAt: '2026-11-25T12:00:00.000Z' };
        await stores.people.setMembership(joined, auditEntry('workspace.member.set'));
        await stores.people.setMembership({ workspaceId: 'w2', userId: 'alice', role: 'owner', createdAt: joined.createdAt }, auditEntry('workspace.member.set'));
        await stores.people.setMembership({ workspaceId: 'w1', userId: 'bob', role: 'member', createdAt: joined.createdAt }, auditEntry('workspace.member.set'));
        await stores.people.setMembership({ ...joined, role: 'member', createdAt: '2026-11-25T13:00:00.000Z' }, auditEntry('workspace.member.set'));
        expect(await stores.people.membershipsOf('alice')).toEqual([{ ...joined, role: 'member' }, expect.objectContaining({ workspaceId: 'w2', role: 'owner' })]);
        expect((await stores.people.membersOf('w1')).map((m) => [m.userId, m.role])).toEqual([['alice', 'member'], ['bob', 'member']]);
        expect(await stores.people.removeMembership('w1', 'alice', auditEntry('workspace.member.remove'))).toBe(true);
        expect(await stores.people.removeMembership('w1', 'alice', auditEntry('workspace.member.remove.again'))).toBe(false);
        expect((await stores.people.membershipsOf('alice')).map((m) => m.workspaceId)).toEqual(['w2']);
        expect((await allAudit(stores)).map((e) => e.action).filter((a) => a.endsWith('again'))).toEqual([]);
      });
    });

    describe('connections', () => {
      it("notes a peer that paused the connection, keeps the note through updates, and clears it", async () => {
        const record = await connectionRecord({ status: 'ACTIVE' });
        await stores.connections.create(record, auditEntry('connection.create'));
        await stores.connections.markPeerPaused(record.id, '2026-11-25T12:05:00.000Z');
        expect(await stores.connections.get(record.id)).toMatchObject({ peerPausedAt: '2026-11-25T12:05:00.000Z' });
        // An update from a record read before the note leaves the note as it is.
        expect(await stores.connections.update({ ...record, peerName: 'Renamed', version: record.version + 1 }, record.version, auditEntry('connection.update'))).toBe(true);
        expect(await stores.connections.getByPeer(record.peerInstanceId)).toMatchObject({ peerName: 'Renamed', peerPausedAt: '2026-11-25T12:05:00.000Z' });
        await stores.connections.markPeerPaused(record.id, null);
        expect(await stores.connections.get(record.id)).not.toHaveProperty('peerPausedAt');
        expect((await stores.connections.list()).find((c) => c.id === record.id)).not.toHaveProperty('peerPausedAt');
      });

      it('notes when the peer was last heard from, to the minute, and keeps it through updates', async () => {
        const record = await connectionRecord({ status: 'ACTIVE' });
        await stores.connections.create(record, auditEntry('connection.create'));
        expect(await stores.connections.get(record.id)).not.toHaveProperty('peerSeenAt');
        await stores.connections.markPeerSeen(record.id, '2026-11-25T12:00:00.000Z');
        expect(await stores.connections.get(record.id)).toMatchObject({ peerSeenAt: '2026-11-25T12:00:00.000Z' });
        // Within the minute nothing is written; an earlier sighting (another replica's clock) neither.
        await stores.connections.markPeerSeen(record.id, '2026-11-25T12:00:59.999Z');
        await stores.connections.markPeerSeen(record.id, '2026-11-25T11:59:00.000Z');
        expect(await stores.connections.get(record.id)).toMatchObject({ peerSeenAt: '2026-11-25T12:00:00.000Z' });
        await stores.connections.markPeerSeen(record.id, '2026-11-25T12:01:00.000Z');
        expect(await stores.connections.getByPeer(record.peerInstanceId)).toMatchObject({ peerSeenAt: '2026-11-25T12:01:00.000Z' });
        expect(await stores.connections.update({ ...record, peerName: 'Renamed', version: record.version + 1 }, record.version, auditEntry('connection.update'))).toBe(true);
        expect((await stores.connections.list()).find((c) => c.id === record.id)).toMatchObject({ peerName: 'Renamed', peerSeenAt: '2026-11-25T12:01:00.000Z' });
        await stores.connections.markPeerSeen(crypto.randomUUID(), '2026-11-25T12:05:00.000Z');
      });

      it('stores one connection per peer, finds it by id and by peer, and filters by status', async () => {
        const a = await connectionRecord({ createdAt: '2026-11-25T12:00:00.000Z' });
        const b = await connectionRecord({ status: 'ACTIVE', createdAt: '2026-11-25T12:00:01.000Z' });
        await stores.connections.create(a, auditEntry('connection.create'));
        await stores.connections.create(b, auditEntry('connection.create'));
        expect(await stores.connections.get(a.id)).toEqual(a);
        expect(await stores.connections.getByPeer(b.peerInstanceId)).toEqual(b);
        expect(await stores.connections.get(crypto.randomUUID())).toBeUndefined();
        expect((await stores.connections.list()).map((c) => c.id)).toEqual([a.id, b.id]);
        expect((await stores.connections.list({ status: 'ACTIVE' })).map((c) => c.id)).toEqual([b.id]);
        await expect(
          stores.connections.create({ ...(await connectionRecord()), peerInstanceId: a.peerInstanceId }, auditEntry('dup')),
        ).rejects.toThrow();
        expect((await allAudit(stores)).map((e) => e.action)).toEqual(['connection.create', 'connection.create']);
      });

      it('updates only from the expected version, with its audit entry', async () => {
        const record = await connectionRecord();
        await stores.connections.create(record, auditEntry('connection.create'));
        const replacedPeerKeys = [{ kid: record.peerKeys[0]?.kid ?? '', trustedUntil: '2026-11-26T12:00:00.000Z' }];
        const active = { ...record, status: 'ACTIVE' as const, peerUrlVouches: true, replacedPeerKeys, version: 2 };
        expect(await stores.connections.update(active, 1, auditEntry('connection.accept'))).toBe(true);
        expect(await stores.connections.update({ ...record, status: 'REJECTED', version: 2 }, 1, auditEntry('stale'))).toBe(false);
        expect(await stores.connections.get(record.id)).toEqual(active);
        expect((await allAudit(stores)).map((e) => e.action)).toEqual(['connection.accept', 'connection.create']);
      });
    });

    describe('message log (PROTOCOL 2)', () => {
      const now = new Date('2026-11-25T12:00:00Z');
      const later = (seconds: number) => new Date(now.getTime() + seconds * 1000);
      const claim = (hash: string, at = now, issuer = 'hub', jti = 'jti-1') =>
        stores.messageLog.claim({ issuer, jti, hash, now: at, expiresAt: new Date(at.getTime() + 86_400_000) });

      it('claims once; the same content is in progress, then answered; other content conflicts', async () => {
        expect(await claim('h1')).toEqual({ outcome: 'claimed' });
        expect(await claim('h1')).toEqual({ outcome: 'in-progress' });
        expect(await claim('h2')).toEqual({ outcome: 'conflict' });
        await stores.messageLog.complete('hub', 'jti-1', { success: true, data: { agentId: 'a-1' } });
        expect(await claim('h1', later(600))).toEqual({ outcome: 'completed', reply: { success: true, data: { agentId: 'a-1' } } });
        expect(await claim('h2', later(600))).toEqual({ outcome: 'conflict' });
        // Another issuer's jti is its own.
        expect(await claim('h2', now, 'other-hub')).toEqual({ outcome: 'claimed' });
      });

      it('claims an answered message in one step: copies get its answer, other content conflicts', async () => {
        const reply = { success: true as const, data: { status: 'running' } };
        const answered = (hash: string, at = now) =>
          stores.messageLog.claim({ issuer: 'hub', jti: 'jti-1', hash, now: at, expiresAt: new Date(at.getTime() + 86_400_000), reply });
        expect(await answered('h1')).toEqual({ outcome: 'claimed' });
        expect(await claim('h1', later(600))).toEqual({ outcome: 'completed', reply });
        expect(await answered('h1', later(600))).toEqual({ outcome: 'completed', reply });
        expect(await answered('h2', later(600))).toEqual({ outcome: 'conflict' });
        // Answered already: a release (of a claim that failed) never forgets it.
        await stores.messageLog.release('hub', 'jti-1');
        expect(await claim('h1', later(600))).toEqual({ outcome: 'completed', reply });
      });

      it('stores each of many answers given at one moment with its own message', async () => {
        const jtis = Array.from({ length: 5 }, (_, i) => `jti-many-${String(i)}`);
        for (const jti of jtis) expect(await claim('h1', now, 'hub', jti)).toEqual({ outcome: 'claimed' });
        await Promise.all(jtis.map((jti, i) => stores.messageLog.complete('hub', jti, { success: true, data: { n: i } })));
        for (const [i, jti] of jtis.entries()) {
          expect(await claim('h1', later(60), 'hub', jti)).toEqual({ outcome: 'completed', reply: { success: true, data: { n: i } } });
        }
      });

      it('lets exactly one of 20 concurrent claims win', async () => {
        const outcomes = await Promise.all(Array.from({ length: 20 }, () => claim('same')));
        expect(outcomes.filter((o) => o.outcome === 'claimed')).toHaveLength(1);
        expect(outcomes.filter((o) => o.outcome === 'in-progress')).toHaveLength(19);
      });

      it('forgets a released claim but never a completed one, and lets an expired entry be claimed again', async () => {
        await claim('h1');
        await stores.messageLog.release('hub', 'jti-1');
        expect(await claim('h2')).toEqual({ outcome: 'claimed' });
        await stores.messageLog.complete('hub', 'jti-1', { success: false, error: 'nope', code: 'FORBIDDEN' });
        await stores.messageLog.release('hub', 'jti-1');
        expect(await claim('h2', later(60))).toEqual({
          outcome: 'completed',
          reply: { success: false, error: 'nope', code: 'FORBIDDEN' },
        });
        expect(await claim('h3', later(86_400))).toEqual({ outcome: 'claimed' });
      });

      it('prunes entries whose retention ended, as many as a call allows, and never a live one', async () => {
        const reply = { success: true as const, data: null };
        const logged = (jti: string, retentionSeconds: number) =>
          stores.messageLog.claim({ issuer: 'hub', jti, hash: 'h1', now, expiresAt: later(retentionSeconds), reply });
        for (const [jti, seconds] of [['old-1', 10], ['old-2', 20], ['old-3', 30], ['live', 86_400]] as const) {
          expect(await logged(jti, seconds)).toEqual({ outcome: 'claimed' });
        }
        const pruned = [];
        for (let i = 0; i < 3; i++) pruned.push(await stores.messageLog.prune(later(60), 2));
        expect(pruned).toEqual(harness.messageLogExpiresItself === true ? [0, 0, 0] : [2, 1, 0]);
        // The live entry still answers; a pruned jti is new again.
        expect(await claim('h1', later(60), 'hub', 'live')).toEqual({ outcome: 'completed', reply });
        expect(await claim('h2', later(60), 'hub', 'old-2')).toEqual({ outcome: 'claimed' });
      });
    });

    describe('hosted agents', () => {
      it('reserves under the connection limit only, atomically, even when 10 race for 3 places', async () => {
        const results = await Promise.all(Array.from({ length: 10 }, () => stores.hostedAgents.reserve(hosted('c-1'), { connection: 3 })));
        expect(results.filter((r) => r === 'reserved')).toHaveLength(3);
        expect(results.filter((r) => r === 'limit')).toHaveLength(7);
        // Another connection has its own limit; a terminal agent frees its place.
        expect(await stores.hostedAgents.reserve(hosted('c-2'), { connection: 3 })).toBe('reserved');
        const [first] = await stores.hostedAgents.listActive();
        if (first === undefined) throw new Error('none active');
        const again = await stores.hostedAgents.reserve(first, { connection: 3 });
        expect(again).toBe('exists');
        expect(await stores.hostedAgents.updateStatus(first.agentId, { ...first.status, status: 'completed' }, 1)).toBe(true);
        expect(await stores.hostedAgents.reserve(hosted('c-1'), { connection: 3 })).toBe('reserved');
        await stores.hostedAgents.remove(first.agentId);
        expect(await stores.hostedAgents.get(first.agentId)).toBeUndefined();
      });

      it('writes the audit entry of a reservation with it, and none for a refused or repeated one', async () => {
        const audit = (target: string) => ({ id: crypto.randomUUID(), at: '2026-11-25T12:00:00.000Z', actor: { type: 'system' as const, id: 'test' }, action: 'agent.spawn', target, before: null, after: null });
        const first = hosted('c-1');
        expect(await stores.hostedAgents.reserve(first, { connection: 1 }, audit(`agent:${first.agentId}`))).toBe('reserved');
        expect(await stores.hostedAgents.reserve(first, { connection: 1 }, audit('again'))).toBe('exists');
        expect(await stores.hostedAgents.reserve(hosted('c-1'), { connection: 1 }, audit('over'))).toBe('limit');
        expect((await stores.audit.list({ limit: 10, action: 'agent.spawn' })).items.map((entry) => entry.target)).toEqual([`agent:${first.agentId}`]);
      });

      it('keeps each reservation of one moment to its own outcome and audit entry, as one after another would', async () => {
        const audit = (target: string) => ({ id: crypto.randomUUID(), at: '2026-11-25T12:00:00.000Z', actor: { type: 'system' as const, id: 'test' }, action: 'agent.spawn', target, before: null, after: null });
        const [a, b, c] = [hosted('c-1'), hosted('c-1'), hosted('c-1')];
        // Asked together: A, A again, B without an entry, C; two places. Whichever order
        // the store takes them in, each outcome is its own and each entry goes with its own.
        const asked = [
          { record: a, target: `agent:${a.agentId}` },
          { record: a, target: 'again' },
          { record: b, target: undefined },
          { record: c, target: `agent:${c.agentId}` },
        ];
        const outcomes = await Promise.all(asked.map(({ record, target }) => stores.hostedAgents.reserve(record, { connection: 2 }, target === undefined ? undefined : audit(target))));
        expect([...outcomes].sort()).toEqual(['exists', 'limit', 'reserved', 'reserved']);
        const audited = asked.filter(({ target }, i) => target !== undefined && outcomes[i] === 'reserved').map(({ target }) => target);
        expect((await stores.audit.list({ limit: 10, action: 'agent.spawn' })).items.map((entry) => entry.target).sort()).toEqual(audited.sort());
        const held = asked.filter((_, i) => outcomes[i] === 'reserved').map(({ record }) => record.agentId);
        expect((await stores.hostedAgents.getMany([a.agentId, b.agentId, c.agentId])).map((record) => record.agentId).sort()).toEqual(held.sort());
      });

      it('reads many agents in one call: each once, whatever is asked twice or is not there', async () => {
        const [a, b] = [{ ...hosted('c-1'), actor: { userId: 'alice', workspaceId: 'w1' } }, { ...hosted('c-2'), via: 'a2a' as const }];
        for (const record of [a, b]) await stores.hostedAgents.reserve(record, { connection: 10 });
        await stores.hostedAgents.updateStatus(b.agentId, { ...b.status, status: 'running', progress: { turns: 3 } }, 2);
        const many = await stores.hostedAgents.getMany([b.agentId, 'unknown', a.agentId, b.agentId]);
        expect(many.map((record) => record.agentId).sort()).toEqual([a.agentId, b.agentId].sort());
        expect(many.find((record) => record.agentId === a.agentId)).toEqual(await stores.hostedAgents.get(a.agentId));
        expect(many.find((record) => record.agentId === b.agentId)?.status).toMatchObject({ status: 'running', progress: { turns: 3 } });
        expect(many.find((record) => record.agentId === b.agentId)).toEqual(await stores.hostedAgents.get(b.agentId));
        expect(many.find((record) => record.agentId === b.agentId)).toMatchObject({ via: 'a2a', sequence: 2 });
        expect(await stores.hostedAgents.getMany([])).toEqual([]);
        const fiveHundred: string[] = [...Array.from({ length: 499 }, () => crypto.randomUUID()), a.agentId];
        expect((await stores.hostedAgents.getMany(fiveHundred)).map((record) => record.agentId)).toEqual([a.agentId]);
      });

      it('stores the outbox entries of a status with it, and none for a status it ignores', async () => {
        const record = hosted('c-1');
        await stores.hostedAgents.reserve(record, { connection: 10 });
        const tell = [outboxEntry({ orderKey: 'agent:x', createdAt: 1 }), outboxEntry({ orderKey: 'push:x', createdAt: 2 })];
        expect(await stores.hostedAgents.updateStatus(record.agentId, { ...record.status, status: 'running' }, 2, tell)).toBe(true);
        // A stale status, and one of an unknown agent: nothing written, nothing told.
        expect(await stores.hostedAgents.updateStatus(record.agentId, record.status, 1, [outboxEntry({ orderKey: 'stale' })])).toBe(false);
        expect(await stores.hostedAgents.updateStatus('nobody', record.status, 5, [outboxEntry({ orderKey: 'unknown' })])).toBe(false);
        const due = await stores.outbox.due(10_000, 10);
        expect(due.map((entry) => entry.orderKey).sort()).toEqual(['agent:x', 'push:x']);
        expect(due.find((entry) => entry.orderKey === 'agent:x')).toEqual(tell[0]);
      });

      it("writes one agent's statuses of one moment as one after another would: newer ones with their entries, in order, an older one not", async () => {
        const [record, other] = [hosted('c-1'), hosted('c-1')];
        for (const each of [record, other]) await stores.hostedAgents.reserve(each, { connection: 10 });
        const entry = (orderKey: string, tag: string) => outboxEntry({ orderKey, payload: { tag } });
        const written = await Promise.all([
          stores.hostedAgents.updateStatus(record.agentId, { ...record.status, status: 'running' }, 2, [entry('r', 'running')]),
          stores.hostedAgents.updateStatus(other.agentId, { ...other.status, status: 'running' }, 2, [entry('o', 'other')]),
          stores.hostedAgents.updateStatus(record.agentId, { ...record.status, status: 'completed' }, 4, [entry('r', 'completed'), entry('r', 'push')]),
          // Older than the one before it: nothing written, nothing told.
          stores.hostedAgents.updateStatus(record.agentId, { ...record.status, status: 'failed' }, 3, [entry('stale', 'stale')]),
        ]);
        expect(written).toEqual([true, true, true, false]);
        expect(await stores.hostedAgents.get(record.agentId)).toMatchObject({ sequence: 4, status: { status: 'completed' } });
        expect(await stores.hostedAgents.get(other.agentId)).toMatchObject({ sequence: 2, status: { status: 'running' } });
        // An order's entries go out one at a time, in the order they were stored.
        const delivered: unknown[] = [];
        for (let head = await stores.outbox.due(10_000, 10); head.length > 0; head = await stores.outbox.due(10_000, 10)) {
          for (const each of head) {
            delivered.push(each.payload);
            await stores.outbox.markDelivered(each.id, 2_000);
          }
        }
        expect(delivered.filter((payload) => payload !== undefined)).toHaveLength(4);
        expect(delivered).toEqual(expect.arrayContaining([{ tag: 'other' }]));
        expect(delivered.filter((payload) => ['running', 'completed', 'push'].includes((payload as { tag: string }).tag))).toEqual([{ tag: 'running' }, { tag: 'completed' }, { tag: 'push' }]);
      });

      it("keeps the owner's user and workspace, counts each workspace against its own limit, and lists one workspace's agents", async () => {
        const forW1 = (createdAt?: string) => ({ ...hosted('c-1', {}, createdAt), actor: { userId: 'alice', workspaceId: 'w1' } });
        const forW2 = { ...hosted('c-1'), actor: { userId: 'bob', workspaceId: 'w2' } };
        const raced = await Promise.all(Array.from({ length: 5 }, (_, i) => stores.hostedAgents.reserve(forW1(`2026-11-25T12:00:0${i}.000Z`), { connection: 10, workspace: 2 })));
        expect(raced.filter((r) => r === 'reserved')).toHaveLength(2);
        expect(raced.filter((r) => r === 'workspace-limit')).toHaveLength(3);
        // Another workspace, and the peer itself (no workspace), have places of their own.
        expect(await stores.hostedAgents.reserve(forW2, { connection: 10, workspace: 2 })).toBe('reserved');
        expect(await stores.hostedAgents.reserve(hosted('c-1'), { connection: 10 })).toBe('reserved');
        const anotherW2 = () => ({ ...hosted('c-1'), actor: { userId: 'bob', workspaceId: 'w2' } });
        expect(await stores.hostedAgents.reserve(anotherW2(), { connection: 10, workspace: 1 })).toBe('workspace-limit');
        // The connection's limit met as well: it is the one named.
        expect(await stores.hostedAgents.reserve(anotherW2(), { connection: 4, workspace: 1 })).toBe('limit');

        expect((await stores.hostedAgents.get(forW2.agentId))?.actor).toEqual({ userId: 'bob', workspaceId: 'w2' });
        const w1 = await stores.hostedAgents.list({ ownerInstanceId: 'owner-a', workspaceId: 'w1', limit: 10 });
        expect(w1.agents).toHaveLength(2);
        expect(w1.agents.every((agent) => agent.actor?.userId === 'alice')).toBe(true);
        expect((await stores.hostedAgents.list({ ownerInstanceId: 'owner-a', workspaceId: 'w2', limit: 10 })).agents.map((a) => a.agentId)).toEqual([forW2.agentId]);
        expect((await stores.hostedAgents.list({ ownerInstanceId: 'owner-a', limit: 10 })).agents).toHaveLength(4);
      });

      it('keeps only newer statuses and lists an owner\'s agents by filter and page', async () => {
        const a = hosted('c-1', { taskId: 'x' }, '2026-11-25T12:00:01.000Z');
        const b = hosted('c-1', { taskId: 'y' }, '2026-11-25T12:00:02.000Z');
        const c = hosted('c-1', { taskId: 'x' }, '2026-11-25T12:00:03.000Z');
        const foreign = { ...hosted('c-9'), ownerInstanceId: 'owner-b' };
        for (const record of [a, b, c, foreign]) await stores.hostedAgents.reserve(record, { connection: 10 });
        expect(await stores.hostedAgents.updateStatus(a.agentId, { ...a.status, status: 'running' }, 2)).toBe(true);
        expect(await stores.hostedAgents.updateStatus(a.agentId, { ...a.status, status: 'spawning' }, 1)).toBe(false);
        expect((await stores.hostedAgents.get(a.agentId))?.status.status).toBe('running');

        const first = await stores.hostedAgents.list({ ownerInstanceId: 'owner-a', limit: 2 });
        expect(first.agents.map((r) => r.agentId)).toEqual([a.agentId, b.agentId]);
        const second = await stores.hostedAgents.list({ ownerInstanceId: 'owner-a', limit: 2, cursor: first.nextCursor ?? undefined });
        expect(second.agents.map((r) => r.agentId)).toEqual([c.agentId]);
        expect(second.nextCursor).toBeNull();
        expect((await stores.hostedAgents.list({ ownerInstanceId: 'owner-a', limit: 10, taskId: 'x' })).agents).toHaveLength(2);
        expect((await stores.hostedAgents.list({ ownerInstanceId: 'owner-a', limit: 10, status: 'running' })).agents.map((r) => r.agentId)).toEqual([a.agentId]);
        expect((await stores.hostedAgents.list({ ownerInstanceId: 'owner-a', limit: 10, cursor: 'garbage' })).agents).toEqual([]);
        expect((await stores.hostedAgents.list({ limit: 10 })).agents).toHaveLength(4);
        // The count of a list counts every page, with the same filters.
        expect(await stores.hostedAgents.count({ ownerInstanceId: 'owner-a' })).toBe(3);
        expect(await stores.hostedAgents.count({ ownerInstanceId: 'owner-a', taskId: 'x' })).toBe(2);
        expect(await stores.hostedAgents.count({ ownerInstanceId: 'owner-a', status: 'running' })).toBe(1);
        expect(await stores.hostedAgents.count({ ownerInstanceId: 'owner-c' })).toBe(0);
        expect(await stores.hostedAgents.count({})).toBe(4);
      });

      it("keeps which agents an A2A client started", async () => {
        const peers = hosted('c-1');
        const client = { ...hosted('client-1'), ownerInstanceId: 'client-1', via: 'a2a' as const };
        for (const record of [peers, client]) await stores.hostedAgents.reserve(record, { connection: 10 });
        expect(await stores.hostedAgents.get(client.agentId)).toEqual(client);
        expect(await stores.hostedAgents.get(peers.agentId)).not.toHaveProperty('via');
        expect((await stores.hostedAgents.list({ ownerInstanceId: 'client-1', limit: 10 })).agents).toEqual([client]);
      });

      it('lists newest first by connection and agent type, paging backwards in time', async () => {
        const a = hosted('c-1', { agentType: 'worker' }, '2026-11-25T12:00:01.000Z');
        const b = hosted('c-2', { agentType: 'tester' }, '2026-11-25T12:00:02.000Z');
        const c = hosted('c-1', { agentType: 'tester' }, '2026-11-25T12:00:03.000Z');
        for (const record of [a, b, c]) await stores.hostedAgents.reserve(record, { connection: 10 });
        const first = await stores.hostedAgents.list({ limit: 2, newestFirst: true });
        expect(first.agents.map((r) => r.agentId)).toEqual([c.agentId, b.agentId]);
        const second = await stores.hostedAgents.list({ limit: 2, newestFirst: true, cursor: first.nextCursor ?? undefined });
        expect(second).toEqual({ agents: [expect.objectContaining({ agentId: a.agentId })], nextCursor: null });
        expect((await stores.hostedAgents.list({ limit: 10, connectionId: 'c-1' })).agents.map((r) => r.agentId)).toEqual([a.agentId, c.agentId]);
        expect((await stores.hostedAgents.list({ limit: 10, agentType: 'tester', newestFirst: true })).agents.map((r) => r.agentId)).toEqual([c.agentId, b.agentId]);
      });
    });

    describe('remote agents', () => {
      it("keeps the owner of an agent and lists only the agents of the workspaces asked for", async () => {
        const mine = { ...remote('2026-11-25T12:00:01.000Z'), owner: { userId: 'alice', workspaceId: 'w1' } };
        const theirs = { ...remote('2026-11-25T12:00:02.000Z'), owner: { userId: 'bob', workspaceId: 'w2' } };
        const instances = remote('2026-11-25T12:00:03.000Z');
        for (const record of [mine, theirs, instances]) await stores.remoteAgents.create(record);
        expect((await stores.remoteAgents.get(mine.agentId))?.owner).toEqual({ userId: 'alice', workspaceId: 'w1' });
        expect(await stores.remoteAgents.get(instances.agentId)).not.toHaveProperty('owner');
        const ids = async (workspaceIds?: string[]) => (await stores.remoteAgents.list({ limit: 10, workspaceIds })).agents.map((a) => a.agentId);
        expect(await ids(['w1'])).toEqual([mine.agentId]);
        expect(await ids(['w1', 'w2'])).toEqual([mine.agentId, theirs.agentId]);
        expect(await ids([])).toEqual([]);
        expect(await ids()).toEqual([mine.agentId, theirs.agentId, instances.agentId]);
      });

      it('applies each sequence once and in order, and replays events after a sequence', async () => {
        const record = remote();
        await stores.remoteAgents.create(record);
        await stores.remoteAgents.create({ ...record, taskId: 'other' });
        expect((await stores.remoteAgents.get(record.agentId))?.taskId).toBe(record.taskId);
        const event = (sequence: number, status: AgentStatus['status']) => ({ ...record.status, status, sequence });
        expect(await stores.remoteAgents.applyEvent(record.agentId, event(1, 'spawning'))).toBe('applied');
        expect(await stores.remoteAgents.applyEvent(record.agentId, event(3, 'completed'))).toBe('applied');
        expect(await stores.remoteAgents.applyEvent(record.agentId, event(2, 'running'))).toBe('stale');
        expect(await stores.remoteAgents.applyEvent(record.agentId, event(3, 'completed'))).toBe('stale');
        expect(await stores.remoteAgents.applyEvent(crypto.randomUUID(), event(1, 'running'))).toBe('stale');
        expect((await stores.remoteAgents.get(record.agentId))?.status.status).toBe('completed');
        expect((await stores.remoteAgents.events(record.agentId, 0)).map((e) => e.sequence)).toEqual([1, 3]);
        expect((await stores.remoteAgents.events(record.agentId, 1)).map((e) => e.sequence)).toEqual([3]);
      });

      it('never changes a terminal status: not by a later event, nor by a refresh (PROTOCOL 5)', async () => {
        const record = remote();
        await stores.remoteAgents.create(record);
        const event = (sequence: number, status: AgentStatus['status']) => ({ ...record.status, status, sequence });
        expect(await stores.remoteAgents.applyEvent(record.agentId, { ...event(1, 'completed'), result: { summary: 'done' } })).toBe('applied');
        expect(await stores.remoteAgents.applyEvent(record.agentId, event(2, 'running'))).toBe('terminal');
        expect(await stores.remoteAgents.applyEvent(record.agentId, { ...event(3, 'completed'), result: { summary: 'replaced' } })).toBe('terminal');
        await stores.remoteAgents.refreshStatuses([{ ...record.status, status: 'failed', error: 'late' }]);
        const stored = await stores.remoteAgents.get(record.agentId);
        expect(stored?.status).toMatchObject({ status: 'completed', result: { summary: 'done' } });
        expect(stored?.sequence).toBe(1);
        expect((await stores.remoteAgents.events(record.agentId, 0)).map((e) => e.sequence)).toEqual([1]);
      });

      it('reads many agents in one call, and refreshes many in one, each unless it has ended', async () => {
        const [a, b, ended] = [remote('2026-11-25T12:00:01.000Z'), remote('2026-11-25T12:00:02.000Z'), remote('2026-11-25T12:00:03.000Z')];
        for (const record of [a, b, ended]) await stores.remoteAgents.create(record);
        expect(await stores.remoteAgents.applyEvent(ended.agentId, { ...ended.status, status: 'completed', sequence: 1 })).toBe('applied');
        const many = await stores.remoteAgents.getMany([b.agentId, 'unknown', a.agentId, b.agentId]);
        expect(many.map((record) => record.agentId).sort()).toEqual([a.agentId, b.agentId].sort());
        expect(await stores.remoteAgents.getMany([])).toEqual([]);
        await stores.remoteAgents.refreshStatuses([
          { ...a.status, status: 'running', progress: { turns: 2 } },
          { ...ended.status, status: 'failed', error: 'late' },
          { ...b.status, agentId: 'unknown', status: 'running' },
        ]);
        expect((await stores.remoteAgents.get(a.agentId))?.status).toMatchObject({ status: 'running', progress: { turns: 2 } });
        expect((await stores.remoteAgents.get(b.agentId))?.status.status).toBe('spawning');
        expect((await stores.remoteAgents.get(ended.agentId))?.status.status).toBe('completed');
        await stores.remoteAgents.refreshStatuses([]);
      });

      it('pages oldest first', async () => {
        const records = [remote('2026-11-25T12:00:01.000Z'), remote('2026-11-25T12:00:02.000Z'), remote('2026-11-25T12:00:03.000Z')];
        for (const record of records) await stores.remoteAgents.create(record);
        const first = await stores.remoteAgents.list({ limit: 2 });
        const second = await stores.remoteAgents.list({ limit: 2, cursor: first.nextCursor ?? undefined });
        expect([...first.agents, ...second.agents].map((a) => a.agentId)).toEqual(records.map((r) => r.agentId));
      });

      it('lists newest first, kept to the connection, state, agent type and task asked for', async () => {
        const a = remote('2026-11-25T12:00:01.000Z', { taskId: 'fix-login', agentType: 'worker' });
        const b = remote('2026-11-25T12:00:02.000Z', { taskId: 'review-login', agentType: 'reviewer' }, 'conn-2');
        const c = remote('2026-11-25T12:00:03.000Z', { taskId: 'fix-login', agentType: 'worker' });
        for (const record of [a, b, c]) await stores.remoteAgents.create(record);
        expect(await stores.remoteAgents.applyEvent(c.agentId, { ...c.status, status: 'failed', error: 'no', sequence: 1 })).toBe('applied');
        const ids = async (query: Parameters<typeof stores.remoteAgents.list>[0]) => (await stores.remoteAgents.list(query)).agents.map((r) => r.agentId);
        const first = await stores.remoteAgents.list({ limit: 2, newestFirst: true });
        expect(first.agents.map((r) => r.agentId)).toEqual([c.agentId, b.agentId]);
        expect(await ids({ limit: 2, newestFirst: true, cursor: first.nextCursor ?? undefined })).toEqual([a.agentId]);
        expect(await ids({ limit: 10, connectionId: 'conn-2' })).toEqual([b.agentId]);
        expect(await ids({ limit: 10, status: 'failed' })).toEqual([c.agentId]);
        expect(await ids({ limit: 10, status: 'spawning', taskId: 'fix-login' })).toEqual([a.agentId]);
        expect(await ids({ limit: 10, agentType: 'reviewer' })).toEqual([b.agentId]);
        expect(await ids({ limit: 10, newestFirst: true, cursor: 'garbage' })).toEqual([]);
      });
    });

    describe('deliveries', () => {
      const delivery = (agentId: string, overrides: Partial<DeliveryRecord> = {}): DeliveryRecord => ({
        agentId,
        request: { branch: 'agent/fix', pullRequest: true },
        repository: 'git.example.com/org/repo',
        baseBranch: 'main',
        taskId: 'task-1',
        state: 'waiting',
        attempts: 0,
        nextAttemptAt: 0,
        commit: null,
        pullRequest: null,
        error: null,
        createdAt: '2026-11-25T12:00:00.000Z',
        updatedAt: '2026-11-25T12:00:00.000Z',
        ...overrides,
      });
      const ended = async () => {
        const record = remote();
        await stores.remoteAgents.create(record);
        await stores.remoteAgents.applyEvent(record.agentId, { ...record.status, status: 'completed', sequence: 1 });
        return record.agentId;
      };

      it('are due once their agent has ended and their time has come, and take outcomes only while waiting', async () => {
        const running = remote();
        await stores.remoteAgents.create(running);
        const [done, later, settled] = [await ended(), await ended(), await ended()];
        await stores.deliveries.create(delivery(running.agentId));
        await stores.deliveries.create(delivery(done, { nextAttemptAt: 1_000 }));
        await stores.deliveries.create(delivery(done, { taskId: 'another' }));
        await stores.deliveries.create(delivery(later, { nextAttemptAt: 5_000 }));
        await stores.deliveries.create(delivery(settled, { state: 'delivered', commit: 'c'.repeat(40) }));
        expect(await stores.deliveries.get(done)).toEqual(delivery(done, { nextAttemptAt: 1_000 }));
        expect((await stores.deliveries.due(2_000, 10)).map((d) => d.agentId)).toEqual([done]);
        expect((await stores.deliveries.due(6_000, 10)).map((d) => d.agentId)).toEqual([done, later]);
        expect(await stores.deliveries.due(6_000, 1)).toHaveLength(1);

        const outcome = { state: 'delivered' as const, attempts: 1, nextAttemptAt: 1_000, commit: 'a'.repeat(40), pullRequest: { number: 7, url: 'https://git.example.com/org/repo/pulls/7' }, error: null, updatedAt: '2026-11-25T12:01:00.000Z' };
        expect(await stores.deliveries.update(done, outcome)).toBe(true);
        expect(await stores.deliveries.get(done)).toMatchObject(outcome);
        // Settled: no later outcome changes it, and it is due no more.
        expect(await stores.deliveries.update(done, { ...outcome, state: 'failed', error: 'late' })).toBe(false);
        expect(await stores.deliveries.update(settled, outcome)).toBe(false);
        expect(await stores.deliveries.update(crypto.randomUUID(), outcome)).toBe(false);
        expect((await stores.deliveries.due(6_000, 10)).map((d) => d.agentId)).toEqual([later]);
        expect(await stores.deliveries.get(crypto.randomUUID())).toBeUndefined();
      });
    });

    describe('spawn requests (PROTOCOL 6)', () => {
      const request = (createdAt: string, overrides: Partial<SpawnRequestRecord> = {}): SpawnRequestRecord => ({
        idempotencyKey: crypto.randomUUID(),
        jti: crypto.randomUUID(),
        connectionId: crypto.randomUUID(),
        payload: {
          taskId: 'task-1',
          agentType: 'worker',
          context: { repository: 'git.example.com/org/repo', branch: 'main', workItems: ['a'], instructions: 'Fix it.' },
          options: { timeout: 3_600_000, maxRetries: 0 },
        },
        deliver: null,
        requestHash: 'hash-1',
        actor: { type: 'admin-token', id: 'token-1' },
        owner: null,
        createdAt,
        response: null,
        ...overrides,
      });

      it('keeps what a request asks the hub to deliver', async () => {
        const deliver = { branch: 'agent/fix-add', pullRequest: { title: 'Fix add', base: 'main' } };
        const asked = request('2026-11-25T12:00:00.000Z', { deliver });
        expect(await stores.spawnRequests.begin(asked)).toEqual(asked);
        expect((await stores.spawnRequests.unanswered('2026-11-25T12:00:01.000Z', 500)).find((r) => r.idempotencyKey === asked.idempotencyKey)?.deliver).toEqual(deliver);
      });

      it("keeps the user and workspace a request is for", async () => {
        const owned = request('2026-11-25T12:00:00.000Z', { owner: { userId: 'alice', workspaceId: 'w1' } });
        expect(await stores.spawnRequests.begin(owned)).toEqual(owned);
        expect((await stores.spawnRequests.unanswered('2026-11-25T12:00:01.000Z', 500)).find((r) => r.idempotencyKey === owned.idempotencyKey)?.owner).toEqual({ userId: 'alice', workspaceId: 'w1' });
      });

      it('keeps the first request under a key, and its answer', async () => {
        const first = request('2026-11-25T12:00:00.000Z');
        expect(await stores.spawnRequests.begin(first)).toEqual(first);
        const again = await stores.spawnRequests.begin({ ...first, jti: crypto.randomUUID(), requestHash: 'hash-2' });
        expect(again).toEqual(first);
        const response = { agentId: crypto.randomUUID(), state: 'spawning' as const, spawnedAt: '2026-11-25T12:00:01.000Z' };
        await stores.spawnRequests.answer(first.idempotencyKey, response);
        expect(await stores.spawnRequests.begin(request('2026-11-25T12:00:05.000Z', { idempotencyKey: first.idempotencyKey }))).toEqual({ ...first, response });
      });

      it('lists unanswered requests oldest first, forgets refused ones, and prunes old ones', async () => {
        const old = request('2026-11-25T11:00:00.000Z');
        const answered = request('2026-11-25T11:30:00.000Z');
        const recent = request('2026-11-25T12:00:00.000Z');
        for (const record of [recent, answered, old]) await stores.spawnRequests.begin(record);
        await stores.spawnRequests.answer(answered.idempotencyKey, { agentId: crypto.randomUUID(), state: 'spawning', spawnedAt: '2026-11-25T11:30:01.000Z' });
        const keys = async (before: string) => (await stores.spawnRequests.unanswered(before, 10)).map((r) => r.idempotencyKey);
        expect(await keys('2026-11-25T13:00:00.000Z')).toEqual([old.idempotencyKey, recent.idempotencyKey]);
        expect(await keys('2026-11-25T12:00:00.000Z')).toEqual([old.idempotencyKey]);
        await stores.spawnRequests.forget(recent.idempotencyKey);
        expect(await keys('2026-11-25T13:00:00.000Z')).toEqual([old.idempotencyKey]);
        expect(await stores.spawnRequests.prune('2026-11-25T11:45:00.000Z', 1)).toBe(1);
        expect(await stores.spawnRequests.prune('2026-11-25T11:45:00.000Z', 10)).toBe(1);
        expect(await keys('2026-11-25T13:00:00.000Z')).toEqual([]);
        // Pruned, a key starts a new request.
        expect((await stores.spawnRequests.begin({ ...answered, jti: 'new' })).jti).toBe('new');
      });
    });

    describe('outbox', () => {
      it('says what waits: pending entries, those retried, and the oldest', async () => {
        expect(await stores.outbox.backlog(100)).toEqual({ pending: 0, retrying: 0, oldestCreatedAt: null });
        const delivered = outboxEntry({ createdAt: 5 });
        const givenUp = outboxEntry({ createdAt: 6, giveUpAt: 50 });
        const retried = outboxEntry({ createdAt: 20 });
        const fresh = outboxEntry({ createdAt: 30 });
        for (const entry of [delivered, givenUp, retried, fresh]) await stores.outbox.enqueue(entry);
        await stores.outbox.markDelivered(delivered.id, 7);
        await stores.outbox.reschedule(retried.id, 2, 500, 'the peer did not answer');
        expect(await stores.outbox.backlog(100)).toEqual({ pending: 2, retrying: 1, oldestCreatedAt: 20 });
        expect(await stores.outbox.backlog(10)).toEqual({ pending: 3, retrying: 1, oldestCreatedAt: 6 });
      });

      it('hands out due entries oldest first, until delivered or given up', async () => {
        const a = outboxEntry({ createdAt: 1, nextAttemptAt: 10 });
        const b = outboxEntry({ createdAt: 2, nextAttemptAt: 50 });
        const c = outboxEntry({ createdAt: 3, nextAttemptAt: 10, giveUpAt: 20 });
        for (const entry of [a, b, c]) await stores.outbox.enqueue(entry);
        await stores.outbox.enqueue({ ...a, payload: 'changed' });
        expect((await stores.outbox.due(15, 10)).map((e) => e.id)).toEqual([a.id, c.id]);
        expect((await stores.outbox.due(15, 10))[0]?.payload).toEqual({ n: 1 });
        expect((await stores.outbox.due(60, 10)).map((e) => e.id)).toEqual([a.id, b.id]);
        await stores.outbox.reschedule(a.id, 1, 100, 'peer unreachable');
        await stores.outbox.markDelivered(b.id, 60);
        expect((await stores.outbox.due(60, 10)).map((e) => e.id)).toEqual([]);
        const [retried] = await stores.outbox.due(100, 10);
        expect(retried).toMatchObject({ id: a.id, attempts: 1, lastError: 'peer unreachable' });
      });

      it('hands out only the earliest pending entry of each order, until it is delivered or given up (PROTOCOL 5)', async () => {
        const first = outboxEntry({ orderKey: 'agent:a', createdAt: 1, nextAttemptAt: 50 });
        const second = outboxEntry({ orderKey: 'agent:a', createdAt: 2, nextAttemptAt: 2 });
        const third = outboxEntry({ orderKey: 'agent:a', createdAt: 2, nextAttemptAt: 2 });
        const other = outboxEntry({ orderKey: 'agent:b', createdAt: 3, nextAttemptAt: 3 });
        const free = outboxEntry({ createdAt: 4, nextAttemptAt: 4 });
        for (const entry of [first, second, third, other, free]) await stores.outbox.enqueue(entry);
        // The first of agent a is backing off: nothing after it goes, the others do.
        expect((await stores.outbox.due(10, 10)).map((e) => e.id)).toEqual([other.id, free.id]);
        expect((await stores.outbox.due(50, 10)).map((e) => e.id)).toEqual([first.id, other.id, free.id]);
        await stores.outbox.markDelivered(first.id, 50);
        expect((await stores.outbox.due(50, 10)).map((e) => e.id)).toEqual([second.id, other.id, free.id]);
        // Given up at once (a final refusal): the next of its order is due.
        await stores.outbox.reschedule(second.id, 1, 50, 'refused', 50);
        expect((await stores.outbox.due(50, 10)).map((e) => e.id)).toEqual([third.id, other.id, free.id]);
      });

      it('hands out entries of the same millisecond in the order they were stored, whatever their ids', async () => {
        const ids = ['f0', 'a1', 'c2', '03', 'e4'].map((tail) => `00000000-0000-4000-8000-0000000000${tail}`);
        for (const id of ids) await stores.outbox.enqueue(outboxEntry({ id, createdAt: 5, nextAttemptAt: 5 }));
        expect((await stores.outbox.due(10, 10)).map((e) => e.id)).toEqual(ids);
      });

      it('prunes entries that are delivered or given up, as many as a call allows, and never a pending one', async () => {
        const delivered = outboxEntry({ createdAt: 1, nextAttemptAt: 1 });
        const givenUp = outboxEntry({ createdAt: 2, nextAttemptAt: 2, giveUpAt: 20 });
        const pending = outboxEntry({ createdAt: 3, nextAttemptAt: 3, giveUpAt: 1_000 });
        const later = outboxEntry({ createdAt: 4, nextAttemptAt: 4, giveUpAt: 1_000 });
        for (const entry of [delivered, givenUp, pending, later]) await stores.outbox.enqueue(entry);
        await stores.outbox.markDelivered(delivered.id, 5);
        await stores.outbox.markDelivered(later.id, 6);
        // At 10 the second entry still has time: only the delivered ones go.
        expect(await stores.outbox.prune(10, 1)).toBe(1);
        expect(await stores.outbox.prune(10, 5)).toBe(1);
        expect(await stores.outbox.prune(10, 5)).toBe(0);
        expect((await stores.outbox.due(10, 10)).map((e) => e.id)).toEqual([givenUp.id, pending.id]);
        expect(await stores.outbox.prune(30, 5)).toBe(1);
        expect((await stores.outbox.due(30, 10)).map((e) => e.id)).toEqual([pending.id]);
        // A pruned entry's id may be enqueued again, as a new entry.
        await stores.outbox.enqueue({ ...delivered, nextAttemptAt: 30 });
        expect((await stores.outbox.due(30, 10)).map((e) => e.id)).toEqual([delivered.id, pending.id]);
      });
    });
  });
}
