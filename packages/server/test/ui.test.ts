import { InstanceDocumentSchema, type AgentStatus, type PrivateJwk } from '@mosaic-fed/core';
import { beforeEach, describe, expect, it } from 'vitest';
import { createFederation, type Federation } from '../src/app.js';
import { createAdminToken } from '../src/auth/admin-tokens.js';
import { openPrivateKey } from '../src/lib/sealed-key.js';
import { createInMemoryStores } from '../src/stores/memory/index.js';
import { allAudit, auditEntry } from './helpers.js';
import { agentStatus, connectionRecord } from './store-contract.js';

// The web UI through the app itself: sign-in into a session cookie, CSRF on every form,
// the settings page and its form, key regeneration, and the wording and secrets of every
// page. (Browser tests in Chromium come with the connections and agents pages.)
const SECRET = 'a-test-secret-that-is-long-enough-1234567890';
const URL_ = 'https://spoke.example.com';
const ORIGIN = { Origin: URL_ };
/** Words a page never uses at a person (the list). */
const DEMANDING = [/\bmust\b/i, /\brequired\b/i, /\bmandatory\b/i, /\bimmediately\b/i, /\burgent\b/i, /error!/i, /failed to/i, /\bINVALID\b/];

let federation: Federation;
let token: string;

beforeEach(async () => {
  federation = createFederation({ url: URL_, secret: SECRET, stores: createInMemoryStores(), name: 'Spoke West' });
  await federation.instance.load();
  ({ token } = await createAdminToken({ store: federation.stores.adminTokens, label: 'ui', actor: { type: 'cli', id: 'test' } }));
});

const request = (path: string, init: RequestInit = {}) => federation.app.request(`${URL_}${path}`, init);
const form = (fields: Record<string, string | string[]>, cookie?: string): RequestInit => {
  const body = new URLSearchParams();
  for (const [name, value] of Object.entries(fields)) for (const one of [value].flat()) body.append(name, one);
  return { method: 'POST', body, headers: { ...ORIGIN, 'Content-Type': 'application/x-www-form-urlencoded', ...(cookie === undefined ? {} : { Cookie: cookie }) } };
};

/** Sends the sign-in form as a browser would: with the guard its page set. */
async function postSignIn(tokenToSend: string): Promise<Response> {
  const page = await request('/federation/sign-in');
  const guardCookie = (page.headers.get('set-cookie') ?? '').split(';')[0] ?? '';
  const guard = /name="guard" value="([^"]+)"/.exec(await page.text())?.[1] ?? '';
  return request('/federation/sign-in', form({ guard, token: tokenToSend }, guardCookie));
}

async function signIn(): Promise<{ cookie: string; csrf: string }> {
  const response = await postSignIn(token);
  expect(response.status).toBe(303);
  const setCookie = response.headers.get('set-cookie') ?? '';
  const cookie = setCookie.split(';')[0] ?? '';
  const page = await (await request('/federation/settings', { headers: { Cookie: cookie } })).text();
  const csrf = /name="csrf" value="([^"]+)"/.exec(page)?.[1] ?? '';
  return { cookie, csrf };
}

/** The words on a page, as a person reads them. */
const textOf = (html: string) => html.replace(/<script>[\s\S]*?<\/script>|<style>[\s\S]*?<\/style>/g, '').replace(/<[^>]+>/g, ' ');

describe('web UI', () => {
  it('is where a browser at the root of the instance lands', async () => {
    const root = await request('/');
    expect(root.status).toBe(303);
    expect(root.headers.get('location')).toBe('/federation/');
  });

  it('signs in with an admin token into a session cookie that is httpOnly, SameSite=Strict and Secure over https', async () => {
    expect((await request('/federation/settings')).headers.get('location')).toBe('/federation/sign-in');
    const refused = await postSignIn('mfa_wrong');
    expect(refused.status).toBe(401);
    expect(await refused.text()).toContain('That token does not open this instance');
    expect(refused.headers.get('set-cookie')).toBeNull();

    // The sign-in form without the guard its page set is refused, right token or not.
    expect((await request('/federation/sign-in', form({ token }))).status).toBe(403);
    const response = await postSignIn(token);
    const setCookie = response.headers.get('set-cookie') ?? '';
    // Named for this instance: another instance on the same host keeps its own session.
    const { instanceId } = await federation.instance.load();
    expect(setCookie.startsWith(`mosaic_fed_session_${instanceId.replace(/-/g, '').slice(0, 16)}=`)).toBe(true);
    expect(setCookie).toMatch(/^mosaic_fed_session_[0-9a-f]{16}=[^;]+;/);
    expect(setCookie).toMatch(/HttpOnly/);
    expect(setCookie).toMatch(/SameSite=Strict/);
    expect(setCookie).toMatch(/Secure/);
    expect(setCookie).toMatch(/Path=\/federation/);
    // A forged or altered cookie opens nothing.
    const { cookie } = await signIn();
    const altered = cookie.replace(/.$/, (last) => (last === 'A' ? 'B' : 'A'));
    expect((await request('/federation/settings', { headers: { Cookie: altered } })).status).toBe(303);
  });

  it('refuses a form without its CSRF token, or sent from another site, and changes nothing', async () => {
    const { cookie, csrf } = await signIn();
    const before = await allAudit(federation.stores);
    const withoutToken = await request('/federation/settings', form({ name: 'Taken over' }, cookie));
    expect(withoutToken.status).toBe(403);
    const crossSite = await request('/federation/settings', {
      ...form({ name: 'Taken over', csrf }, cookie),
      headers: { Origin: 'https://elsewhere.example', 'Content-Type': 'application/x-www-form-urlencoded', Cookie: cookie },
    });
    expect(crossSite.status).toBe(403);
    expect((await federation.instance.load()).name).toBe('Spoke West');
    expect(await allAudit(federation.stores)).toEqual(before);
  });

  it('saves the name, capabilities and metadata, and the instance document shows them', async () => {
    const { cookie, csrf } = await signIn();
    const saved = await request(
      '/federation/settings',
      form({ csrf, name: 'Spoke North', supportsQuery: 'on', supportsCommand: 'on', supportsEvent: 'on', agentTypes: ['worker', 'tester'], maxConcurrentAgents: '2', metadata: '{"region":"eu-north"}' }, cookie),
    );
    expect(saved.status).toBe(303);
    expect(saved.headers.get('location')).toBe('/federation/settings?saved');
    const document = InstanceDocumentSchema.parse(await (await request('/.well-known/mosaic-federation')).json());
    expect(document).toMatchObject({
      name: 'Spoke North',
      metadata: { region: 'eu-north' },
      capabilities: { supportsAgentSpawn: false, agentTypes: ['worker', 'tester'], maxConcurrentAgents: 2 },
    });
    const page = await (await request('/federation/settings?saved', { headers: { Cookie: cookie } })).text();
    expect(page).toContain('Your changes are saved.');
    expect((await allAudit(federation.stores)).at(0)).toMatchObject({ action: 'instance.update', actor: { type: 'admin-token' } });
  });

  it('explains a value it cannot use beside its field, keeps what was typed, and saves nothing', async () => {
    const { cookie, csrf } = await signIn();
    const response = await request('/federation/settings', form({ csrf, name: 'Spoke West', agentTypes: 'worker', maxConcurrentAgents: '4', metadata: '{"region": ' }, cookie));
    expect(response.status).toBe(400);
    const page = await response.text();
    expect(page).toContain('Metadata is a JSON object of up to 16 KiB');
    expect(page).toContain('aria-describedby="metadata-help metadata-note"');
    expect(page).toContain('{&quot;region&quot;: </textarea>');
    const tooLong = await (await request('/federation/settings', form({ csrf, name: 'x'.repeat(101), agentTypes: 'worker', maxConcurrentAgents: '4', metadata: '{}' }, cookie))).text();
    expect(tooLong).toContain('A name of 1 to 100 characters fits here.');
    expect((await federation.instance.load()).name).toBe('Spoke West');
  });

  it('makes a new key pair from the confirmation form; the document then leads with the new key', async () => {
    const { cookie, csrf } = await signIn();
    const before = (await federation.instance.load()).keys[0]?.publicJwk.kid;
    const settings = await (await request('/federation/settings', { headers: { Cookie: cookie } })).text();
    expect(settings).toContain('<dialog id="regenerate"');
    const response = await request('/federation/settings/regenerate-keys', form({ csrf }, cookie));
    // Answered with a redirect: the page it leads to says so, and reloading it makes no other pair.
    expect(response.status).toBe(303);
    const location = response.headers.get('location') ?? '';
    expect(location).toBe('/federation/settings?done=keys');
    let after = '';
    for (let reload = 0; reload < 2; reload++) {
      after = await (await request(location, { headers: { Cookie: cookie } })).text();
      expect(after).toContain('A new key pair is in use');
    }
    const document = InstanceDocumentSchema.parse(await (await request('/.well-known/mosaic-federation')).json());
    expect(document.keys.map((k) => k.kid)).toEqual([expect.not.stringMatching(before ?? ''), before]);
    // The page lists both: the new key signs, the one before is accepted for its day of grace.
    const rows = [...after.matchAll(/<tr data-kid="([^"]+)">([\s\S]*?)<\/tr>/g)].map(([, kid, row]) => [kid, textOf(row ?? '')]);
    expect(rows.map(([kid]) => kid)).toEqual(document.keys.map((k) => k.kid));
    expect(rows[0]?.[1]).toMatch(/current\s+signs every message/);
    expect(rows[1]?.[1]).toMatch(/previous\s+accepted until \d{4}-\d{2}-\d{2} \d{2}:\d{2} UTC/);
  });

  it('names what a spawn form lacks in words, and keeps what it held when the agent does not start', async () => {
    const { cookie, csrf } = await signIn();
    const peer = await connectionRecord({ peerName: 'Spoke East', status: 'ACTIVE' });
    await federation.stores.connections.create(peer, auditEntry('connection.create'));
    const empty = await request('/federation/agents', form({ csrf, connectionId: peer.id, agentType: 'worker', taskId: '', repository: '', branch: 'main' }, cookie));
    expect(empty.status).toBe(400);
    const emptyText = textOf(await empty.text());
    expect(emptyText).toContain('The task id and the repository need another look');
    expect(emptyText).not.toContain('taskId');

    // A refusal (here the connection is gone) says why, and gives the form back as it was.
    const fields = {
      connectionId: crypto.randomUUID(),
      agentType: 'reviewer',
      taskId: 'review-login',
      repository: 'https://git.example.com/acme/site',
      branch: 'feature/login',
      instructions: 'Look at the login form.',
    };
    const refused = await request('/federation/agents', form({ csrf, ...fields }, cookie));
    expect(refused.status).toBe(404);
    const html = await refused.text();
    expect(textOf(html)).toContain('The agent did not start:');
    expect(textOf(html)).toContain('The form is as you left it.');
    expect(html).toContain('value="review-login"');
    expect(html).toContain('value="https://git.example.com/acme/site"');
    expect(html).toContain('value="feature/login"');
    expect(html).toContain('Look at the login form.');
    expect(html).toMatch(/<option value="reviewer" selected/);
  });

  it('lists sent and hosted agents in one view, newest first, filtered and paged, with times, peers and tokens', async () => {
    const { cookie } = await signIn();
    const east = await connectionRecord({ peerName: 'Spoke East', status: 'ACTIVE' });
    const north = await connectionRecord({ peerName: 'Hub North', status: 'ACTIVE' });
    for (const peer of [east, north]) await federation.stores.connections.create(peer, auditEntry('connection.create'));
    // 55 agents, a minute apart: sent to East at even minutes, hosted for North at odd ones.
    const at = (minute: number) => new Date(Date.UTC(2026, 10, 25, 12, minute)).toISOString();
    for (let minute = 0; minute < 55; minute++) {
      const status = agentStatus({ taskId: `task-${minute}`, agentType: minute % 3 === 0 ? 'tester' : 'worker', spawnedAt: at(minute) });
      if (minute % 2 === 0) {
        await federation.stores.remoteAgents.create({ agentId: status.agentId, connectionId: east.id, peerInstanceId: east.peerInstanceId, taskId: status.taskId, agentType: status.agentType, status, sequence: 0, createdAt: at(minute) });
      } else {
        await federation.stores.hostedAgents.reserve({ agentId: status.agentId, connectionId: north.id, ownerInstanceId: north.peerInstanceId, status, sequence: 0, createdAt: at(minute) }, { connection: 100 });
      }
    }
    const done = agentStatus({ taskId: 'task-54', agentType: 'tester', spawnedAt: at(54), startedAt: at(54), completedAt: new Date(Date.UTC(2026, 10, 25, 13, 57, 5)).toISOString(), status: 'completed', result: { summary: 'ok', usage: { inputTokens: 1_000, outputTokens: 200, cacheReadInputTokens: 300 } } });
    const [sent54] = (await federation.stores.remoteAgents.list({ limit: 1, newestFirst: true })).agents;
    await federation.stores.remoteAgents.applyEvent(sent54?.agentId ?? '', { ...done, agentId: sent54?.agentId ?? '', sequence: 1 });

    const page = async (query: string) => {
      const response = await request(`/federation/agents${query}`, { headers: { Cookie: cookie } });
      const html = await response.text();
      const tasks = [...html.matchAll(/<tr data-agent="[^"]+" data-direction="(sent|hosted)"><td data-label="Task">(?:<a [^>]+>)?(task-\d+)/g)].map((m) => `${m[1]}:${m[2]}`);
      const older = /<a href="\/federation\/agents\?([^"]+)">Older agents<\/a>/.exec(html)?.[1]?.replaceAll('&amp;', '&');
      return { status: response.status, html, text: textOf(html), tasks, older };
    };
    const first = await page('');
    expect(first.tasks).toHaveLength(50);
    expect(first.tasks.slice(0, 3)).toEqual(['sent:task-54', 'hosted:task-53', 'sent:task-52']);
    // The newest: its peer's name, its state as a badge, when it ran, how long, its tokens.
    const row = /<tr data-agent="[^"]+" data-direction="sent">[\s\S]*?<\/tr>/.exec(first.html)?.[0] ?? '';
    expect(textOf(row).replace(/\s+/g, ' ')).toMatch(/task-54 tester on Spoke East done 2026-11-25 12:54 2026-11-25 12:54 2026-11-25 13:57 1 h 3 min 1,500/);
    expect(row).toContain('class="badge" data-tone="good"');
    expect(first.text).toContain('here, for Hub North');
    expect(first.older).toBeDefined();
    const second = await page(`?${first.older}`);
    expect(second.tasks).toEqual(['sent:task-4', 'hosted:task-3', 'sent:task-2', 'hosted:task-1', 'sent:task-0']);
    expect(second.older).toBeUndefined();
    expect(new Set([...first.tasks, ...second.tasks]).size).toBe(55);

    // Filters: each narrows the list; paging keeps them.
    expect((await page('?show=hosted')).tasks.every((t) => t.startsWith('hosted:'))).toBe(true);
    expect((await page(`?peer=${east.id}`)).tasks).toHaveLength(28);
    expect((await page('?status=completed')).tasks).toEqual(['sent:task-54']);
    expect((await page('?type=tester&show=sent')).tasks).toEqual(['sent:task-54', 'sent:task-48', 'sent:task-42', 'sent:task-36', 'sent:task-30', 'sent:task-24', 'sent:task-18', 'sent:task-12', 'sent:task-6', 'sent:task-0']);
    expect((await page('?task=task-7')).tasks).toEqual(['hosted:task-7']);
    const filteredEmpty = await page('?task=nothing-here');
    expect(filteredEmpty.text).toContain('No agent fits these filters.');
    const bad = await page('?task=%20has%20spaces%20inside');
    expect(bad.status).toBe(400);
    expect(bad.text).toContain('These filters need another look');
  });

  it("shows an agent's timeline and its patch per file, lines marked by sign, with the patch to download", async () => {
    const { cookie } = await signIn();
    const east = await connectionRecord({ peerName: 'Spoke East', status: 'ACTIVE' });
    await federation.stores.connections.create(east, auditEntry('connection.create'));
    const status = agentStatus({ taskId: 'fix-login', spawnedAt: '2026-11-25T12:00:00.000Z' });
    const { agentId } = status;
    await federation.stores.remoteAgents.create({ agentId, connectionId: east.id, peerInstanceId: east.peerInstanceId, taskId: 'fix-login', agentType: 'worker', status, sequence: 0, createdAt: status.spawnedAt });
    const patch = 'diff --git a/login.js b/login.js\n--- a/login.js\n+++ b/login.js\n@@ -1 +1 @@\n-old\n+new\ndiff --git a/README.md b/README.md\n--- a/README.md\n+++ b/README.md\n@@ -0,0 +1 @@\n+docs\n';
    const moves = [
      { ...status, status: 'running' as const, startedAt: '2026-11-25T12:00:05.000Z', sequence: 1 },
      { ...status, status: 'running' as const, attempt: 2, startedAt: '2026-11-25T12:01:00.000Z', sequence: 2 },
      { ...status, status: 'completed' as const, attempt: 2, startedAt: '2026-11-25T12:01:00.000Z', completedAt: '2026-11-25T12:03:00.000Z', result: { summary: 'Fixed', patch }, sequence: 3 },
    ];
    for (const move of moves) expect(await federation.stores.remoteAgents.applyEvent(agentId, move)).toBe('applied');
    const html = await (await request(`/federation/agents/${agentId}`, { headers: { Cookie: cookie } })).text();
    expect(textOf(html)).toContain('A worker agent you started on Spoke East.');
    const timeline = /<ol id="agent-timeline"[\s\S]*?<\/ol>/.exec(html)?.[0] ?? '';
    expect(textOf(timeline).replace(/\s+/g, ' ').trim()).toBe(
      'starting 2026-11-25 12:00:00 UTC working 2026-11-25 12:00:05 UTC working 2026-11-25 12:01:00 UTC (attempt 2) done 2026-11-25 12:03:00 UTC (attempt 2)',
    );
    expect(textOf(html)).toContain('2 files changed.');
    expect([...html.matchAll(/<summary><code>([^<]+)<\/code><\/summary>/g)].map((m) => m[1])).toEqual(['login.js', 'README.md']);
    expect(html).toContain('<span data-line="del">-old</span><span data-line="add">+new</span>');
    const download = await request(`/federation/agents/${agentId}/patch`, { headers: { Cookie: cookie } });
    expect(download.headers.get('content-disposition')).toBe('attachment; filename="fix-login.patch"');
    expect(await download.text()).toBe(patch);
    // Without a session, nothing; an agent without a patch has nothing to download.
    expect((await request(`/federation/agents/${agentId}/patch`)).status).toBe(303);
    expect((await request(`/federation/agents/${crypto.randomUUID()}/patch`, { headers: { Cookie: cookie } })).status).toBe(404);

    // An agent hosted here for a peer has the same page, from this instance's own records.
    const north = await connectionRecord({ peerName: 'Hub North', status: 'ACTIVE' });
    await federation.stores.connections.create(north, auditEntry('connection.create'));
    const hosted = agentStatus({ taskId: 'review-api', agentType: 'reviewer' });
    await federation.stores.hostedAgents.reserve({ agentId: hosted.agentId, connectionId: north.id, ownerInstanceId: north.peerInstanceId, status: hosted, sequence: 0, createdAt: hosted.spawnedAt }, { connection: 5 });
    const hostedPage = await request(`/federation/hosted/${hosted.agentId}`, { headers: { Cookie: cookie } });
    expect(hostedPage.status).toBe(200);
    const hostedHtml = await hostedPage.text();
    expect(textOf(hostedHtml)).toContain('A reviewer agent running on this instance for Hub North.');
    expect(hostedHtml).toContain(`action="/federation/hosted/${hosted.agentId}/kill"`);
    // A sent agent's id is no hosted agent, and the other way round.
    expect((await request(`/federation/hosted/${agentId}`, { headers: { Cookie: cookie } })).status).toBe(404);
    const missing = await request(`/federation/agents/${hosted.agentId}`, { headers: { Cookie: cookie } });
    expect(missing.status).toBe(404);
    // Said in words, with the navigation of a signed-in page and no code or stack.
    const missingText = textOf(await missing.text());
    expect(missingText).toContain('There is nothing here.');
    expect(missingText).toContain('Audit log');
    expect(missingText).not.toMatch(/NOT_FOUND|Error:/);
  });

  it("says on an agent's page how its checks went, what it cost, and what it waits for, with the rule that holds it", async () => {
    const { cookie } = await signIn();
    const east = await connectionRecord({ peerName: 'Spoke East', status: 'ACTIVE' });
    await federation.stores.connections.create(east, auditEntry('connection.create'));
    const page = async (id: string) =>
      textOf(await (await request(`/federation/agents/${id}`, { headers: { Cookie: cookie } })).text())
        .replace(/\s+/g, ' ')
        .replaceAll('&#39;', "'");
    const sent = async (status: AgentStatus) => {
      await federation.stores.remoteAgents.create({ agentId: status.agentId, connectionId: east.id, peerInstanceId: east.peerInstanceId, taskId: status.taskId, agentType: status.agentType, status: { ...status, status: 'spawning' }, sequence: 0, createdAt: status.spawnedAt });
      expect(await federation.stores.remoteAgents.applyEvent(status.agentId, { ...status, sequence: 1 })).toBe('applied');
      return status.agentId;
    };

    const checked = await sent(
      agentStatus({
        status: 'completed',
        startedAt: '2026-11-25T12:00:05.000Z',
        completedAt: '2026-11-25T12:09:00.000Z',
        result: {
          summary: 'Fixed the parser; lint still complains.',
          checks: [
            { command: 'npm test', exitCode: 0 },
            { command: 'npm run lint', exitCode: 1 },
            { command: 'npm run e2e', exitCode: 124, timedOut: true },
          ],
          usage: { inputTokens: 12_000, outputTokens: 3_000, cacheReadInputTokens: 8_000, estimatedCost: { amount: 0.081, currency: 'USD' } },
        },
      }),
    );
    const checks = await page(checked);
    expect(checks).toContain('npm test passed');
    expect(checks).toContain('npm run lint failed (exit code 1)');
    expect(checks).toContain('npm run e2e ran out of time');
    // Input counts what was read from the prompt cache too.
    expect(checks).toContain('20,000 input tokens (8,000 of them read from the prompt cache) and 3,000 output tokens');
    expect(checks).toContain("about 0.081 USD by the peer's prices");

    const held = await sent(
      agentStatus({
        status: 'waiting',
        startedAt: '2026-11-25T12:00:05.000Z',
        pendingApproval: { id: 'cmd-1', kind: 'command', summary: 'rm -rf build', details: { rule: 'rm *' } },
      }),
    );
    const waiting = await page(held);
    expect(waiting).toContain('It waits for your approval of a command');
    expect(waiting).toContain("It is held by the connection's rule rm *");
    expect(waiting).toContain('If you do not approve, the agent reads your note and finds another way.');

    const unknownKind = await sent(agentStatus({ status: 'waiting', startedAt: '2026-11-25T12:00:05.000Z', pendingApproval: { id: 'x-1', kind: 'deploy', summary: 'Ship it' } }));
    expect(await page(unknownKind)).toContain('It waits for your approval of deploy');
  });

  it("lands on a home page that says how the instance is doing: its parts, the outbox's backlog, recent failures", async () => {
    const clock = { now: new Date('2026-11-25T12:10:00.000Z') };
    federation = createFederation({
      url: URL_,
      secret: SECRET,
      stores: createInMemoryStores(),
      name: 'Spoke West',
      now: () => clock.now,
      health: [
        { name: 'Sandboxes', check: async () => ({ state: 'good', words: 'bubblewrap sandbox; isolation: namespace.' }) },
        { name: 'Valkey', check: async () => Promise.reject(new Error('connect ECONNREFUSED 10.1.2.3:6379 /srv/secret/path')) },
      ],
    });
    await federation.instance.load();
    ({ token } = await createAdminToken({ store: federation.stores.adminTokens, label: 'ui', actor: { type: 'cli', id: 'test' } }));
    const signedIn = await postSignIn(token);
    expect(signedIn.headers.get('location')).toBe('/federation/home');
    const { cookie } = await signIn();

    const east = await connectionRecord({ peerName: 'Spoke East', status: 'ACTIVE' });
    await federation.stores.connections.create(east, auditEntry('connection.create'));
    const failed = agentStatus({ taskId: 'broken-build', status: 'failed', error: 'the tests did not pass', completedAt: '2026-11-25T12:05:00.000Z' });
    await federation.stores.remoteAgents.create({ agentId: failed.agentId, connectionId: east.id, peerInstanceId: east.peerInstanceId, taskId: failed.taskId, agentType: 'worker', status: failed, sequence: 0, createdAt: failed.spawnedAt });
    const entry = (createdAt: number) => ({ id: crypto.randomUUID(), connectionId: east.id, peerInstanceId: east.peerInstanceId, orderKey: null, eventType: 'agent.status.changed', payload: {}, attempts: 0, nextAttemptAt: createdAt, giveUpAt: createdAt + 86_400_000, createdAt, deliveredAt: null, lastError: null });
    const old = entry(clock.now.getTime() - 12 * 60_000);
    await federation.stores.outbox.enqueue(old);
    await federation.stores.outbox.enqueue(entry(clock.now.getTime() - 60_000));
    await federation.stores.outbox.reschedule(old.id, 1, clock.now.getTime() + 5_000, 'the peer did not answer');

    const response = await request('/federation/home', { headers: { Cookie: cookie } });
    expect(response.status).toBe(200);
    const html = await response.text();
    const check = (name: string) => textOf(new RegExp(`<tr data-check="${name}">[\\s\\S]*?</tr>`).exec(html)?.[0] ?? '').replace(/\s+/g, ' ').trim();
    expect(check('Orchestrator')).toBe('Orchestrator not in use None: this instance starts agents on peers, and runs none for them.');
    expect(check('Sandboxes')).toBe('Sandboxes fine bubblewrap sandbox; isolation: namespace.');
    // A probe that fails needs a look, and its reason (hosts, paths) stays off the page.
    expect(check('Valkey')).toBe('Valkey needs a look It did not answer just now. The log has the details.');
    expect(html).not.toContain('10.1.2.3');
    expect(check('outbox')).toBe('Events for peers retrying 2 waiting, the oldest for 12 min; 1 of them after a try that did not reach the peer. Each is tried again with growing pauses, for at least a day.');
    const failures = textOf(/<ul id="recent-failures">[\s\S]*?<\/ul>/.exec(html)?.[0] ?? '').replace(/\s+/g, ' ').trim();
    expect(failures).toBe('broken-build ended without a result on Spoke East, 2026-11-25 12:05 UTC: the tests did not pass');
    for (const word of DEMANDING) expect(textOf(html)).not.toMatch(word);
  });

  it('shows each connection with its peer id, its agents against the limit and its grants in words; ended ones folded away', async () => {
    const clock = { now: new Date('2026-11-25T18:00:00.000Z') };
    federation = createFederation({ url: URL_, secret: SECRET, stores: createInMemoryStores(), name: 'Spoke West', now: () => clock.now });
    await federation.instance.load();
    ({ token } = await createAdminToken({ store: federation.stores.adminTokens, label: 'ui', actor: { type: 'cli', id: 'test' } }));
    const { cookie } = await signIn();
    const base = await connectionRecord({ peerName: 'Hub North', status: 'ACTIVE' });
    const north = { ...base, grants: { ...base.grants, allowedAgentTypes: ['worker' as const, 'tester' as const], maxConcurrentAgents: 3, repositories: ['https://github.com/acme/*'] } };
    const asking = await connectionRecord({ peerName: 'Hub South', status: 'PENDING' });
    const gone = await connectionRecord({ peerName: 'Hub Gone', status: 'DISCONNECTED' });
    for (const connection of [north, asking, gone]) await federation.stores.connections.create(connection, auditEntry('connection.create'));
    const hostedFor = async (overrides: Parameters<typeof agentStatus>[0]) => {
      const status = agentStatus(overrides);
      await federation.stores.hostedAgents.reserve({ agentId: status.agentId, connectionId: north.id, ownerInstanceId: north.peerInstanceId, status, sequence: 0, createdAt: status.spawnedAt }, { connection: 10 });
    };
    await hostedFor({ status: 'running' });
    await hostedFor({ status: 'completed', completedAt: '2026-11-25T09:00:00.000Z', result: { summary: 'ok', usage: { inputTokens: 1_000, outputTokens: 500, cacheReadInputTokens: 2_000 } } });
    // Yesterday's tokens are not today's.
    await hostedFor({ status: 'completed', completedAt: '2026-11-24T23:00:00.000Z', result: { summary: 'ok', usage: { inputTokens: 9_999, outputTokens: 1 } } });

    const list = await (await request('/federation/connections', { headers: { Cookie: cookie } })).text();
    const rowOf = (connection: { id: string }) => textOf(new RegExp(`<tr data-connection="${connection.id}">[\\s\\S]*?</tr>`).exec(list)?.[0] ?? '').replace(/\s+/g, ' ');
    expect(rowOf(north)).toContain(`id ${north.peerInstanceId}`);
    expect(rowOf(north)).toContain('1 running of at most 3');
    expect(rowOf(north)).toContain('Disconnect…');
    expect(list).toContain(`<dialog id="disconnect-${north.id}"`);
    expect(textOf(/<p id="pending-requests"[\s\S]*?<\/p>/.exec(list)?.[0] ?? '').trim()).toBe('One instance asks to connect: accept or decline below.');
    // Every signed-in page counts the requests waiting, in its navigation.
    for (const path of ['/federation/connections', '/federation/agents', '/federation/home', '/federation/audit']) {
      const html = await (await request(path, { headers: { Cookie: cookie } })).text();
      expect(textOf(/<nav[\s\S]*?<\/nav>/.exec(html)?.[0] ?? '').replace(/\s+/g, ' '), path).toContain('Connections 1 waiting');
    }
    const folded = /<details id="ended-connections">[\s\S]*?<\/details>/.exec(list)?.[0] ?? '';
    expect(textOf(folded)).toContain('Ended connections (1)');
    expect(folded).toContain(`data-connection="${gone.id}"`);
    expect(folded).not.toContain(`data-connection="${north.id}"`);

    const page = await (await request(`/federation/connections/${north.id}`, { headers: { Cookie: cookie } })).text();
    const words = textOf(/<ul id="grants-in-words">[\s\S]*?<\/ul>/.exec(page)?.[0] ?? '').replace(/\s+/g, ' ').trim();
    expect(words).toContain('It may start worker and tester agents here, at most 3 at once and');
    expect(words).toContain('1 running now.');
    expect(words).toContain('Its agents may fetch repositories matching https://github.com/acme/*.');
    expect(words).toContain('Their sandboxes reach only what this instance&#39;s own egress rules allow.');
    expect(words).toMatch(/Its agents here used 3,500 model tokens today \(UTC\), and ran [\d,]+ minutes\./);
  });

  it('says what fits when the connect form holds no address, and fetches nothing for it', async () => {
    const { cookie, csrf } = await signIn();
    for (const url of ['', 'not a url', 'ftp://hub.example.com']) {
      const response = await request('/federation/connections', form({ csrf, url }, cookie));
      expect(response.status, url).toBe(400);
      const text = textOf(await response.text());
      expect(text).toContain('An address such as https://federation.example.com fits here.');
      expect(text).not.toContain('answered as a Mosaic Federation instance');
    }
    expect(await federation.stores.connections.list()).toEqual([]);
  });

  it('says nothing answered at an address where no instance listens, and that it fits', async () => {
    const { cookie, csrf } = await signIn();
    const response = await request('/federation/connections', form({ csrf, url: 'http://127.0.0.1:9' }, cookie));
    expect(response.status).toBe(400);
    const text = textOf(await response.text());
    expect(text).toContain('Nothing at that address answered as a Mosaic Federation instance.');
    expect(text).not.toContain('fits here');
    expect(await federation.stores.connections.list()).toEqual([]);
  });

  it('lists the admin tokens without any secret, revokes one behind its form, and signs out a session whose token is revoked', async () => {
    const { cookie, csrf } = await signIn();
    const deploy = await createAdminToken({ store: federation.stores.adminTokens, label: 'deploy script', actor: { type: 'cli', id: 'test' } });
    const page = await (await request('/federation/tokens', { headers: { Cookie: cookie } })).text();
    const text = textOf(page);
    expect(text).toContain('deploy script');
    expect(text).toContain('not yet');
    expect(text).toMatch(/an admin, id\s+[0-9a-f-]{36}/);
    // The state's word is a badge of its own; what it leaves out follows it.
    expect(text).toMatch(/in use\s*, does not expire/);
    for (const secret of [token, deploy.token, deploy.record.tokenHash]) expect(page).not.toContain(secret);

    const revoked = await request(`/federation/tokens/${deploy.record.id}/revoke`, form({ csrf }, cookie));
    expect(revoked.status).toBe(303);
    expect(revoked.headers.get('location')).toBe('/federation/tokens?done=revoked');
    expect((await federation.stores.adminTokens.get(deploy.record.id))?.revokedAt).not.toBeNull();
    expect((await allAudit(federation.stores)).map((entry) => entry.action)).toContain('admin-token.revoke');
    const after = textOf(await (await request('/federation/tokens?done=revoked', { headers: { Cookie: cookie } })).text());
    expect(after).toContain('The token is revoked');
    expect(after).toMatch(/revoked\s+\d{4}-\d{2}-\d{2} \d{2}:\d{2} UTC/);

    // The session's own token: the next page signs the browser out.
    const own = (await federation.stores.adminTokens.list()).find((record) => record.label === 'ui');
    await request(`/federation/tokens/${own?.id}/revoke`, form({ csrf }, cookie));
    const next = await request('/federation/settings', { headers: { Cookie: cookie } });
    expect(next.status).toBe(303);
    expect(next.headers.get('location')).toBe('/federation/sign-in');
  });

  it('shows the audit log kept to the filters, pages it, and exports the same entries as JSON lines', async () => {
    const { cookie } = await signIn();
    for (let i = 0; i < 60; i++) await federation.stores.audit.append(auditEntry(i % 2 === 0 ? 'connection.accept' : 'instance.update', { at: `2026-11-25T13:${String(i).padStart(2, '0')}:00.000Z` }));
    const page = await request('/federation/audit?action=connection&since=2026-11-25T13:10', { headers: { Cookie: cookie } });
    expect(page.status).toBe(200);
    const html = await page.text();
    expect(textOf(html)).toContain('2026-11-25 13:58:00');
    expect(textOf(html)).not.toContain('instance.update');
    expect(textOf(html)).not.toContain('2026-11-25 13:08:00');
    expect(html).not.toContain('Older entries');
    const all = await (await request('/federation/audit', { headers: { Cookie: cookie } })).text();
    expect(all).toContain('Older entries');

    const exported = await request('/federation/audit/export?action=connection&since=2026-11-25T13:10', { headers: { Cookie: cookie } });
    expect(exported.headers.get('content-type')).toContain('application/x-ndjson');
    const lines = (await exported.text()).trim().split('\n').map((line) => JSON.parse(line) as { action: string; at: string });
    expect(lines).toHaveLength(25);
    expect(lines.every((entry) => entry.action === 'connection.accept' && entry.at >= '2026-11-25T13:10')).toBe(true);

    // The API takes the same filters.
    const api = await request('/api/v1/federation/audit?action=connection&since=2026-11-25T14:10:00%2B01:00&limit=500', { headers: { Authorization: `Bearer ${token}` } });
    const body = (await api.json()) as { data: { items: { action: string }[] } };
    expect(body.data.items).toHaveLength(25);
    expect((await request('/api/v1/federation/audit?action=%25', { headers: { Authorization: `Bearer ${token}` } })).status).toBe(400);

    const bad = await request('/federation/audit?action=not%20an%20action', { headers: { Cookie: cookie } });
    expect(bad.status).toBe(400);
    expect(textOf(await bad.text())).toContain('These filters need another look');
  });

  it('exports the entries of one actor up to a time, and exports nothing for filters it cannot use', async () => {
    const { cookie } = await signIn();
    for (let i = 0; i < 6; i++) {
      await federation.stores.audit.append(auditEntry('connection.accept', { at: `2026-11-25T13:0${String(i)}:00.000Z`, actor: { type: 'admin-token', id: i % 2 === 0 ? 'tok-even' : 'tok-odd' } }));
    }
    const exported = await request('/federation/audit/export?actor=tok-even&until=2026-11-25T13:03', { headers: { Cookie: cookie } });
    expect(exported.status).toBe(200);
    const lines = (await exported.text()).trim().split('\n').map((line) => JSON.parse(line) as { at: string; actor: { id: string } });
    expect(lines.map((entry) => entry.at)).toEqual(['2026-11-25T13:02:00.000Z', '2026-11-25T13:00:00.000Z']);
    expect(lines.every((entry) => entry.actor.id === 'tok-even')).toBe(true);

    const refused = await request('/federation/audit/export?since=yesterday', { headers: { Cookie: cookie } });
    expect(refused.status).toBe(400);
    expect(refused.headers.get('content-type')).toContain('text/html');
    expect(textOf(await refused.text())).toContain('These filters need another look');
  });

  it('adds users and workspaces from the people page, says beside the field what is taken or does not fit, and manages members', async () => {
    const { cookie, csrf } = await signIn();
    const post = (path: string, fields: Record<string, string | string[]>) => request(path, form({ csrf, ...fields }, cookie));

    const unfit = await post('/federation/people/users', { id: 'Not An Id!', name: '' });
    expect(unfit.status).toBe(400);
    const unfitText = textOf(await unfit.text());
    expect(unfitText).toContain('An id of 1 to 64 of a to z, digits and . _ -');
    expect(unfitText).toContain('A name of 1 to 100 characters fits here.');

    const made = await post('/federation/people/users', { id: 'alice', name: 'Alice', oidcSubject: 'sub-alice' });
    expect(made.status).toBe(303);
    expect(made.headers.get('location')).toBe('/federation/people?done=user');
    const again = await post('/federation/people/users', { id: 'alice', name: 'Alice again' });
    expect(again.status).toBe(400);
    expect(textOf(await again.text())).toContain('A user has this id already.');
    const sameSubject = await post('/federation/people/users', { id: 'bob', name: 'Bob', oidcSubject: 'sub-alice' });
    expect(sameSubject.status).toBe(400);
    expect(textOf(await sameSubject.text())).toContain('Another user has this OIDC subject.');
    expect((await federation.people.listUsers()).map((user) => user.id)).toEqual(['alice']);

    expect((await post('/federation/people/workspaces', { id: '-', name: '' })).status).toBe(400);
    const workspace = await post('/federation/people/workspaces', { id: 'web', name: 'Web' });
    expect(workspace.headers.get('location')).toBe('/federation/workspaces/web?done=workspace');
    const taken = await post('/federation/people/workspaces', { id: 'web', name: 'Web two' });
    expect(taken.status).toBe(400);
    expect(textOf(await taken.text())).toContain('A workspace has this id already.');

    const ghost = await post('/federation/workspaces/web/members', { userId: 'ghost', role: 'owner' });
    expect(ghost.status).toBe(400);
    expect(textOf(await ghost.text())).toContain('No user has this id: an admin adds users on the People page.');
    // A role the form does not offer makes a plain member.
    expect((await post('/federation/workspaces/web/members', { userId: 'alice', role: 'emperor' })).headers.get('location')).toBe('/federation/workspaces/web?done=member');
    expect(await federation.people.members('web')).toEqual([expect.objectContaining({ userId: 'alice', role: 'member' })]);
    expect((await post('/federation/workspaces/web/members/alice/remove', {})).headers.get('location')).toBe('/federation/workspaces/web?done=member-removed');
    expect(await federation.people.members('web')).toEqual([]);

    // Its connections: every one, or those chosen (and only connections of this instance).
    expect((await post('/federation/workspaces/web/connections', { every: 'on' })).headers.get('location')).toBe('/federation/workspaces/web?done=workspace-connections');
    expect((await federation.people.workspace('web')).connectionIds).toBeNull();
    expect((await post('/federation/workspaces/web/connections', { connectionIds: 'not-a-connection' })).status).toBe(400);
    expect((await federation.people.workspace('web')).connectionIds).toBeNull();
  });

  it('says beside each field of the A2A forms what would fit, and that a subject is taken', async () => {
    const { cookie, csrf } = await signIn();
    const post = (path: string, fields: Record<string, string | string[]>) => request(path, form({ csrf, ...fields }, cookie));

    const unfit = await post('/federation/a2a-clients', { name: '', maxConcurrentAgents: 'many', repositories: 'not a pattern' });
    expect(unfit.status).toBe(400);
    const unfitText = textOf(await unfit.text());
    expect(unfitText).toContain('A name of 1 to 100 characters fits here.');
    expect(unfitText).toContain('A whole number from 0 to 10,000 fits here.');
    expect(unfitText).toContain('One pattern per line');

    const issued = await post('/federation/a2a-clients', { name: 'ci', oidcSubject: 'sub-ci', agentTypes: ['worker', 'tester'], maxConcurrentAgents: '2', repositories: 'https://git.example.com/org/*' });
    expect(issued.status).toBe(201);
    const [client] = await federation.a2aClients.list();
    expect(client?.grants).toMatchObject({ allowedAgentTypes: ['worker', 'tester'], maxConcurrentAgents: 2, repositories: ['https://git.example.com/org/*'] });
    const sameSubject = await post('/federation/a2a-clients', { name: 'ci two', oidcSubject: 'sub-ci', agentTypes: 'worker' });
    expect(sameSubject.status).toBe(400);
    expect(textOf(await sameSubject.text())).toContain('Another A2A client signs in with this subject.');
    expect(await federation.a2aClients.list()).toHaveLength(1);

    const badUrl = await post('/federation/a2a-agents', { url: 'not an address' });
    expect(badUrl.status).toBe(400);
    expect(textOf(await badUrl.text())).toContain('The http(s) address of an A2A agent');
    const badToken = await post('/federation/a2a-agents', { url: 'https://agent.example.com', token: 'two words' });
    expect(badToken.status).toBe(400);
    expect(textOf(await badToken.text())).toContain('A token of up to 4,096 characters, without spaces, fits here.');
  });

  it('signs out: the session cookie is cleared', async () => {
    const { cookie, csrf } = await signIn();
    const response = await request('/federation/sign-out', form({ csrf }, cookie));
    expect(response.headers.get('location')).toBe('/federation/sign-in');
    expect(response.headers.get('set-cookie')).toMatch(/mosaic_fed_session_[0-9a-f]{16}=;/);
  });

  it('issues an A2A client its token once, lists it with its grants in words, names its agents, and revokes it', async () => {
    const { cookie, csrf } = await signIn();
    const refused = await request('/federation/a2a-clients', form({ csrf, name: '', agentTypes: ['worker'], maxConcurrentAgents: 'many' }, cookie));
    expect(refused.status).toBe(400);
    const refusedText = textOf(await refused.text());
    expect(refusedText).toContain('A name of 1 to 100 characters fits here.');
    expect(refusedText).toContain('A whole number from 0 to 10,000 fits here.');
    expect(await federation.a2aClients.list()).toEqual([]);

    const issued = await request(
      '/federation/a2a-clients',
      form({ csrf, name: 'Release bot', agentTypes: ['worker', 'tester'], maxConcurrentAgents: '2', repositories: 'https://github.com/acme/*' }, cookie),
    );
    expect(issued.status).toBe(201);
    expect(issued.headers.get('cache-control')).toBe('no-store');
    const html = await issued.text();
    const shownToken = /<code data-token="?[^>]*>(mfc_[^<]+)<\/code>/.exec(html)?.[1];
    expect(shownToken).toMatch(/^mfc_/);
    const [client] = await federation.a2aClients.list();
    expect(client?.grants).toMatchObject({ allowedAgentTypes: ['worker', 'tester'], maxConcurrentAgents: 2, repositories: ['https://github.com/acme/*'] });
    // The client's token opens the A2A binding.
    const listed = await request('/a2a/rest/tasks', { headers: { Authorization: `Bearer ${shownToken ?? ''}` } });
    expect(listed.status).toBe(200);

    const again = await (await request('/federation/a2a-clients', { headers: { Cookie: cookie } })).text();
    expect(again).not.toContain(shownToken ?? 'no token');
    expect(textOf(again)).toMatch(/Release bot[\s\S]*worker, tester agents, 2 at once, on https:\/\/github.com\/acme\/\*/);
    expect(textOf(again)).toContain(`${URL_}/.well-known/agent-card.json`);

    const revoked = await request(`/federation/a2a-clients/${client?.id ?? ''}/revoke`, form({ csrf }, cookie));
    expect(revoked.headers.get('location')).toBe('/federation/a2a-clients?done=a2a-revoked');
    expect(textOf(await (await request('/federation/a2a-clients?done=a2a-revoked', { headers: { Cookie: cookie } })).text())).toContain('The A2A client is revoked');
    expect((await request('/a2a/rest/tasks', { headers: { Authorization: `Bearer ${shownToken ?? ''}` } })).status).toBe(401);
  });

  it('uses calm words on every page and shows no private key material or secret', async () => {
    const { cookie, csrf } = await signIn();
    const record = await federation.stores.instance.get();
    const privateJwk: PrivateJwk = await openPrivateKey(record?.encryptedPrivateKey ?? '', SECRET, record?.instanceId ?? '');
    const pages = [
      await request('/federation/sign-in'),
      await postSignIn('mfa_wrong'),
      await request('/federation/connections', { headers: { Cookie: cookie } }),
      await request('/federation/connections', form({ csrf, url: 'not an address' }, cookie)),
      await request(`/federation/connections/${crypto.randomUUID()}`, { headers: { Cookie: cookie } }),
      await request('/federation/agents', { headers: { Cookie: cookie } }),
      await request(`/federation/agents/${crypto.randomUUID()}`, { headers: { Cookie: cookie } }),
      await request('/federation/agents?status=nothing', { headers: { Cookie: cookie } }),
      await request(`/federation/hosted/${crypto.randomUUID()}`, { headers: { Cookie: cookie } }),
      await request('/federation/settings', { headers: { Cookie: cookie } }),
      await request('/federation/settings', form({ csrf, name: '', agentTypes: 'worker', maxConcurrentAgents: '-1', metadata: '[' }, cookie)),
      await request('/federation/settings/regenerate-keys', { headers: { Cookie: cookie } }),
      await request('/federation/settings', form({ name: 'no token' }, cookie)),
      await request('/federation/a2a-clients', { headers: { Cookie: cookie } }),
      await request('/federation/a2a-clients', form({ csrf, name: '' }, cookie)),
    ];
    for (const response of pages) {
      const html = await response.text();
      expect(response.headers.get('content-type')).toContain('text/html');
      for (const word of DEMANDING) expect(textOf(html), `${response.url} says ${word}`).not.toMatch(word);
      expect(html).not.toContain(privateJwk.d);
      expect(html).not.toContain(SECRET);
      expect(html).not.toContain(token);
    }
  });

  it('says of a request whose address does not confirm it that it may come from somewhere else', async () => {
    const { cookie } = await signIn();
    const claimed = await connectionRecord({ peerName: 'Claims to be Hub', peerUrl: 'https://hub.example.com', peerUrlVouches: false });
    const confirmed = await connectionRecord({ peerName: 'Real Hub', peerUrl: 'https://real.example.com', peerUrlVouches: true });
    for (const record of [claimed, confirmed]) await federation.stores.connections.create(record, auditEntry('connection.create'));
    const list = textOf(await (await request('/federation/connections', { headers: { Cookie: cookie } })).text());
    expect(list).toMatch(/Claims to be Hub\s+https:\/\/hub\.example\.com\s+id\s+[\w-]+\s+The instance at this address does not confirm this request/);
    expect(list).toMatch(/Real Hub\s+https:\/\/real\.example\.com\s+id\s+[\w-]+\s+The instance at this address confirms it sent the request/);
    const page = textOf(await (await request(`/federation/connections/${claimed.id}`, { headers: { Cookie: cookie } })).text());
    expect(page).toContain('does not confirm this request: it may come from somewhere else');
  });
});
