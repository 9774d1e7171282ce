import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, SignJWT, type JWK } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createFederation, type Federation } from '../src/app.js';
import { createInMemoryStores } from '../src/stores/memory/index.js';
import type { FederationStores } from '../src/stores/types.js';
import { allAudit } from './helpers.js';

// A real identity provider's surface on loopback: discovery document and JWKS, served
// over HTTP and fetched by jose through the app's injected fetch.
let idp: Server;
let issuer: string;
let signingKey: CryptoKey;
let strangerKey: CryptoKey;
let jwksRequests = 0;
let federation: Federation;
let stores: FederationStores;

beforeAll(async () => {
  const pair = await generateKeyPair('ES256');
  const stranger = await generateKeyPair('ES256');
  signingKey = pair.privateKey;
  strangerKey = stranger.privateKey;
  const publicJwk: JWK = { ...(await exportJWK(pair.publicKey)), kid: 'idp-key-1', alg: 'ES256', use: 'sig' };
  idp = createServer((request, response) => {
    response.setHeader('Content-Type', 'application/json');
    if (request.url === '/.well-known/openid-configuration') {
      response.end(JSON.stringify({ issuer, jwks_uri: `${issuer}/jwks` }));
    } else if (request.url === '/jwks') {
      jwksRequests++;
      response.end(JSON.stringify({ keys: [publicJwk] }));
    } else {
      response.statusCode = 404;
      response.end('{}');
    }
  });
  await new Promise<void>((done) => idp.listen(0, '127.0.0.1', done));
  issuer = `http://127.0.0.1:${(idp.address() as AddressInfo).port}`;
  stores = createInMemoryStores();
  federation = createFederation({
    url: 'https://hub.example.com',
    secret: 'oidc-test-secret-0123456789abcdefghijklmn',
    stores,
    auth: { oidc: { issuer, audience: 'mosaic-fed', adminClaim: 'roles', adminValue: 'federation-admin' } },
    // The identity provider is on loopback, which outbound requests may reach only when allowed.
    outbound: { allowNetworks: ['127.0.0.0/8'] },
  });
});

afterAll(async () => {
  await new Promise((done) => idp.close(done));
});

interface TokenOptions {
  claims?: Record<string, unknown>;
  /** Sign with a key the issuer does not publish. */
  stranger?: boolean;
  alg?: string;
  audience?: string;
  issuer?: string;
  expiresIn?: string | number;
}

function accessToken(options: TokenOptions = {}): Promise<string> {
  return new SignJWT({ roles: ['federation-admin', 'reader'], ...options.claims })
    .setProtectedHeader({ alg: options.alg ?? 'ES256', kid: 'idp-key-1' })
    .setIssuer(options.issuer ?? issuer)
    .setAudience(options.audience ?? 'mosaic-fed')
    .setSubject('user-42')
    .setIssuedAt()
    .setExpirationTime(options.expiresIn ?? '5m')
    .sign(options.stranger === true ? strangerKey : signingKey);
}

async function callWith(token: string, init: RequestInit = {}) {
  return federation.app.request('/api/v1/federation/instance', {
    ...init,
    headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
  });
}

describe('OIDC admins (PROTOCOL 6)', () => {
  it('accepts an access token from the issuer, for the audience, with the admin claim', async () => {
    const response = await callWith(await accessToken());
    expect(response.status).toBe(200);
    const patch = await callWith(await accessToken(), { method: 'PATCH', body: JSON.stringify({ name: 'Renamed by OIDC' }) });
    expect(patch.status).toBe(200);
    const [latest] = await allAudit(stores);
    expect(latest).toMatchObject({ action: 'instance.update', actor: { type: 'oidc', id: 'user-42' } });
    // Discovery and JWKS were fetched once, then cached.
    await callWith(await accessToken());
    expect(jwksRequests).toBe(1);
  });

  it('answers 403 FORBIDDEN for a valid user without the admin claim, writing nothing', async () => {
    const before = await allAudit(stores);
    for (const claims of [{ roles: ['reader'] }, { roles: 'federation-admin-not' }, { roles: undefined }]) {
      const response = await callWith(await accessToken({ claims }), {
        method: 'PATCH',
        body: JSON.stringify({ name: 'Not allowed' }),
      });
      expect(response.status).toBe(403);
      expect(await response.json()).toMatchObject({ success: false, code: 'FORBIDDEN' });
    }
    expect(await allAudit(stores)).toEqual(before);
  });

  it("signs in the instance's user a subject is linked to, without the admin claim: their agents, not the admin routes", async () => {
    await federation.people.createUser({ id: 'casey', name: 'Casey', oidcSubject: 'user-42' }, { type: 'cli', id: 'test' });
    const token = await accessToken({ claims: { roles: ['reader'] } });
    const me = await federation.app.request('/api/v1/federation/me', { headers: { Authorization: `Bearer ${token}` } });
    expect(await me.json()).toMatchObject({ success: true, data: { kind: 'user', user: { id: 'casey', oidcSubject: 'user-42' } } });
    expect((await callWith(token)).status).toBe(403);
    const agents = await federation.app.request('/api/v1/federation/agents', { headers: { Authorization: `Bearer ${token}` } });
    expect(await agents.json()).toMatchObject({ success: true, data: { sent: { items: [] }, hosted: { items: [] } } });
    // With the admin claim, the same subject is an admin.
    expect((await callWith(await accessToken())).status).toBe(200);
    // Another subject, without the claim, is no one here.
    const stranger = await new SignJWT({ roles: ['reader'] }).setProtectedHeader({ alg: 'ES256', kid: 'idp-key-1' }).setIssuer(issuer).setAudience('mosaic-fed').setSubject('user-43').setExpirationTime('5m').sign(signingKey);
    expect((await federation.app.request('/api/v1/federation/me', { headers: { Authorization: `Bearer ${stranger}` } })).status).toBe(403);
    await expect(federation.people.createUser({ id: 'casey2', name: 'Casey again', oidcSubject: 'user-42' }, { type: 'cli', id: 'test' })).rejects.toMatchObject({
      code: 'VALIDATION_FAILED',
      details: [{ path: 'oidcSubject', message: 'is taken' }],
    });
  });

  it.each<[string, TokenOptions]>([
    ['another audience', { audience: 'someone-else' }],
    ['another issuer', { issuer: 'https://evil.example.com' }],
    ['an expired token', { expiresIn: Math.floor(Date.now() / 1000) - 60 }],
    ['a key the issuer does not publish', { stranger: true }],
  ])('answers 401 UNAUTHORIZED for %s', async (_label, options) => {
    const response = await callWith(await accessToken(options));
    expect(response.status).toBe(401);
    expect(await response.json()).toMatchObject({ success: false, code: 'UNAUTHORIZED' });
  });

  it('refuses an HS256 token keyed with anything public', async () => {
    const secret = new TextEncoder().encode('the-public-jwks-as-a-secret-0123456789');
    const token = await new SignJWT({ roles: ['federation-admin'] })
      .setProtectedHeader({ alg: 'HS256', kid: 'idp-key-1' })
      .setIssuer(issuer)
      .setAudience('mosaic-fed')
      .setSubject('attacker')
      .setExpirationTime('5m')
      .sign(secret);
    expect((await callWith(token)).status).toBe(401);
  });
});

describe('OIDC A2A clients (docs/protocol.md, "A2A")', () => {
  const serviceToken = (subject: string, key = signingKey) =>
    new SignJWT({}).setProtectedHeader({ alg: 'ES256', kid: 'idp-key-1' }).setIssuer(issuer).setAudience('mosaic-fed').setSubject(subject).setExpirationTime('5m').sign(key);
  const listTasks = (token: string) => federation.app.request('/a2a/rest/tasks', { headers: { Authorization: `Bearer ${token}` } });

  it('signs in the client whose subject the access token names, and no one else; the card says so', async () => {
    const actor = { type: 'cli' as const, id: 'test' };
    const { client } = await federation.a2aClients.create({ name: 'ci service', oidcSubject: 'svc-ci' }, actor);
    expect(client.oidcSubject).toBe('svc-ci');
    expect((await listTasks(await serviceToken('svc-ci'))).status).toBe(200);
    expect((await federation.a2aClients.get(client.id)).lastUsedAt).not.toBeNull();
    // Another subject, a token the issuer did not sign, an admin's token for no client.
    for (const token of [await serviceToken('svc-other'), await serviceToken('svc-ci', strangerKey), await accessToken()]) {
      expect((await listTasks(token)).status).toBe(401);
    }
    // One client per subject; the subject moves, and a revoked client signs in no more.
    await expect(federation.a2aClients.create({ name: 'copy', oidcSubject: 'svc-ci' }, actor)).rejects.toMatchObject({ code: 'VALIDATION_FAILED' });
    const moved = await federation.a2aClients.update(client.id, { oidcSubject: null }, actor);
    expect(moved).not.toHaveProperty('oidcSubject');
    expect((await listTasks(await serviceToken('svc-ci'))).status).toBe(401);
    await federation.a2aClients.update(client.id, { oidcSubject: 'svc-ci' }, actor);
    await federation.a2aClients.revoke(client.id, actor);
    expect((await listTasks(await serviceToken('svc-ci'))).status).toBe(401);

    const card = (await (await federation.app.request('/.well-known/agent-card.json')).json()) as { securitySchemes: Record<string, unknown>; securityRequirements: unknown[] };
    expect(card.securitySchemes.oidc).toEqual({ openIdConnectSecurityScheme: expect.objectContaining({ openIdConnectUrl: `${issuer}/.well-known/openid-configuration` }) });
    expect(card.securityRequirements).toHaveLength(2);
  });
});
