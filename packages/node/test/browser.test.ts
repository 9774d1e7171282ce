import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { InstanceDocumentSchema } from '@mosaic-fed/core';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAdminToken } from '@mosaic-fed/server';
import { eventually, startPeer, type Peer } from './peers.js';

// The web UI in real Chromium (Debian's, driven by playwright-core): two instances on
// loopback ports, each admin in their own browser context. Every page visited is checked
// with axe-core for serious and critical problems and for demanding words, checked for
// horizontal overflow at 390 px, and screenshotted at 1280 and 390 px into
// test-results/ui/ (not committed).
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const available = spawnSync(CHROMIUM, ['--version'], { encoding: 'utf8' }).status === 0;
if (!available && process.env.CI === 'true') throw new Error(`CI needs Chromium at ${CHROMIUM} (apt-get install chromium)`);
if (!available) console.warn(`skipping the browser tests: no Chromium at ${CHROMIUM}`);

const AXE = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');
const SHOTS = new URL('../../../test-results/ui/', import.meta.url).pathname;
const DEMANDING = [/\bmust\b/i, /\brequired\b/i, /\bmandatory\b/i, /\bimmediately\b/i, /\burgent\b/i, /error!/i, /failed to/i, /\bINVALID\b/];

let browser: Browser;
let hub: Peer;
let spoke: Peer;

beforeAll(async () => {
  if (!available) return;
  mkdirSync(SHOTS, { recursive: true });
  [hub, spoke] = await Promise.all([startPeer({ name: 'Hub' }), startPeer({ name: 'Spoke' })]);
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await Promise.all([hub, spoke].map((peer) => peer?.destroy()));
});

/** Checks the page as a person meets it: no serious accessibility problem, calm words; keeps a screenshot. */
async function look(page: Page, name: string) {
  await page.addScriptTag({ content: AXE });
  const violations = (await page.evaluate(async () => {
    const result = await (window as unknown as { axe: { run(): Promise<{ violations: { id: string; impact: string | null }[] }> } }).axe.run();
    return result.violations.map((v) => ({ id: v.id, impact: v.impact }));
  })) as { id: string; impact: string | null }[];
  expect(violations.filter((v) => v.impact === 'serious' || v.impact === 'critical'), name).toEqual([]);
  const text = await page.locator('body').innerText();
  for (const word of DEMANDING) expect(text, `${name} says ${word}`).not.toMatch(word);
  await page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true });
  // And on a phone: nothing wider than the screen, nothing to scroll sideways.
  const wide = page.viewportSize() ?? { width: 1280, height: 720 };
  await page.setViewportSize({ width: 390, height: 844 });
  try {
    const overflow = await page.evaluate(() => {
      const width = document.documentElement.clientWidth;
      const wider = [...document.querySelectorAll('body *')]
        .filter((element) => element.getBoundingClientRect().right > width + 0.5)
        .map((element) => `${element.tagName.toLowerCase()}${element.id === '' ? '' : `#${element.id}`}${element.className === '' ? '' : `.${String(element.className).split(' ').join('.')}`}`);
      return { scrollWidth: document.documentElement.scrollWidth, width, wider: wider.slice(0, 5) };
    });
    expect(overflow, `${name} at 390 px`).toMatchObject({ scrollWidth: overflow.width, wider: [] });
    await page.screenshot({ path: join(SHOTS, `${name}-390.png`), fullPage: true });
  } finally {
    await page.setViewportSize(wide);
  }
}

async function signedIn(peer: Peer): Promise<Page> {
  const page = await (await browser.newContext()).newPage();
  await page.goto(`${peer.url}/federation/`);
  await expect.poll(() => page.url()).toContain('/federation/sign-in');
  await look(page, `${peer.name.toLowerCase()}-sign-in`);
  await page.getByLabel('Your token').fill(peer.token);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.waitForURL('**/federation/home');
  return page;
}

async function wellKnown(peer: Peer) {
  return InstanceDocumentSchema.parse(await (await fetch(`${peer.url}/.well-known/mosaic-federation`)).json());
}

describe.skipIf(!available)('the web UI in Chromium', () => {
  let hubPage: Page;
  let spokePage: Page;

  it('signs in, renames the instance (the document shows it) and explains a metadata value it cannot use', async () => {
    hubPage = await signedIn(hub);
    // The home page says how the instance is doing, part by part.
    expect(await hubPage.locator('tr[data-check="Valkey"]').innerText()).toContain('not in use');
    expect(await hubPage.locator('tr[data-check="Orchestrator"]').innerText()).toContain('It answers');
    await look(hubPage, 'home');
    await hubPage.getByRole('link', { name: 'Settings' }).click();
    await hubPage.waitForURL('**/federation/settings');
    await look(hubPage, 'settings');
    await hubPage.getByLabel('Name', { exact: true }).fill('Hub North');
    await hubPage.getByRole('button', { name: 'Save the settings' }).click();
    await expect.poll(() => hubPage.getByRole('status').first().innerText()).toContain('Your changes are saved.');
    expect((await wellKnown(hub)).name).toBe('Hub North');

    await hubPage.getByLabel('Public metadata (JSON)').fill('{"region": ');
    await hubPage.getByRole('button', { name: 'Save the settings' }).click();
    await expect.poll(() => hubPage.locator('#metadata-note').innerText()).toContain('Metadata is a JSON object');
    await look(hubPage, 'settings-with-a-note');
    expect((await wellKnown(hub)).metadata).toEqual({});
  });

  it('lists the admin tokens, and revokes one behind a confirmation', async () => {
    await createAdminToken({ store: hub.server.federation.stores.adminTokens, label: 'nightly report', actor: { type: 'cli', id: 'test' } });
    await hubPage.getByRole('link', { name: 'Tokens' }).click();
    await look(hubPage, 'tokens');
    const row = hubPage.locator('tr', { hasText: 'nightly report' });
    await row.getByRole('button', { name: 'Revoke…' }).click();
    const dialog = hubPage.getByRole('dialog');
    await expect.poll(() => dialog.isVisible()).toBe(true);
    await look(hubPage, 'tokens-revoke-dialog');
    await dialog.getByRole('button', { name: 'Revoke the token' }).click();
    await expect.poll(() => hubPage.getByRole('status').first().innerText()).toContain('The token is revoked');
    expect(await hubPage.locator('tr', { hasText: 'nightly report' }).innerText()).toContain('revoked');
    // The revoke is in the audit log, which keeps to an action when asked.
    await hubPage.getByRole('link', { name: 'Audit log' }).click();
    await hubPage.getByLabel('Action').fill('admin-token');
    await hubPage.getByRole('button', { name: 'Show these entries' }).click();
    await expect.poll(() => hubPage.locator('tbody').innerText()).toContain('admin-token.revoke');
    await look(hubPage, 'audit');
    await hubPage.getByRole('link', { name: 'Settings' }).click();
  });

  it('makes a new key pair through the dialog, after cancelling once', async () => {
    await hubPage.goto(`${hub.url}/federation/settings`);
    const before = (await wellKnown(hub)).keys[0]?.kid;
    await hubPage.getByRole('button', { name: 'Make a new key pair…' }).click();
    const dialog = hubPage.getByRole('dialog');
    await expect.poll(() => dialog.isVisible()).toBe(true);
    await look(hubPage, 'settings-new-key-dialog');
    await dialog.getByRole('button', { name: 'Keep the current key' }).click();
    await expect.poll(() => dialog.isVisible()).toBe(false);
    expect((await wellKnown(hub)).keys[0]?.kid).toBe(before);

    await hubPage.getByRole('button', { name: 'Make a new key pair…' }).click();
    await dialog.getByRole('button', { name: 'Make the new key pair' }).click();
    await expect.poll(() => hubPage.getByRole('status').first().innerText()).toContain('A new key pair is in use');
    const after = (await wellKnown(hub)).keys.map((key) => key.kid);
    expect(after[0]).not.toBe(before);
    expect(after[1]).toBe(before);
    // The page lists both keys with their states.
    expect(await hubPage.locator(`tr[data-kid="${before}"]`).innerText()).toContain('accepted until');
    await look(hubPage, 'settings-new-key');
    // Without JavaScript the confirmation is a page of its own.
    await hubPage.goto(`${hub.url}/federation/settings/regenerate-keys`);
    await look(hubPage, 'settings-new-key-page');
    expect((await wellKnown(hub)).keys[0]?.kid).toBe(after[0]);
  });

  it('answers a page that is not there in words, with the way back', async () => {
    const response = await hubPage.goto(`${hub.url}/federation/agents/${crypto.randomUUID()}`);
    expect(response?.status()).toBe(404);
    await look(hubPage, 'not-found');
    expect(await hubPage.locator('main').innerText()).not.toMatch(/NOT_FOUND|Error:|at \w+ \(/);
  });

  it('connects the two instances through their pages', async () => {
    await hubPage.getByRole('link', { name: 'Connections' }).click();
    await look(hubPage, 'connections-empty');
    await hubPage.getByLabel('Its address').fill(spoke.url);
    await hubPage.getByRole('button', { name: 'Send the request' }).click();
    await expect.poll(() => hubPage.getByRole('status').first().innerText()).toContain('The request is on its way');

    spokePage = await signedIn(spoke);
    await spokePage.getByRole('link', { name: 'Connections' }).click();
    await look(spokePage, 'connections-request');
    // The hub's own address vouches for its request (PROTOCOL 3, step 2).
    expect(await spokePage.locator('table').innerText()).toContain('The instance at this address confirms it sent the request.');
    await spokePage.getByRole('button', { name: 'Accept' }).click();
    await expect.poll(() => spokePage.getByRole('status').first().innerText()).toContain('The connection is active.');
    await hubPage.reload();
    await expect.poll(() => hubPage.locator('table').innerText()).toContain('active');
    await look(hubPage, 'connections');
    // Disconnecting asks first; keeping the connection changes nothing.
    await hubPage.getByRole('button', { name: 'Disconnect…' }).click();
    await look(hubPage, 'connections-disconnect-dialog');
    await hubPage.getByRole('dialog').getByRole('button', { name: 'Keep the connection' }).click();
    await expect.poll(() => hubPage.getByRole('dialog').count()).toBe(0);
    expect((await hub.api<{ status: string }[]>('/api/v1/federation/connections')).body.data.map((c) => c.status)).toEqual(['ACTIVE']);
    // Asking again for a connection that is active says so, and makes no second one.
    await hubPage.getByLabel('Its address').fill(spoke.url);
    await hubPage.getByRole('button', { name: 'Send the request' }).click();
    await expect.poll(() => hubPage.getByRole('status').first().innerText()).toBe('The connection with that instance is active.');
    expect(await hubPage.locator('tbody tr').count()).toBe(1);

    // On the spoke, what the hub may do there.
    await spokePage.getByRole('link', { name: 'Hub' }).click();
    await look(spokePage, 'connection-grants');
    await spokePage.getByLabel('Spawns per minute').fill('30');
    // A pattern no repository could match is explained, and nothing is saved.
    await spokePage.getByLabel('Repositories its agents may fetch').fill('https://git.example.com/***');
    await spokePage.getByRole('button', { name: 'Save what this peer may do' }).click();
    await expect.poll(() => spokePage.locator('#repositories-note').innerText()).toContain('One pattern per line, each a repository address');
    await spokePage.getByLabel('Spawns per minute').fill('30');
    await spokePage.getByLabel('Repositories its agents may fetch').fill('https://git.example.com/org/*\n\n  https://github.com/acme/**  ');
    await spokePage.getByRole('button', { name: 'Save what this peer may do' }).click();
    await expect.poll(() => spokePage.getByRole('status').first().innerText()).toContain('What this peer may do is saved.');
    const [granted] = (await spoke.api<{ grants: { spawnPerMinute: number; repositories?: string[] } }[]>('/api/v1/federation/connections')).body.data;
    expect(granted?.grants.spawnPerMinute).toBe(30);
    expect(granted?.grants.repositories).toEqual(['https://git.example.com/org/*', 'https://github.com/acme/**']);
    expect(await spokePage.getByLabel('Repositories its agents may fetch').inputValue()).toBe('https://git.example.com/org/*\nhttps://github.com/acme/**');
  });

  it('starts an agent on the peer and shows it reach completed live, with its result', async () => {
    await hubPage.getByRole('link', { name: 'Agents' }).click();
    await look(hubPage, 'agents-empty');
    await hubPage.getByLabel('Task id').fill('fix-login');
    await hubPage.getByLabel('Repository').fill('git.example.com/org/repo');
    await hubPage.getByLabel('Instructions').fill('Make the login test pass.');
    await hubPage.getByRole('button', { name: 'Start the agent' }).click();
    await hubPage.waitForURL('**/federation/agents/*');
    const agentId = hubPage.url().split('/').at(-1) ?? '';
    await look(hubPage, 'agent-starting');
    spoke.orchestrator.start(agentId);
    await expect.poll(() => hubPage.locator('#agent-status').getAttribute('data-status'), { timeout: 10_000 }).toBe('running');
    spoke.orchestrator.record(agentId, { kind: 'tool', turn: 1, tool: 'bash', input: 'npm test', output: '1 failing' });
    spoke.orchestrator.record(agentId, { kind: 'tool', turn: 2, tool: 'str_replace_based_edit_tool', input: '{"command":"view","path":"../x"}', output: 'outside the repository', isError: true });
    spoke.orchestrator.complete(agentId, {
      summary: 'Fixed the login test',
      patch: 'diff --git a/login.js b/login.js\n',
      usage: { inputTokens: 12, outputTokens: 3, cacheReadInputTokens: 40 },
      outcome: 'checks-failing',
      checks: [{ command: 'npm test', exitCode: 1 }],
    });
    // The page follows the events and shows the result once the agent is done.
    await expect.poll(() => hubPage.locator('main').innerText(), { timeout: 10_000 }).toContain('Fixed the login test');
    expect(await hubPage.locator('#agent-status').innerText()).toBe('done');
    expect(await hubPage.locator('#agent-patch').innerText()).toContain('diff --git a/login.js');
    // What the sandbox showed, beside what the model said.
    expect(await hubPage.locator('#agent-outcome').getAttribute('data-outcome')).toBe('checks-failing');
    expect(await hubPage.locator('#agent-checks').innerText()).toBe('npm test failed (exit code 1)');
    expect(await hubPage.locator('main').innerText()).toContain('52 input tokens (40 of them read from the prompt cache) and 3 output tokens.');
    // The transcript is asked from the peer as the page loads.
    await hubPage.reload();
    const steps = hubPage.locator('#agent-transcript > li');
    expect(await steps.count()).toBe(2);
    expect(await steps.nth(0).innerText()).toContain('Ran');
    expect(await steps.nth(0).locator('pre').first().innerText()).toBe('npm test');
    expect(await steps.nth(1).getAttribute('data-error')).toBe('true');
    await steps.nth(1).getByText('It failed: see why').click();
    expect(await steps.nth(1).locator('details pre').innerText()).toBe('outside the repository');
    await look(hubPage, 'agent-done');
  });

  it('stops another agent behind a confirmation', async () => {
    await hubPage.goto(`${hub.url}/federation/agents`);
    await hubPage.getByLabel('Task id').fill('long-task');
    await hubPage.getByLabel('Repository').fill('git.example.com/org/repo');
    await hubPage.getByRole('button', { name: 'Start the agent' }).click();
    await hubPage.waitForURL('**/federation/agents/*');
    const agentId = hubPage.url().split('/').at(-1) ?? '';
    spoke.orchestrator.start(agentId);
    await hubPage.getByRole('button', { name: 'Stop this agent…' }).click();
    const dialog = hubPage.getByRole('dialog');
    await look(hubPage, 'agent-stop-dialog');
    await dialog.getByRole('button', { name: 'Stop the agent' }).click();
    await expect.poll(() => hubPage.getByRole('status').first().innerText()).toContain('The agent is stopped.');
    await eventually(() => expect(spoke.orchestrator.agents.get(agentId)?.status.status).toBe('killed'));
    await hubPage.goto(`${hub.url}/federation/agents`);
    await look(hubPage, 'agents');
    await hubPage.getByLabel('State').selectOption('killed');
    await hubPage.getByRole('button', { name: 'Filter' }).click();
    await expect.poll(() => hubPage.locator('#agents tbody tr').count()).toBe(1);
    expect(await hubPage.locator('#agents tbody tr').innerText()).toContain('long-task');
    await look(hubPage, 'agents-filtered');
  });

  it("asks for the plan's approval at the start, and answers it from the agent's page: not approved with a note, then approved", async () => {
    await hubPage.goto(`${hub.url}/federation/agents`);
    await hubPage.getByLabel('Task id').fill('plan-first');
    await hubPage.getByLabel('Repository').fill('git.example.com/org/repo');
    await hubPage.getByLabel('Ask me to approve its plan first').check();
    await hubPage.getByRole('button', { name: 'Start the agent' }).click();
    await hubPage.waitForURL('**/federation/agents/*');
    const agentId = hubPage.url().split('/').at(-1) ?? '';
    expect(spoke.orchestrator.agents.get(agentId)?.request.spec.options.approval).toBe('plan');
    spoke.orchestrator.start(agentId);
    spoke.orchestrator.ask(agentId, { id: 'plan-1', kind: 'plan', summary: 'Read login.js.\nFix the expiry check.\nRun npm test.' });
    // The page follows the events: it shows what the agent waits for, with the answer's form.
    await expect.poll(() => hubPage.locator('#pending-approval').count(), { timeout: 10_000 }).toBe(1);
    expect(await hubPage.locator('#agent-status').innerText()).toBe('waiting for an answer');
    // Every page's navigation says an agent asks, and leads to those that do.
    expect(await hubPage.locator('#awaiting-count').innerText()).toBe('1 asks you');
    expect(await hubPage.getByRole('link', { name: /Agents 1 asks you/ }).getAttribute('href')).toBe('/federation/agents?status=waiting');
    expect(await hubPage.locator('#pending-approval pre').innerText()).toBe('Read login.js.\nFix the expiry check.\nRun npm test.');
    await look(hubPage, 'agent-waiting-for-approval');
    // The spoke's admin sees what it waits for, without a form: the answer is the peer's.
    await spokePage.goto(`${spoke.url}/federation/hosted/${agentId}`);
    expect(await spokePage.locator('#pending-approval h2').innerText()).toBe("It waits for Hub North's approval of its plan");
    expect(await spokePage.locator('#pending-approval form').count()).toBe(0);

    await hubPage.getByLabel('A note for the agent (optional)').fill('Add a test for the expiry first.');
    await hubPage.getByRole('button', { name: 'Do not approve' }).click();
    await expect.poll(() => hubPage.getByRole('status').first().innerText()).toContain('Not approved');
    expect(spoke.orchestrator.answers.filter((answer) => answer.agentId === agentId)).toEqual([
      { agentId, approvalId: 'plan-1', decision: 'reject', note: 'Add a test for the expiry first.' },
    ]);
    spoke.orchestrator.ask(agentId, { id: 'plan-2', kind: 'plan', summary: 'Add a test for the expiry, then fix the check.' });
    await expect.poll(() => hubPage.locator('#pending-approval').getAttribute('data-approval'), { timeout: 10_000 }).toBe('plan-2');
    await hubPage.getByRole('button', { name: 'Approve', exact: true }).click();
    await expect.poll(() => hubPage.getByRole('status').first().innerText()).toContain('Approved: the agent goes on.');
    expect(spoke.orchestrator.answers.filter((answer) => answer.agentId === agentId).map((answer) => [answer.approvalId, answer.decision])).toEqual([
      ['plan-1', 'reject'],
      ['plan-2', 'approve'],
    ]);
    await expect.poll(() => hubPage.locator('#agent-status').getAttribute('data-status'), { timeout: 10_000 }).toBe('running');
    expect(await hubPage.locator('#pending-approval').count()).toBe(0);
    await hubPage.reload();
    expect(await hubPage.locator('#awaiting-count').count()).toBe(0);
  });

  it("sets the connection's approval rules on the spoke's page, and says them in words", async () => {
    await spokePage.goto(`${spoke.url}/federation/connections`);
    await spokePage.getByRole('link', { name: /Hub/ }).first().click();
    await spokePage.getByLabel("Every agent proposes its plan and waits for the peer's approval").check();
    await spokePage.getByLabel("Commands that wait for the peer's approval").fill('git push\n@network');
    await spokePage.getByRole('button', { name: 'Save what this peer may do' }).click();
    await expect.poll(() => spokePage.getByRole('status').first().innerText()).toContain('What this peer may do is saved.');
    expect(await spokePage.locator('#approval-rules').innerText()).toBe(
      "Each of its agents proposes its plan and waits for the peer's approval, and so do commands starting with git push and anything that reaches the network.",
    );
    const [connection] = (await spoke.api<{ grants: { approvals?: unknown } }[]>('/api/v1/federation/connections')).body.data;
    expect(connection?.grants.approvals).toEqual({ plan: true, commands: ['git push', '@network'] });
    await look(spokePage, 'connection-approval-rules');
    // Emptied, the rules are gone.
    await spokePage.getByLabel("Every agent proposes its plan and waits for the peer's approval").uncheck();
    await spokePage.getByLabel("Commands that wait for the peer's approval").fill('');
    await spokePage.getByRole('button', { name: 'Save what this peer may do' }).click();
    await expect.poll(() => spokePage.locator('#approval-rules').innerText()).toBe('Its agents wait for approval only when the peer asks for it.');
  });

  it("lets the spoke's admin find an agent running on their machine and stop it; the hub sees it stopped", async () => {
    await hubPage.goto(`${hub.url}/federation/agents`);
    await hubPage.getByLabel('Task id').fill('runs-on-spoke');
    await hubPage.getByLabel('Repository').fill('git.example.com/org/repo');
    await hubPage.getByRole('button', { name: 'Start the agent' }).click();
    await hubPage.waitForURL('**/federation/agents/*');
    const agentId = hubPage.url().split('/').at(-1) ?? '';
    spoke.orchestrator.start(agentId);
    await expect.poll(() => hubPage.locator('#agent-status').getAttribute('data-status'), { timeout: 10_000 }).toBe('running');

    await spokePage.goto(`${spoke.url}/federation/agents?show=hosted`);
    await spokePage.getByRole('link', { name: 'runs-on-spoke' }).click();
    await spokePage.waitForURL(`**/federation/hosted/${agentId}`);
    expect(await spokePage.locator('main').innerText()).toContain('running on this instance for Hub');
    await look(spokePage, 'hosted-agent');
    await spokePage.getByRole('button', { name: 'Stop this agent…' }).click();
    await spokePage.getByRole('dialog').getByRole('button', { name: 'Stop the agent' }).click();
    await expect.poll(() => spokePage.getByRole('status').first().innerText()).toContain('The agent is stopped.');
    expect(spoke.orchestrator.agents.get(agentId)?.status.status).toBe('killed');
    // The hub hears of it through the agent's events, as of any other end.
    await expect.poll(() => hubPage.locator('#agent-status').getAttribute('data-status'), { timeout: 15_000 }).toBe('killed');
    const audit = await spoke.api<{ items: { action: string; actor: { type: string }; target: string }[] }>('/api/v1/federation/audit?action=agent.kill');
    expect(audit.body.data.items).toContainEqual(expect.objectContaining({ action: 'agent.kill', target: `agent:${agentId}`, actor: expect.objectContaining({ type: 'admin-token' }) }));
  });

  it("signs a user in to their workspaces' agents only: another workspace's agent is not there, and a viewer does not stop one", async () => {
    const { people, agents } = hub.server.federation;
    const admin = { type: 'cli' as const, id: 'test' };
    for (const [id, name] of [['alice', 'Alice'], ['bob', 'Bob']] as const) await people.createUser({ id, name }, admin);
    for (const [id, name] of [['web', 'Web'], ['data', 'Data']] as const) await people.createWorkspace({ id, name }, admin);
    await people.setMember('web', 'alice', 'member', admin);
    await people.setMember('data', 'bob', 'member', admin);
    await people.setMember('data', 'alice', 'viewer', admin);
    const [connection] = (await hub.server.federation.connections.list()).filter((c) => c.status === 'ACTIVE');
    const payload = (taskId: string) => ({ taskId, agentType: 'worker' as const, context: { repository: 'git.example.com/org/repo', branch: 'main' } });
    const bobs = await agents.spawn(connection?.id ?? '', payload('bobs-data-task'), admin, { owner: { userId: 'bob', workspaceId: 'data' } });
    const { token } = await people.createUserToken('alice', { label: 'browser' }, admin);

    const page = await (await browser.newContext()).newPage();
    await page.goto(`${hub.url}/federation/sign-in`);
    await page.getByLabel('Your token').fill(token);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL('**/federation/agents');
    expect(await page.locator('header').innerText()).toContain('Signed in as Alice');
    expect(await page.getByRole('link', { name: 'Settings' }).count()).toBe(0);
    // She starts an agent in the workspace she is a member of, not in the one she watches.
    expect(await page.locator('#workspaceId option').allInnerTexts()).toEqual(['Web']);
    await page.getByLabel('Task id').fill('alices-web-task');
    await page.getByLabel('Repository').fill('git.example.com/org/repo');
    await page.getByRole('button', { name: 'Start the agent' }).click();
    await page.waitForURL(/\/federation\/agents\/[0-9a-f-]{36}$/);
    const alicesAgent = page.url().split('/').at(-1) ?? '';
    expect((await agents.get(alicesAgent)).owner).toEqual({ userId: 'alice', workspaceId: 'web' });
    expect((await spoke.server.federation.hosted.get(alicesAgent)).actor).toEqual({ userId: 'alice', workspaceId: 'web' });
    await look(page, 'user-agent');
    // Her list: her workspace's agent and the one she watches; none of the instance's own.
    await page.getByRole('navigation').getByRole('link', { name: 'Agents' }).click();
    await page.waitForURL('**/federation/agents');
    const tasks = await page.locator('#agents tbody tr').allInnerTexts();
    expect(tasks.map((row) => row.split(/\s/)[0]).sort()).toEqual(['alices-web-task', 'bobs-data-task']);
    expect(tasks.join('\n')).toContain('worker, for user bob in workspace data');
    await look(page, 'user-agents');
    // Bob's agent: she watches it, and is not offered to stop it.
    await page.goto(`${hub.url}/federation/agents/${bobs.agentId}`);
    expect(await page.getByRole('button', { name: 'Stop this agent…' }).count()).toBe(0);
    // Out of her workspaces: not there, in the page, the stream and a stop; the admin's pages neither.
    await people.removeMember('data', 'alice', admin);
    expect((await page.goto(`${hub.url}/federation/agents/${bobs.agentId}`))?.status()).toBe(404);
    expect((await page.goto(`${hub.url}/federation/agents/${bobs.agentId}/events`))?.status()).toBe(404);
    const csrf = await (await page.goto(`${hub.url}/federation/agents`))?.text().then((html) => /name="csrf" value="([^"]+)"/.exec(html)?.[1] ?? '');
    const stop = await page.request.post(`${hub.url}/federation/agents/${bobs.agentId}/kill`, { form: { csrf: csrf ?? '' }, headers: { Origin: hub.url }, maxRedirects: 0 });
    expect(stop.status()).toBe(404);
    expect((await agents.get(bobs.agentId)).status.status).toBe('spawning');
    await page.goto(`${hub.url}/federation/settings`);
    expect(page.url()).toBe(`${hub.url}/federation/agents`);
  });

  it("lets the admin add people and workspaces through the pages, and a workspace's owner its members", async () => {
    await hubPage.goto(`${hub.url}/federation/people`);
    await look(hubPage, 'people');
    await hubPage.getByLabel('Their id').fill('carol');
    await hubPage.getByLabel('Their name').fill('Carol');
    await hubPage.getByRole('button', { name: 'Add the user' }).click();
    await expect.poll(() => hubPage.getByRole('status').first().innerText()).toContain('The user is added.');
    // A value that does not fit is said beside its field, and nothing is added.
    await hubPage.getByLabel('Its id').fill('Not An Id');
    await hubPage.getByLabel('Its name').fill('Ops');
    await hubPage.getByRole('button', { name: 'Make the workspace' }).click();
    await expect.poll(() => hubPage.locator('#workspace-id-note').innerText()).toContain('An id of 1 to 64');
    await look(hubPage, 'people-with-a-note');
    await hubPage.getByLabel('Its id').fill('ops');
    await hubPage.getByLabel('Its name').fill('Ops');
    await hubPage.getByRole('button', { name: 'Make the workspace' }).click();
    await hubPage.waitForURL(/\/federation\/workspaces\/ops\?done=workspace$/);
    await hubPage.getByLabel('Their user id').fill('carol');
    await hubPage.getByRole('radio', { name: /owner/ }).check();
    await hubPage.getByRole('button', { name: 'Save the membership' }).click();
    await expect.poll(() => hubPage.locator('tr[data-member="carol"]').innerText()).toContain('owner');
    await look(hubPage, 'workspace');
    // Its members may use one chosen connection only.
    await hubPage.getByLabel('every active connection, now and later').uncheck();
    await hubPage.getByRole('checkbox', { name: /Spoke/ }).check();
    await hubPage.getByRole('button', { name: 'Save the connections' }).click();
    await expect.poll(() => hubPage.getByRole('status').first().innerText()).toContain('The connections are saved.');
    const [spokeConnection] = await hub.server.federation.connections.list();
    expect((await hub.server.federation.people.workspace('ops')).connectionIds).toEqual([spokeConnection?.id]);

    // Carol, its owner, adds Bob to it as a viewer, from her own session.
    const { token } = await hub.server.federation.people.createUserToken('carol', { label: 'browser' }, { type: 'cli', id: 'test' });
    const page = await (await browser.newContext()).newPage();
    await page.goto(`${hub.url}/federation/sign-in`);
    await page.getByLabel('Your token').fill(token);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL('**/federation/agents');
    await page.getByRole('link', { name: 'Your workspaces' }).click();
    await page.getByRole('link', { name: 'Ops' }).click();
    await page.getByLabel('Their user id').fill('bob');
    await page.getByRole('radio', { name: /viewer/ }).check();
    await page.getByRole('button', { name: 'Save the membership' }).click();
    await expect.poll(() => page.locator('tr[data-member="bob"]').innerText()).toContain('viewer');
    await look(page, 'workspace-owner');
    // She manages her workspace, not the instance's people, nor another workspace.
    await page.goto(`${hub.url}/federation/people`);
    expect(page.url()).toBe(`${hub.url}/federation/agents`);
    expect((await page.goto(`${hub.url}/federation/workspaces/web`))?.status()).toBe(404);
    expect((await hub.server.federation.people.members('ops')).map((m) => [m.userId, m.role])).toEqual([['bob', 'viewer'], ['carol', 'owner']]);
  });
});
