import { AdminClient } from '@mosaic-fed/sdk';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectPeers, spawnPayload, startPeer, type Peer } from './peers.js';
import { runCli } from './processes.js';

// `mosaic-fed agents` run as a self-hoster runs it, on the data directories of two real
// instances on loopback while they serve: what the hub sent and what the spoke runs.
let hub: Peer;
let spoke: Peer;
const spawned: string[] = [];

beforeAll(async () => {
  [hub, spoke] = await Promise.all([startPeer({ name: 'Hub' }), startPeer({ name: 'Spoke' })]);
  const { fromConnectionId, toConnectionId } = await connectPeers(hub, spoke);
  await new AdminClient({ url: spoke.url, token: spoke.token }).updateGrants(toConnectionId, { allowedAgentTypes: ['worker', 'reviewer'] });
  const admin = new AdminClient({ url: hub.url, token: hub.token });
  for (const [task, type] of [['task-a', 'worker'], ['task-b', 'reviewer'], ['task-c', 'worker']] as const) {
    spawned.push((await admin.spawn({ connectionId: fromConnectionId, payload: spawnPayload(task, type) })).agentId);
  }
  spoke.orchestrator.start(spawned[0] ?? '');
  spoke.orchestrator.complete(spawned[0] ?? '', { summary: 'Done', usage: { inputTokens: 1_200, outputTokens: 300, cacheReadInputTokens: 500 } });
  await admin.status(spawned[0] ?? '', { refresh: true });
});

afterAll(async () => {
  await Promise.all([hub, spoke].map((peer) => peer?.destroy()));
});

const agents = (peer: Peer, ...args: string[]) => runCli(['agents', '--data-dir', peer.dataDir, ...args], peer.dataDir);
const rowsOf = (stdout: string) => stdout.trimEnd().split('\n').slice(1);

describe('mosaic-fed agents', () => {
  it('lists sent and hosted agents newest first, with peer names, times and tokens', () => {
    const listed = agents(hub);
    expect(listed.status, listed.stderr).toBe(0);
    expect(listed.stdout.split('\n')[0]).toMatch(/^agent +sent\/hosted +peer +type +task +status +spawned +took +tokens$/);
    const rows = rowsOf(listed.stdout);
    expect(rows.map((row) => row.split(/ +/)[0])).toEqual([...spawned].reverse());
    expect(rows.at(-1)).toMatch(/ sent +Spoke +worker +task-a +completed +\S+Z +\d+s +2000$/);
    expect(rows[0]).toMatch(/ sent +Spoke +worker +task-c +spawning +\S+Z +- +-$/);
    expect(listed.stderr).toBe('');

    const hosted = agents(spoke, '--show', 'hosted', '--json');
    expect(hosted.status, hosted.stderr).toBe(0);
    const lines = hosted.stdout.trimEnd().split('\n').map((line) => JSON.parse(line) as { agentId: string; direction: string; peerName: string });
    expect(lines.map((line) => line.agentId)).toEqual([...spawned].reverse());
    expect(lines.every((line) => line.direction === 'hosted' && line.peerName === 'Hub')).toBe(true);
    expect(rowsOf(agents(spoke, '--show', 'sent').stdout)).toEqual([]);
  });

  it('filters by peer (name or id), status, type and task', () => {
    expect(rowsOf(agents(hub, '--type', 'reviewer').stdout).map((row) => row.split(/ +/)[4])).toEqual(['task-b']);
    expect(rowsOf(agents(hub, '--status', 'completed').stdout).map((row) => row.split(/ +/)[0])).toEqual([spawned[0]]);
    expect(rowsOf(agents(hub, '--task', 'task-c', '--peer', 'spoke').stdout).map((row) => row.split(/ +/)[0])).toEqual([spawned[2]]);
    expect(rowsOf(agents(spoke, '--peer', hub.instanceId, '--type', 'worker').stdout)).toHaveLength(2);
  });

  it('pages: the next page goes on where the last one stopped, and says when there is more', () => {
    const first = agents(hub, '--limit', '2');
    expect(rowsOf(first.stdout).map((row) => row.split(/ +/)[0])).toEqual([spawned[2], spawned[1]]);
    const page = /--page (\S+)/.exec(first.stderr)?.[1];
    expect(page).toBeDefined();
    const second = agents(hub, '--limit', '2', '--page', page ?? '');
    expect(second.status, second.stderr).toBe(0);
    expect(rowsOf(second.stdout).map((row) => row.split(/ +/)[0])).toEqual([spawned[0]]);
    expect(second.stderr).toBe('');
  });

  it('explains a filter it cannot use and exits 2', () => {
    for (const [args, words] of [
      [['--status', 'asleep'], '--status must be one of spawning, running'],
      [['--type', 'poet'], '--type must be one of worker'],
      [['--task', 'a task'], '--task must be a task id'],
      [['--peer', 'Nobody'], '--peer: no connection has the id or peer "Nobody"'],
      [['--limit', '0'], '--limit must be a whole number from 1 to'],
      [['--show', 'some'], '--show must be all, sent or hosted'],
      [['--page', 'a,b,c'], '--page takes what the previous page printed'],
    ] as const) {
      const refused = agents(hub, ...args);
      expect(refused.status).toBe(2);
      expect(refused.stderr).toContain(words);
      expect(refused.stdout).toBe('');
    }
  });
});
