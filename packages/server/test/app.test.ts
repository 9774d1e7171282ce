import {
  apiSuccessSchema,
  AuditEntrySchema,
  InstanceConfigurationSchema,
  InstanceDocumentSchema,
  RegenerateKeysResponseSchema,
  verifyRotationChain,
  WireErrorSchema,
  pageSchema,
  type PrivateJwk,
} from '@mosaic-fed/core';
import type { Hono } from 'hono';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createFederation, type Federation } from '../src/app.js';
import { createAdminToken } from '../src/auth/admin-tokens.js';
import { openPrivateKey } from '../src/lib/sealed-key.js';
import { createInMemoryStores } from '../src/stores/memory/index.js';
import type { FederationStores } from '../src/stores/types.js';
import { allAudit, createClock, createFileStores } from './helpers.js';

const SECRET = 'a-test-secret-that-is-long-enough-1234567890';
const URL_ = 'https://spoke.example.com';

interface Harness {
  federation: Federation;
  app: Hono;
  stores: FederationStores;
  clock: ReturnType<typeof createClock>;
  token: string;
  cleanup: () => Promise<void>;
}

const storeKinds: [string, () => Promise<{ stores: FederationStores; cleanup: () => Promise<void> }>][] = [
  ['in-memory', async () => ({ stores: createInMemoryStores(), cleanup: () => Promise.resolve() })],
  ['libSQL file', createFileStores],
];

async function createHarness(open: (typeof storeKinds)[number][1]): Promise<Harness> {
  const { stores, cleanup } = await open();
  const clock = createClock();
  const federation = createFederation({ url: URL_, secret: SECRET, stores, now: clock.now, name: 'Spoke West' });
  await federation.instance.load();
  const { token } = await createAdminToken({
    store: stores.adminTokens,
    label: 'tests',
    actor: { type: 'cli', id: 'test' },
    now: clock.now,
  });
  return { federation, app: federation.app, stores, clock, token, cleanup };
}

const bearer = (token: string) => ({ Authorization: `Bearer ${token}` });
const json = (token: string, body: unknown, method = 'PATCH') => ({
  method,
  headers: { ...bearer(token), 'Content-Type': 'application/json' },
  body: typeof body === 'string' ? body : JSON.stringify(body),
});

async function errorOf(response: Response) {
  return WireErrorSchema.parse(await response.json());
}

/** The stored state that a rejected call must leave untouched. */
async function snapshot(stores: FederationStores) {
  return { record: await stores.instance.get(), audit: await allAudit(stores) };
}

describe.each(storeKinds)('the instance API on %s stores', (_kind, open) => {
  let h: Harness;
  beforeEach(async () => {
    h = await createHarness(open);
  });
  afterEach(async () => {
    await h.cleanup();
  });

  it('publishes the instance document with its public key', async () => {
    const response = await h.app.request('/.well-known/mosaic-federation');
    expect(response.status).toBe(200);
    expect(response.headers.get('cache-control')).toBe('public, max-age=60');
    const document = InstanceDocumentSchema.parse(await response.json());
    const record = await h.stores.instance.get();
    expect(document).toMatchObject({
      protocol: 'mosaic-federation/1',
      instanceId: record?.instanceId,
      name: 'Spoke West',
      url: URL_,
      keys: [record?.keys[0]?.publicJwk],
      keyRotations: [],
    });
  });

  it('shows the configuration to an admin, never a private key', async () => {
    const response = await h.app.request('/api/v1/federation/instance', { headers: bearer(h.token) });
    expect(response.status).toBe(200);
    expect(response.headers.get('cache-control')).toBe('no-store');
    const { data } = apiSuccessSchema(InstanceConfigurationSchema).parse(await response.json());
    expect(data.name).toBe('Spoke West');
    expect(data.keys).toHaveLength(1);
    expect(JSON.stringify(data)).not.toMatch(/"d"\s*:/);
  });

  it('sends nosniff on every answer, and no-store on every admin answer, errors included', async () => {
    const answers = [
      await h.app.request('/.well-known/mosaic-federation'),
      await h.app.request('/api/v1/federation/instance', { headers: bearer(h.token) }),
      await h.app.request('/api/v1/federation/instance'),
      await h.app.request('/api/v1/federation/nowhere', { headers: bearer(h.token) }),
      await h.app.request('/nowhere'),
    ];
    expect(answers.map((r) => r.status)).toEqual([200, 200, 401, 404, 404]);
    for (const answer of answers) expect(answer.headers.get('x-content-type-options')).toBe('nosniff');
    expect(answers[1]?.headers.get('cache-control')).toBe('no-store');
    expect(answers[3]?.headers.get('cache-control')).toBe('no-store');
  });

  describe('admin authentication', () => {
    const routes: [string, RequestInit][] = [
      ['/api/v1/federation/instance', {}],
      ['/api/v1/federation/instance', { method: 'PATCH', body: JSON.stringify({ name: 'Taken over' }) }],
      ['/api/v1/federation/instance/regenerate-keys', { method: 'POST' }],
      ['/api/v1/federation/audit', {}],
    ];
    const badHeaders: [string, Record<string, string>][] = [
      ['no token', {}],
      ['an unknown admin token', bearer(`mfa_${'A'.repeat(43)}`)],
      ['a malformed admin token', bearer('mfa_short')],
      ['a random string', bearer('let-me-in')],
      ['basic auth', { Authorization: 'Basic YWRtaW46YWRtaW4=' }],
      ['an empty bearer', { Authorization: 'Bearer ' }],
    ];

    it.each(badHeaders)('refuses %s with 401 UNAUTHORIZED on every route, writing nothing', async (_label, headers) => {
      const before = await snapshot(h.stores);
      for (const [path, init] of routes) {
        const response = await h.app.request(path, { ...init, headers: { ...headers, 'Content-Type': 'application/json' } });
        expect(response.status, `${init.method ?? 'GET'} ${path}`).toBe(401);
        expect(response.headers.get('www-authenticate')).toBe('Bearer');
        expect((await errorOf(response)).code).toBe('UNAUTHORIZED');
      }
      expect(await snapshot(h.stores)).toEqual(before);
    });
  });

  describe('PATCH /instance', () => {
    it('updates name, capabilities and metadata, audits before and after, and shows them publicly', async () => {
      const response = await h.app.request(
        '/api/v1/federation/instance',
        json(h.token, {
          name: 'Spoke East',
          capabilities: { maxConcurrentAgents: 2, agentTypes: ['worker'] },
          metadata: { region: 'eu-east' },
        }),
      );
      expect(response.status).toBe(200);
      const { data } = apiSuccessSchema(InstanceConfigurationSchema).parse(await response.json());
      expect(data).toMatchObject({
        name: 'Spoke East',
        capabilities: { maxConcurrentAgents: 2, agentTypes: ['worker'], supportsAgentSpawn: true },
        metadata: { region: 'eu-east' },
      });

      const document = InstanceDocumentSchema.parse(await (await h.app.request('/.well-known/mosaic-federation')).json());
      expect(document.name).toBe('Spoke East');
      expect(document.metadata).toEqual({ region: 'eu-east' });

      const [latest] = await allAudit(h.stores);
      expect(AuditEntrySchema.parse(latest)).toMatchObject({
        action: 'instance.update',
        actor: { type: 'admin-token', label: 'tests' },
        before: { name: 'Spoke West', metadata: {} },
        after: { name: 'Spoke East', metadata: { region: 'eu-east' } },
      });
    });

    it('writes nothing when nothing changes', async () => {
      const before = await snapshot(h.stores);
      const response = await h.app.request('/api/v1/federation/instance', json(h.token, { name: 'Spoke West' }));
      expect(response.status).toBe(200);
      expect(await snapshot(h.stores)).toEqual(before);
    });

    it.each([
      ['a name over 100 characters', { name: 'n'.repeat(101) }, ['name']],
      ['an empty name', { name: '' }, ['name']],
      ['metadata over 16 KiB', { metadata: { blob: 'x'.repeat(16 * 1024) } }, ['metadata']],
      ['metadata that is a list', { metadata: ['a'] }, ['metadata']],
      ['a bad capability and an unknown field', { capabilities: { maxConcurrentAgents: -1 }, keys: [] }, ['capabilities.maxConcurrentAgents', '(root)']],
      ['a repeated agent type', { capabilities: { agentTypes: ['worker', 'worker'] } }, ['capabilities.agentTypes']],
      ['a body that is not JSON', '{"name":', ['(root)']],
      ['a JSON body that is not an object', '"Spoke"', ['(root)']],
    ])('rejects %s with 400 VALIDATION_FAILED naming the fields, writing nothing', async (_label, body, fields) => {
      const before = await snapshot(h.stores);
      const response = await h.app.request('/api/v1/federation/instance', json(h.token, body));
      expect(response.status).toBe(400);
      const error = await errorOf(response);
      expect(error.code).toBe('VALIDATION_FAILED');
      expect(error.details?.map((d) => d.path).sort()).toEqual([...fields].sort());
      expect(await snapshot(h.stores)).toEqual(before);
    });

    it.each([
      ['not a URL', { url: 'not a url' }],
      ['an empty URL', { url: '' }],
      ['no URL', {}],
      ['a URL that is not http(s)', { url: 'ftp://hub.example.com' }],
      ['a URL with credentials', { url: 'https://user:pass@hub.example.com' }],
    ])('refuses a connection request with %s as 400 VALIDATION_FAILED on url, writing nothing', async (_label, body) => {
      const before = await snapshot(h.stores);
      const response = await h.app.request('/api/v1/federation/connections', json(h.token, body, 'POST'));
      expect(response.status).toBe(400);
      const error = await errorOf(response);
      expect(error.code).toBe('VALIDATION_FAILED');
      expect(error.details?.map((d) => d.path)).toEqual(['url']);
      expect(await snapshot(h.stores)).toEqual(before);
    });

    it('rejects a body over 256 KiB with 413 PAYLOAD_TOO_LARGE, writing nothing', async () => {
      const before = await snapshot(h.stores);
      const response = await h.app.request(
        '/api/v1/federation/instance',
        json(h.token, { name: 'x', metadata: { blob: 'x'.repeat(300 * 1024) } }),
      );
      expect(response.status).toBe(413);
      expect((await errorOf(response)).code).toBe('PAYLOAD_TOO_LARGE');
      expect(await snapshot(h.stores)).toEqual(before);
    });
  });

  describe('key regeneration (PROTOCOL 4)', () => {
    it('puts the new key first, keeps the old one for the grace period, and chains them', async () => {
      const oldKey = (await h.stores.instance.get())?.keys[0]?.publicJwk;
      const response = await h.app.request('/api/v1/federation/instance/regenerate-keys', {
        method: 'POST',
        headers: bearer(h.token),
      });
      expect(response.status).toBe(200);
      const { data } = apiSuccessSchema(RegenerateKeysResponseSchema).parse(await response.json());
      expect(data.previousKid).toBe(oldKey?.kid);
      expect(data.previousKeyExpiresAt).toBe('2026-11-26T12:00:00.000Z');

      const documentAt = async () =>
        InstanceDocumentSchema.parse(await (await h.app.request('/.well-known/mosaic-federation')).json());
      const during = await documentAt();
      expect(during.keys.map((k) => k.kid)).toEqual([data.currentKid, data.previousKid]);
      expect(during.keyRotations).toEqual([data.certificate]);

      // A peer that pinned the old key walks the chain to the new one with core's verifier.
      const chain = await verifyRotationChain({
        issuer: during.instanceId,
        certificates: during.keyRotations,
        pinnedKeys: oldKey === undefined ? [] : [oldKey],
        now: h.clock.now,
      });
      expect(chain.key.kid).toBe(data.currentKid);

      // The instance signs with the new key from now on.
      expect((await h.federation.instance.signingKey()).kid).toBe(data.currentKid);

      h.clock.advance(24 * 60 * 60 - 1);
      expect((await documentAt()).keys).toHaveLength(2);
      h.clock.advance(1);
      const after = await documentAt();
      expect(after.keys.map((k) => k.kid)).toEqual([data.currentKid]);
      expect(after.keyRotations).toEqual([data.certificate]);

      const [latest] = await allAudit(h.stores);
      expect(latest).toMatchObject({
        action: 'instance.regenerate-keys',
        before: { currentKid: data.previousKid },
        after: { currentKid: data.currentKid },
      });
    });

    it('chains two regenerations in a row', async () => {
      const first = (await h.stores.instance.get())?.keys[0]?.publicJwk;
      for (let i = 0; i < 2; i++) {
        const response = await h.app.request('/api/v1/federation/instance/regenerate-keys', {
          method: 'POST',
          headers: bearer(h.token),
        });
        expect(response.status).toBe(200);
      }
      const record = await h.stores.instance.get();
      expect(record?.keyRotations).toHaveLength(2);
      expect(record?.keys).toHaveLength(3);
      const chain = await verifyRotationChain({
        issuer: record?.instanceId ?? '',
        certificates: record?.keyRotations ?? [],
        pinnedKeys: first === undefined ? [] : [first],
        now: h.clock.now,
      });
      expect(chain.key.kid).toBe(record?.keys[0]?.publicJwk.kid);
    });
  });

  it('pages through the audit log, newest first', async () => {
    for (const name of ['One', 'Two', 'Three']) {
      await h.app.request('/api/v1/federation/instance', json(h.token, { name }));
    }
    const page = pageSchema(AuditEntrySchema);
    const first = apiSuccessSchema(page).parse(
      await (await h.app.request('/api/v1/federation/audit?limit=2', { headers: bearer(h.token) })).json(),
    ).data;
    expect(first.items.map((e) => e.after)).toEqual([
      expect.objectContaining({ name: 'Three' }),
      expect.objectContaining({ name: 'Two' }),
    ]);
    expect(first.nextCursor).not.toBeNull();
    const rest = apiSuccessSchema(page).parse(
      await (
        await h.app.request(`/api/v1/federation/audit?limit=500&cursor=${first.nextCursor ?? ''}`, {
          headers: bearer(h.token),
        })
      ).json(),
    ).data;
    expect(rest.items.map((e) => e.action)).toEqual([
      'instance.update',
      'admin-token.create',
      'instance.initialise',
    ]);
    expect(rest.nextCursor).toBeNull();

    const bad = await h.app.request('/api/v1/federation/audit?limit=501', { headers: bearer(h.token) });
    expect(bad.status).toBe(400);
    expect((await errorOf(bad)).details?.map((d) => d.path)).toEqual(['limit']);
  });

  it('answers an unknown address with 404 NOT_FOUND in the protocol envelope', async () => {
    const response = await h.app.request('/api/v1/federation/nothing-here', { headers: bearer(h.token) });
    expect(response.status).toBe(404);
    expect((await errorOf(response)).code).toBe('NOT_FOUND');
  });

  it('opens the sealed private key only with its secret', async () => {
    const record = await h.stores.instance.get();
    if (record === undefined) throw new Error('missing');
    const jwk: PrivateJwk = await openPrivateKey(record.encryptedPrivateKey, SECRET, record.instanceId);
    expect(jwk.kid).toBe(record.keys[0]?.publicJwk.kid);
    await expect(openPrivateKey(record.encryptedPrivateKey, `${SECRET}x`, record.instanceId)).rejects.toThrow(
      'does not open',
    );
    await expect(openPrivateKey(record.encryptedPrivateKey, SECRET, crypto.randomUUID())).rejects.toThrow(
      'does not open',
    );
    expect(record.encryptedPrivateKey).not.toContain(jwk.d);
  });
});

describe('createFederationApp options', () => {
  it('throws a TypeError for a short secret or a bad URL', () => {
    expect(() => createFederation({ url: URL_, secret: 'short' })).toThrow(TypeError);
    expect(() => createFederation({ url: 'ftp://x.example.com', secret: SECRET })).toThrow(TypeError);
    expect(() => createFederation({ url: 'https://u:p@x.example.com', secret: SECRET })).toThrow(TypeError);
    expect(() => createFederation({ url: URL_, secret: SECRET, keyGracePeriodSeconds: -1 })).toThrow(TypeError);
  });
});
