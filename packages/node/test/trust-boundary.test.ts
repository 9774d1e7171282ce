import { createServer } from 'node:http';
import { connect as connectTcp, type AddressInfo } from 'node:net';
import {
  generateKeyPair,
  importSigningKey,
  PROTOCOL_VERSION,
  type AgentStatus,
  type AgentStatusChangedPayload,
  type Connection,
  type InstanceDocument,
  type KeyResolver,
  type OutgoingMessage,
  type PublicJwk,
  type SigningKey,
} from '@mosaic-fed/core';
import { AdminClient, pinnedKeys, sendMessage } from '@mosaic-fed/sdk';
import { CompactSign, type JWTPayload } from 'jose';
import { describe, expect, it } from 'vitest';
import { createAdminToken, type MessageBody, silentLogger } from '@mosaic-fed/server';
import { startServer } from '../src/index.js';
import { allAudit, createClock } from '../../server/test/helpers.js';
import { connectPeers, destroyedAfterEachTest, eventually, spawnPayload, type Peer } from './peers.js';

// The federation trust boundary, tried as an attacker would, against real instances on
// loopback: who becomes a peer, which keys are trusted, what a peer may rewrite, and what
// malformed or slow input costs.
const { peer, track } = destroyedAfterEachTest();

async function keysOf(target: Peer): Promise<KeyResolver> {
  return pinnedKeys(target.instanceId, (await target.server.federation.instance.load()).keys.map((k) => k.publicJwk));
}

/** A newcomer with a fresh identity that claims whatever document it likes. */
async function stranger(claims: Partial<InstanceDocument> = {}) {
  const { publicJwk, privateJwk } = await generateKeyPair();
  const signingKey = await importSigningKey(privateJwk);
  const instanceId = claims.instanceId ?? crypto.randomUUID();
  const document: InstanceDocument = {
    protocol: PROTOCOL_VERSION,
    instanceId,
    name: 'Stranger',
    url: 'https://stranger.example.com',
    capabilities: {
      supportsQuery: true,
      supportsCommand: true,
      supportsEvent: true,
      supportsAgentSpawn: true,
      agentTypes: ['worker'],
      maxConcurrentAgents: 1,
    },
    metadata: {},
    keys: [publicJwk],
    keyRotations: [],
    ...claims,
  };
  const send = async (to: Peer, body: MessageBody, key: SigningKey = signingKey) =>
    sendMessage({ ...body, iss: instanceId, aud: to.instanceId } as OutgoingMessage, {
      url: to.url,
      selfId: instanceId,
      signingKey: key,
      resolveKey: await keysOf(to),
      retries: 0,
    });
  return { instanceId, publicJwk, signingKey, document, send };
}

async function connectionWith(at: Peer, peerInstanceId: string): Promise<Connection | undefined> {
  const list = await at.api<Connection[]>('/api/v1/federation/connections');
  return list.body.data.find((c) => c.peerInstanceId === peerInstanceId);
}

/**
 * Signs claims as they are, past the sender-side schema: how an attacker's peer would.
 * `json` is spliced into the claims text as `"extra"`, for JSON no serialiser would write.
 */
function signRaw(claims: JWTPayload, key: SigningKey, json?: string): Promise<string> {
  const iat = Math.floor(Date.now() / 1000);
  let text = JSON.stringify({ jti: crypto.randomUUID(), iat, exp: iat + 60, ...claims });
  if (json !== undefined) text = `${text.slice(0, -1)},"extra":${json}}`;
  return new CompactSign(new TextEncoder().encode(text))
    .setProtectedHeader({ alg: 'EdDSA', typ: 'mosaic-fed+jwt', kid: key.kid })
    .sign(key.privateKey);
}

/** A server on loopback that serves an instance document made for its own URL. */
async function serveDocument(document: (url: string) => InstanceDocument) {
  let hits = 0;
  let url = '';
  const server = createServer((_request, response) => {
    hits++;
    response.setHeader('Content-Type', 'application/json');
    response.end(JSON.stringify(document(url)));
  });
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  track({ destroy: () => new Promise<void>((done) => server.close(() => done())) });
  return { url, hits: () => hits };
}

function post(to: Peer, endpoint: string, token: string) {
  return fetch(`${to.url}/api/v1/federation/incoming/${endpoint}`, { method: 'POST', headers: { 'Content-Type': 'application/jwt' }, body: token });
}

describe('auto-accept needs the claimed URL to vouch (PROTOCOL 3)', () => {
  it('a newcomer claiming the allowlisted URL waits as PENDING and cannot spawn; the real instance there is ACTIVE', async () => {
    const hub = await peer({ name: 'Hub' });
    const spoke = await peer({ name: 'Spoke', autoAcceptUrls: [hub.url] });
    const impostor = await stranger({ url: hub.url });

    const reply = await impostor.send(spoke, { kind: 'CONNECT', payload: impostor.document });
    expect(reply).toEqual({ status: 'PENDING' });
    expect(await connectionWith(spoke, impostor.instanceId)).toMatchObject({ status: 'PENDING', peerUrl: hub.url, peerUrlVouches: false });
    await expect(
      impostor.send(spoke, { kind: 'COMMAND', commandType: 'agent.spawn', payload: spawnPayload('stolen') }),
    ).rejects.toMatchObject({ code: 'CONNECTION_NOT_ACTIVE' });
    expect(spoke.orchestrator.spawnCalls).toBe(0);

    await connectPeers(hub, spoke);
    expect(await connectionWith(spoke, hub.instanceId)).toMatchObject({ status: 'ACTIVE', peerUrlVouches: true });
    expect(await connectionWith(hub, spoke.instanceId)).toMatchObject({ status: 'ACTIVE', peerUrlVouches: true });
  });

  it('accepts by instance id and by the thumbprint of the key that signed, never by a key only listed', async () => {
    const hub = await peer({ name: 'Hub' });
    const hubKid = (await hub.server.federation.instance.load()).keys[0]?.publicJwk.kid ?? '';
    const byId = await peer({ name: 'By id', federation: { autoAcceptInstanceIds: [hub.instanceId] } });
    const byKey = await peer({ name: 'By key', federation: { autoAcceptKeys: [hubKid] } });
    for (const spoke of [byId, byKey]) {
      const asked = await hub.api<Connection>('/api/v1/federation/connections', { body: { url: spoke.url } });
      expect(asked.body.data.status).toBe('ACTIVE');
    }

    // A newcomer whose document lists the hub's public key beside its own, served at its
    // own URL: the URL vouches for it, but the CONNECT is signed by the newcomer's key.
    const { publicJwk: hubJwk } = (await hub.server.federation.instance.load()).keys[0] as { publicJwk: PublicJwk };
    const impostor = await stranger();
    const site = await serveDocument((url) => ({ ...impostor.document, url, keys: [impostor.publicJwk, hubJwk] }));
    const reply = await impostor.send(byKey, { kind: 'CONNECT', payload: { ...impostor.document, url: site.url, keys: [impostor.publicJwk, hubJwk] } });
    expect(reply).toEqual({ status: 'PENDING' });
    expect(site.hits()).toBe(1);
    expect(await connectionWith(byKey, impostor.instanceId)).toMatchObject({ status: 'PENDING', peerUrlVouches: true });
  });

  it('a CONNECT whose URL answers with another instance is PENDING and shown as not vouched for', async () => {
    const spoke = await peer({ name: 'Spoke' });
    const elsewhere = await peer({ name: 'Elsewhere' });
    const impostor = await stranger({ url: elsewhere.url });
    await impostor.send(spoke, { kind: 'CONNECT', payload: impostor.document });
    expect(await connectionWith(spoke, impostor.instanceId)).toMatchObject({ status: 'PENDING', peerUrlVouches: false });
  });
});

describe('a replaced key is trusted for 24 hours after its certificate, then never again (PROTOCOL 4)', () => {
  it('accepts the old key at 23 h, refuses it with UNKNOWN_KEY at 25 h, and unpins it', async () => {
    const clock = createClock(new Date());
    const hub = await peer({ name: 'Hub', now: clock.now });
    const spoke = await peer({ name: 'Spoke', now: clock.now, autoAcceptUrls: [hub.url] });
    await connectPeers(hub, spoke);
    const oldKey = await hub.server.federation.instance.signingKey();
    const regenerated = await hub.api('/api/v1/federation/instance/regenerate-keys', { method: 'POST' });
    expect(regenerated.status).toBe(200);
    const newKey = await hub.server.federation.instance.signingKey();
    expect(newKey.kid).not.toBe(oldKey.kid);
    await eventually(async () => expect((await connectionWith(spoke, hub.instanceId))?.peerKeys.map((k) => k.kid)).toContain(newKey.kid));

    const resolveKey = await keysOf(spoke);
    const list = (key: SigningKey) =>
      sendMessage(
        { kind: 'QUERY', queryType: 'agents.list', payload: {}, iss: hub.instanceId, aud: spoke.instanceId } as OutgoingMessage,
        { url: spoke.url, selfId: hub.instanceId, signingKey: key, resolveKey, now: clock.now, retries: 0 },
      );
    clock.advance(23 * 3600);
    await expect(list(oldKey)).resolves.toMatchObject({ agents: [] });
    clock.advance(2 * 3600);
    await expect(list(oldKey)).rejects.toMatchObject({ code: 'UNKNOWN_KEY' });
    const connection = await connectionWith(spoke, hub.instanceId);
    expect(connection?.peerKeys.map((k) => k.kid)).toEqual([newKey.kid]);
    expect(connection?.replacedPeerKeys.map((k) => k.kid)).toEqual([oldKey.kid]);
    await expect(list(oldKey)).rejects.toMatchObject({ code: 'UNKNOWN_KEY' });
    await expect(list(newKey)).resolves.toMatchObject({ agents: [] });
    expect((await allAudit(spoke.server.federation.stores)).map((e) => e.action)).toContain('connection.keys.unpin');
  });
});

describe('the hub never lets an agent leave a terminal state (PROTOCOL 5)', () => {
  it('answers a later running event with AGENT_ALREADY_TERMINAL and changes nothing', async () => {
    const hub = await peer({ name: 'Hub' });
    const spoke = await peer({ name: 'Spoke', autoAcceptUrls: [hub.url] });
    const { fromConnectionId } = await connectPeers(hub, spoke);
    const spawned = await hub.api<{ agentId: string }>('/api/v1/federation/agents/spawn', {
      body: { connectionId: fromConnectionId, payload: spawnPayload('task-final') },
    });
    const { agentId } = spawned.body.data;
    spoke.orchestrator.start(agentId);
    spoke.orchestrator.complete(agentId, { summary: 'the real result' });
    const hubStatus = async () => (await hub.api<AgentStatus>(`/api/v1/federation/agents/${agentId}/status`)).body.data;
    await eventually(async () => expect((await hubStatus()).status).toBe('completed'));
    const final = await hubStatus();
    const sequence = (await hub.server.federation.stores.remoteAgents.get(agentId))?.sequence ?? 0;

    const event: AgentStatusChangedPayload = { ...final, status: 'running', completedAt: null, result: null, sequence: sequence + 1 };
    await expect(
      sendMessage({ kind: 'EVENT', eventType: 'agent.status.changed', payload: event, iss: spoke.instanceId, aud: hub.instanceId } as OutgoingMessage, {
        url: hub.url,
        selfId: spoke.instanceId,
        signingKey: await spoke.server.federation.instance.signingKey(),
        resolveKey: await keysOf(hub),
        retries: 0,
      }),
    ).rejects.toMatchObject({ code: 'AGENT_ALREADY_TERMINAL', status: 409, data: { status: 'completed' } });
    expect(await hubStatus()).toEqual(final);

    // A stream resumed after the terminal event ends at once: nothing will follow.
    const resumed = await fetch(`${hub.url}/api/v1/federation/agents/${agentId}/events`, {
      headers: { Authorization: `Bearer ${hub.token}`, 'Last-Event-ID': String(sequence) },
    });
    expect(resumed.status).toBe(204);
    const events: AgentStatusChangedPayload[] = [];
    for await (const e of new AdminClient({ url: hub.url, token: hub.token }).events(agentId)) events.push(e);
    expect(events.at(-1)?.status).toBe('completed');
  });
});

describe('hostile input costs a clear 4xx and nothing else (PROTOCOL 2)', () => {
  it('refuses JSON nested deeper than 64 levels with VALIDATION_FAILED, from a signed peer and in the API', async () => {
    const hub = await peer({ name: 'Hub' });
    const spoke = await peer({ name: 'Spoke', autoAcceptUrls: [hub.url] });
    await connectPeers(hub, spoke);
    // 5,000 nested arrays, about 10 KB.
    const deep = `${'['.repeat(5_000)}"bottom"${']'.repeat(5_000)}`;
    const key = await hub.server.federation.instance.signingKey();
    const token = await signRaw({ kind: 'COMMAND', iss: hub.instanceId, aud: spoke.instanceId, commandType: 'agent.spawn', payload: spawnPayload('deep') }, key, deep);
    const response = await post(spoke, 'command', token);
    expect(response.status).toBe(400);
    expect(await response.json()).toMatchObject({ success: false, code: 'VALIDATION_FAILED' });
    expect(spoke.orchestrator.spawnCalls).toBe(0);

    const patched = await fetch(`${spoke.url}/api/v1/federation/instance`, {
      method: 'PATCH',
      headers: { Authorization: `Bearer ${spoke.token}`, 'Content-Type': 'application/json' },
      body: `{"metadata":{"deep":${deep}}}`,
    });
    expect(patched.status).toBe(400);
    expect(await patched.json()).toMatchObject({ code: 'VALIDATION_FAILED' });
    // Still serving.
    expect((await spoke.api('/api/v1/federation/instance')).status).toBe(200);
  });

  it('answers a CONNECT whose document offers an unusable key, or another protocol, with VALIDATION_FAILED', async () => {
    const spoke = await peer({ name: 'Spoke' });
    const sender = await stranger();
    const good = sender.publicJwk;
    const variants: [string, Record<string, unknown>][] = [
      ['an oct key', { keys: [good, { kty: 'oct', k: 'c2VjcmV0', kid: 'a'.repeat(43), use: 'sig', alg: 'HS256' }] }],
      ['an EC key', { keys: [good, { kty: 'EC', crv: 'P-256', x: good.x, y: good.x, kid: 'b'.repeat(43), use: 'sig', alg: 'ES256' }] }],
      ['an Ed448 key', { keys: [good, { ...good, crv: 'Ed448', kid: 'c'.repeat(43) }] }],
      ['a key for encryption', { keys: [good, { ...good, use: 'enc', kid: 'd'.repeat(43) }] }],
      ['a key with its private part', { keys: [{ ...good, d: good.x }] }],
      ['another protocol', { protocol: 'mosaic-federation/2' }],
    ];
    for (const [what, change] of variants) {
      const token = await signRaw(
        { kind: 'CONNECT', iss: sender.instanceId, aud: spoke.instanceId, payload: { ...sender.document, ...change } },
        sender.signingKey,
      );
      const response = await post(spoke, 'connect', token);
      expect({ what, status: response.status, code: ((await response.json()) as { code: string }).code }).toEqual({
        what,
        status: 400,
        code: 'VALIDATION_FAILED',
      });
    }
    expect((await spoke.api<unknown[]>('/api/v1/federation/connections')).body.data).toEqual([]);
  });

  it('answers a declared body over the limit with 413 at once, though the body never comes', async () => {
    const spoke = await peer({ name: 'Spoke' });
    const { port } = new URL(spoke.url);
    const started = Date.now();
    const head = await new Promise<string>((done, fail) => {
      const socket = connectTcp(Number(port), '127.0.0.1', () => {
        socket.write(
          `POST /api/v1/federation/incoming/command HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/jwt\r\nContent-Length: ${1024 * 1024}\r\n\r\n`,
        );
        socket.write('x'.repeat(1024));
      });
      let received = '';
      socket.on('data', (chunk) => {
        received += chunk.toString();
        if (received.includes('\r\n\r\n')) {
          socket.destroy();
          done(received);
        }
      });
      socket.on('error', fail);
      setTimeout(() => {
        socket.destroy();
        fail(new Error(`no answer within 5 s: ${received}`));
      }, 5_000);
    });
    expect(head.startsWith('HTTP/1.1 413')).toBe(true);
    // Far below the drain and request time limits: the answer did not wait for the body.
    expect(Date.now() - started).toBeLessThan(4_000);
    expect((await spoke.api('/api/v1/federation/instance')).status).toBe(200);
  });
});

describe('admin tokens can be listed, expire, and be revoked at once on every replica', () => {
  it('lists tokens without their secrets, records their use, and a revoked one fails on both replicas at once', async () => {
    const clock = createClock(new Date());
    const first = await peer({ name: 'Replicated', now: clock.now });
    const second = await startServer({ port: 0, dataDir: first.dataDir, logger: silentLogger, now: clock.now, allowNetworks: ['127.0.0.0/8'] });
    track({ destroy: () => second.close() });
    const { token, record } = await createAdminToken({
      store: first.server.federation.stores.adminTokens,
      label: 'leaked',
      actor: { type: 'cli', id: 'test' },
      now: clock.now,
    });
    const call = (url: string, bearer: string) => fetch(`${url}/api/v1/federation/instance`, { headers: { Authorization: `Bearer ${bearer}` } });
    expect((await call(first.url, token)).status).toBe(200);
    expect((await call(second.url, token)).status).toBe(200);

    const listed = await first.api<Record<string, unknown>[]>('/api/v1/federation/admin-tokens');
    expect(listed.status).toBe(200);
    const leaked = listed.body.data.find((t) => t.id === record.id);
    expect(leaked).toEqual({ id: record.id, label: 'leaked', createdAt: record.createdAt, expiresAt: null, lastUsedAt: clock.now().toISOString(), revokedAt: null });
    expect(JSON.stringify(listed.body)).not.toContain(record.tokenHash);

    const revoked = await first.api<{ revokedAt: string }>(`/api/v1/federation/admin-tokens/${record.id}`, { method: 'DELETE' });
    expect(revoked.status).toBe(200);
    expect(revoked.body.data.revokedAt).toBe(clock.now().toISOString());
    for (const url of [first.url, second.url]) {
      const refused = await call(url, token);
      expect(refused.status).toBe(401);
      expect(await refused.json()).toMatchObject({ code: 'UNAUTHORIZED' });
    }
    const again = await first.api<{ revokedAt: string }>(`/api/v1/federation/admin-tokens/${record.id}`, { method: 'DELETE' });
    expect(again.body.data.revokedAt).toBe(revoked.body.data.revokedAt);
    expect((await first.api(`/api/v1/federation/admin-tokens/${crypto.randomUUID()}`, { method: 'DELETE' })).status).toBe(404);
    const actions = (await allAudit(first.server.federation.stores)).filter((e) => e.target === `admin-token:${record.id}`).map((e) => e.action);
    expect(actions).toEqual(['admin-token.revoke', 'admin-token.create']);
  });

  it('refuses a token after its expiry', async () => {
    const clock = createClock(new Date());
    const instance = await peer({ name: 'Expiring', now: clock.now });
    const { token } = await createAdminToken({
      store: instance.server.federation.stores.adminTokens,
      label: 'for an hour',
      actor: { type: 'cli', id: 'test' },
      now: clock.now,
      expiresAt: new Date(clock.now().getTime() + 3_600_000),
    });
    const call = () => fetch(`${instance.url}/api/v1/federation/instance`, { headers: { Authorization: `Bearer ${token}` } });
    expect((await call()).status).toBe(200);
    clock.advance(3_600);
    expect((await call()).status).toBe(401);
  });
});
