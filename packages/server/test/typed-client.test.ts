import { hc } from 'hono/client';
import { beforeEach, describe, expect, expectTypeOf, it } from 'vitest';
import { createFederation, type Federation } from '../src/app.js';
import { createAdminToken } from '../src/auth/admin-tokens.js';
import type { FederationApi } from '../src/routes/admin.js';
import { createInMemoryStores } from '../src/stores/memory/index.js';

// The instance's own API through `hono/client`: what a route validates with is what the
// client is typed with, and what the route answers is what the client reads.
let federation: Federation;
let api: ReturnType<typeof hc<FederationApi>>['api']['v1']['federation'];
let token: string;

beforeEach(async () => {
  const stores = createInMemoryStores();
  federation = createFederation({ url: 'https://hub.example.com', secret: 'a-typed-client-test-secret-0123456789', stores, name: 'Hub' });
  ({ token } = await createAdminToken({ store: stores.adminTokens, label: 'tests', actor: { type: 'cli', id: 'test' }, now: () => new Date() }));
  api = hc<FederationApi>('https://hub.example.com', { fetch: federation.app.request, headers: { Authorization: `Bearer ${token}` } }).api.v1.federation;
});

describe('the API through hono/client', () => {
  it('sends a typed instance update and reads the typed configuration back', async () => {
    const answer = await api.instance.$patch({ json: { name: 'Hub West', metadata: { region: 'eu-west' } } });
    expect(answer.status).toBe(200);
    const body = await answer.json();
    expectTypeOf(body.data.name).toEqualTypeOf<string>();
    expectTypeOf(body.data.capabilities.maxConcurrentAgents).toEqualTypeOf<number>();
    expect(body).toMatchObject({ success: true, data: { name: 'Hub West', metadata: { region: 'eu-west' } } });
    expect((await (await api.instance.$get()).json()).data.name).toBe('Hub West');
  });

  it('types a route\'s query and its answer: the connections by status, and a page of the audit log', async () => {
    const connections = await (await api.connections.$get({ query: { status: 'ACTIVE' } })).json();
    expectTypeOf(connections.data).toBeArray();
    expect(connections.data).toEqual([]);
    await api.instance.$patch({ json: { name: 'Hub East' } });
    const audit = await (await api.audit.$get({ query: { limit: '1' } })).json();
    expectTypeOf(audit.data.nextCursor).toEqualTypeOf<string | null>();
    expect(audit.data.items.map((entry) => entry.action)).toEqual(['instance.update']);
  });

  it('answers what the schema refuses with VALIDATION_FAILED naming the field, and changes nothing', async () => {
    const refused = await api.connections.$get({ query: { status: 'FRIENDLY' as 'ACTIVE' } });
    expect(refused.status).toBe(400);
    expect(await refused.json()).toMatchObject({ success: false, code: 'VALIDATION_FAILED', details: [{ path: 'status' }] });
    const tooLong = await api.instance.$patch({ json: { name: 'n'.repeat(101) } });
    expect(await tooLong.json()).toMatchObject({ code: 'VALIDATION_FAILED', details: [{ path: 'name' }] });
    expect((await (await api.instance.$get()).json()).data.name).toBe('Hub');
  });

  it('refuses a JSON body not sent as JSON, instead of reading it as empty', async () => {
    const response = await federation.app.request('/api/v1/federation/instance', {
      method: 'PATCH',
      headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'text/plain' },
      body: JSON.stringify({ name: 'Hub North' }),
    });
    expect(response.status).toBe(400);
    expect(await response.json()).toMatchObject({ code: 'VALIDATION_FAILED', details: [{ path: '(root)' }] });
    expect((await (await api.instance.$get()).json()).data.name).toBe('Hub');
  });
});
