import { base64url } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createFederation, type Federation } from '../src/app.js';
import { createAdminToken } from '../src/auth/admin-tokens.js';
import { createJsonLogger } from '../src/logger.js';
import { openPrivateKey } from '../src/lib/sealed-key.js';
import type { FederationStores } from '../src/stores/types.js';
import { createClock, createFileStores } from './helpers.js';

// PROTOCOL 1: the private key appears in no API response, and neither does the secret
// that seals it. This calls every route, including its error paths, and searches every
// response body and header for any encoding of either.
const SECRET = 'no-secrets-test-secret-0123456789abcdefghij';

let federation: Federation;
let stores: FederationStores;
let cleanup: () => Promise<void>;
let token: string;
const logLines: string[] = [];
const privateParts = new Set<string>();

async function rememberCurrentPrivateKey() {
  const record = await stores.instance.get();
  if (record === undefined) throw new Error('missing instance');
  const jwk = await openPrivateKey(record.encryptedPrivateKey, SECRET, record.instanceId);
  privateParts.add(jwk.d);
}

/** Every way the private part `d` could be written out. */
function encodingsOf(d: string): string[] {
  const bytes = base64url.decode(d);
  const standard = btoa(String.fromCharCode(...bytes));
  return [
    d,
    standard,
    standard.replace(/=+$/, ''),
    Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join(''),
    Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('').toUpperCase(),
  ];
}

beforeAll(async () => {
  ({ stores, cleanup } = await createFileStores());
  const clock = createClock();
  federation = createFederation({
    url: 'https://spoke.example.com',
    secret: SECRET,
    stores,
    now: clock.now,
    logger: createJsonLogger({ level: 'debug', write: (line) => logLines.push(line) }),
  });
  await federation.instance.load();
  ({ token } = await createAdminToken({ store: stores.adminTokens, label: 'leak-check', actor: { type: 'cli', id: 'test' } }));
  await rememberCurrentPrivateKey();
});

afterAll(async () => {
  await cleanup();
});

describe('no secret ever leaves the instance', () => {
  it('in any response body or header, on any route, including error paths', async () => {
    const auth = { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' };
    const calls: [string, RequestInit][] = [
      ['/.well-known/mosaic-federation', {}],
      ['/api/v1/federation/instance', { headers: auth }],
      ['/api/v1/federation/instance', { headers: {} }],
      ['/api/v1/federation/instance', { headers: { Authorization: 'Bearer mfa_nope' } }],
      ['/api/v1/federation/instance', { method: 'PATCH', headers: auth, body: JSON.stringify({ name: 'Renamed' }) }],
      ['/api/v1/federation/instance', { method: 'PATCH', headers: auth, body: JSON.stringify({ name: '' }) }],
      ['/api/v1/federation/instance', { method: 'PATCH', headers: auth, body: '{"broken' }],
      ['/api/v1/federation/instance', { method: 'PATCH', headers: auth, body: JSON.stringify({ d: 'x' }) }],
      ['/api/v1/federation/instance', { method: 'PATCH', headers: auth, body: 'x'.repeat(300 * 1024) }],
      ['/api/v1/federation/instance', { method: 'PATCH', headers: {}, body: JSON.stringify({ name: 'x' }) }],
      ['/api/v1/federation/instance/regenerate-keys', { method: 'POST', headers: auth }],
      ['/api/v1/federation/instance/regenerate-keys', { method: 'POST', headers: {} }],
      ['/api/v1/federation/audit', { headers: auth }],
      ['/api/v1/federation/audit?limit=0', { headers: auth }],
      ['/api/v1/federation/audit?cursor=%00', { headers: auth }],
      ['/api/v1/federation/audit', { headers: {} }],
      ['/api/v1/federation/nothing', { headers: auth }],
      ['/nothing', {}],
      ['/.well-known/mosaic-federation', { method: 'DELETE' }],
    ];
    const transcripts: string[] = [];
    const statuses = new Set<number>();
    for (const [path, init] of calls) {
      const response = await federation.app.request(path, init);
      statuses.add(response.status);
      transcripts.push([...response.headers].map(([k, v]) => `${k}: ${v}`).join('\n'), await response.text());
      // Regeneration makes a new private key: remember it too.
      if (path.endsWith('regenerate-keys') && response.status === 200) await rememberCurrentPrivateKey();
    }
    // The calls reached success and every kind of failure.
    expect([...statuses].sort()).toEqual([200, 400, 401, 404, 413]);

    // The web UI's pages and forms, signed in and not, a key regeneration among them.
    const record = async (response: Response) => {
      transcripts.push([...response.headers].map(([k, v]) => `${k}: ${v}`).join('\n'), await response.clone().text());
      return response;
    };
    const formOf = (fields: Record<string, string>, cookie = '') => ({
      method: 'POST',
      body: new URLSearchParams(fields),
      headers: { 'Content-Type': 'application/x-www-form-urlencoded', Cookie: cookie },
    });
    const signInPage = await record(await federation.app.request('/federation/sign-in'));
    const guardCookie = (signInPage.headers.get('set-cookie') ?? '').split(';')[0] ?? '';
    const guard = /name="guard" value="([^"]+)"/.exec(await signInPage.text())?.[1] ?? '';
    await record(await federation.app.request('/federation/sign-in', formOf({ guard, token: 'mfa_nope' }, guardCookie)));
    const signedIn = await record(await federation.app.request('/federation/sign-in', formOf({ guard, token }, guardCookie)));
    const cookie = (signedIn.headers.get('set-cookie') ?? '').split(';')[0] ?? '';
    const settings = await (await record(await federation.app.request('/federation/settings', { headers: { Cookie: cookie } }))).text();
    const csrf = /name="csrf" value="([^"]+)"/.exec(settings)?.[1] ?? '';
    await record(await federation.app.request('/federation/settings', formOf({ csrf, name: '', metadata: '[' }, cookie)));
    await record(await federation.app.request('/federation/settings', formOf({ name: 'no csrf' }, cookie)));
    const regenerated = await record(await federation.app.request('/federation/settings/regenerate-keys', formOf({ csrf }, cookie)));
    expect(regenerated.status).toBe(303);
    // The page the redirect leads to is searched as well.
    const after = await record(await federation.app.request(regenerated.headers.get('location') ?? '', { headers: { Cookie: cookie } }));
    expect(after.status).toBe(200);
    await rememberCurrentPrivateKey();
    expect(privateParts.size).toBe(3);

    const everything = [...transcripts, ...logLines].join('\n');
    for (const d of privateParts) {
      for (const encoding of encodingsOf(d)) expect(everything).not.toContain(encoding);
    }
    expect(everything).not.toContain(SECRET);
    expect(everything).not.toContain(token);
    expect(everything).not.toMatch(/"d"\s*:/);
    // The sealed form stays in the store too.
    const stored = await stores.instance.get();
    expect(everything).not.toContain(stored?.encryptedPrivateKey);
  });
});
