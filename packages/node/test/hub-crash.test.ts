// Issue 17, item 1, with real processes: a hub (`mosaic-fed serve`) killed with SIGKILL
// while eight spawns are on their way to the spoke. Each spawn was recorded on the hub
// before it was sent, so the restarted hub sends the unanswered ones again with their
// jti, the spoke answers from its message log, and the hub ends knowing exactly the agents
// the spoke runs; the callers' retries with their Idempotency-Keys start nothing more.
import { join } from 'node:path';
import { AdminClient } from '@mosaic-fed/sdk';
import { afterAll, describe, expect, it } from 'vitest';
import { createTempDir } from '../../server/test/helpers.js';
import { eventually, spawnPayload, startPeer, type Peer } from './peers.js';
import { freePort, killStarted, runCli, startCli, stopProcess, type Served } from './processes.js';

const work = createTempDir('mosaic-hub-crash-');
const closers: (() => Promise<unknown>)[] = [];

afterAll(async () => {
  await killStarted();
  for (const close of closers.reverse()) await close().catch(() => undefined);
  work.remove();
});

describe('a hub killed mid-spawn', () => {
  it('ends knowing every agent the spoke runs, and a retry with the same key starts none twice', async () => {
    const port = await freePort();
    const url = `http://127.0.0.1:${port}`;
    const dataDir = join(work.path, 'hub');
    const created = runCli(['token', 'create', '--data-dir', dataDir, '--url', url], work.path);
    expect(created.status).toBe(0);
    const token = created.stdout.trim().split('\n').at(-1) ?? '';
    const serve = () => startCli(['serve', '--port', String(port), '--data-dir', dataDir, '--url', url], work.path, { MOSAIC_FED_LOG_LEVEL: 'info' }, 'listening');
    let hub: Served = await serve();
    const spoke: Peer = await startPeer({ name: 'Spoke', autoAcceptUrls: [url] });
    closers.push(() => spoke.destroy());
    const admin = new AdminClient({ url, token });
    const connection = await admin.connect(spoke.url);
    expect(connection.status).toBe('ACTIVE');
    const [toHub] = (await spoke.api<{ id: string }[]>('/api/v1/federation/connections')).body.data;
    expect((await spoke.api(`/api/v1/federation/connections/${toHub?.id}`, { method: 'PATCH', body: { maxConcurrentAgents: 20 } })).status).toBe(200);

    // Eight spawns reach the spoke, which holds them, and the hub dies before any answer.
    let release: () => void = () => undefined;
    spoke.orchestrator.gate = new Promise<void>((done) => (release = done));
    const keys = Array.from({ length: 8 }, (_, i) => `crash-${i}`);
    const requests = keys.map((key, i) =>
      admin.spawn({ connectionId: connection.id, payload: spawnPayload(`crash-${i}`) }, { idempotencyKey: key, retries: 0 }).catch((error: unknown) => error),
    );
    await eventually(() => {
      if (spoke.orchestrator.spawnCalls < keys.length) throw new Error(`${spoke.orchestrator.spawnCalls} of the spawns reached the spoke`);
    });
    await stopProcess(hub, 'SIGKILL');
    const failed = await Promise.all(requests);
    expect(failed.every((outcome) => outcome instanceof Error)).toBe(true);
    release();
    spoke.orchestrator.gate = undefined;
    await eventually(() => {
      if (spoke.orchestrator.started !== keys.length) throw new Error(`the spoke started ${spoke.orchestrator.started} agents`);
    });

    hub = await serve();
    const known = await eventually(async () => {
      const { sent } = await admin.agents({ limit: 100 });
      if (sent.items.length < keys.length) throw new Error(`the hub knows ${sent.items.length} agents`);
      return sent.items;
    }, 20_000);
    const onSpoke = [...spoke.orchestrator.agents.keys()].sort();
    expect(known.map((agent) => agent.agentId).sort()).toEqual(onSpoke);

    // The callers try again with their keys: the same agents, nothing new on the spoke.
    const retried = await Promise.all(keys.map((key, i) => admin.spawn({ connectionId: connection.id, payload: spawnPayload(`crash-${i}`) }, { idempotencyKey: key })));
    expect(retried.map((answer) => answer.agentId).sort()).toEqual(onSpoke);
    expect(spoke.orchestrator.started).toBe(keys.length);

    // Each is the hub's like any other: its events arrive, and a kill reaches it.
    const [first, second] = onSpoke;
    spoke.orchestrator.complete(first ?? '', { summary: 'done after the crash' });
    await eventually(async () => {
      if ((await admin.status(first ?? '')).status !== 'completed') throw new Error('the completion has not reached the hub');
    });
    expect((await admin.kill(second ?? '')).status).toBe('killed');
    await stopProcess(hub, 'SIGTERM');
  });
});
