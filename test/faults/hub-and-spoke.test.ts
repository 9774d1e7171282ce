// Fault injection under load (issue 17), with real processes on loopback: a hub and a
// spoke, each `mosaic-fed serve` with a libSQL file; the spoke runs its agents with the
// scripted model. The hub is killed with SIGKILL while 16 spawns are on their way, and
// again, for 4 s, while the agents' events stream back. At the end the counts must agree:
// every agent the spoke runs is known to the hub, once, reached by its caller's key, and
// every agent's history on the hub is complete and in order, ending `completed`.
import { join } from 'node:path';
import type { AgentStatusChangedPayload } from '@mosaic-fed/core';
import { createDemoRepository, demoFixScript, startScriptedMessagesServer, turnByTurn, type ScriptedTurn } from '@mosaic-fed/orchestrator/testing';
import { afterAll, describe, expect, it } from 'vitest';
import { killStarted, stopProcess, type Served } from '../../packages/node/test/processes.js';
import { eventually, instance as instanceIn, workFolder } from './harness.js';

const AGENTS = 16;
const work = workFolder('mosaic-faults-');
const closers: (() => Promise<unknown>)[] = [];

afterAll(async () => {
  await killStarted();
  for (const close of closers.reverse()) await close().catch(() => undefined);
  work.remove();
});

/** An instance on a port of its own, kept across restarts. */
async function instance(name: string, env: Record<string, string> = {}) {
  const made = await instanceIn(work.path, name);
  return { ...made, start: () => made.serve(env) };
}

describe('a hub killed under load, mid-spawn and mid-events', () => {
  it('ends with every agent known once, by its key, and every history complete and in order', async () => {
    // Each agent works for a couple of seconds (one command), then answers.
    const fix = demoFixScript();
    const script: ScriptedTurn[] = fix.map((turn, index) => (request) =>
      index === 0 ? [{ type: 'tool_use', name: 'bash', input: { command: 'sleep 2 && sh test.sh; true' } }] : typeof turn === 'function' ? turn(request) : turn,
    );
    const model = await startScriptedMessagesServer(turnByTurn(script));
    closers.push(() => model.close());
    const repository = createDemoRepository(join(work.path, 'repo'));

    const hub = await instance('Hub');
    const spoke = await instance('Spoke', {
      MOSAIC_FED_AUTO_ACCEPT_URLS: hub.url,
      MOSAIC_FED_SANDBOX: 'unsafe-process',
      MOSAIC_FED_ALLOW_FILE_REPOSITORIES: 'true',
      MOSAIC_FED_MAX_AGENTS: String(AGENTS),
      ANTHROPIC_API_KEY: 'scripted',
      ANTHROPIC_BASE_URL: model.url,
    });
    let hubProcess: Served = await hub.start();
    const spokeProcess = await spoke.start();
    closers.push(() => stopProcess(spokeProcess, 'SIGTERM'));
    const connection = await hub.admin.connect(spoke.url);
    expect(connection.status).toBe('ACTIVE');
    const [toHub] = await spoke.admin.connections({ status: 'ACTIVE' });
    await spoke.admin.updateGrants(toHub?.id ?? '', { maxConcurrentAgents: 100, spawnPerMinute: 1_000, messagesPerMinute: 10_000 });

    // 1. Sixteen spawns at once; the hub dies 150 ms in and comes back.
    const keys = Array.from({ length: AGENTS }, (_, i) => `fault-${i}`);
    const payload = (i: number) => ({ taskId: `fault-${i}`, agentType: 'worker' as const, context: { repository, branch: 'main' } });
    const first = keys.map((key, i) => hub.admin.spawn({ connectionId: connection.id, payload: payload(i) }, { idempotencyKey: key, retries: 0 }).catch(() => undefined));
    await new Promise((resolve) => setTimeout(resolve, 150));
    await stopProcess(hubProcess, 'SIGKILL');
    await Promise.all(first);
    hubProcess = await hub.start();
    // Every caller tries again with its key until it has its agent, as a client should.
    const agentIds = await Promise.all(
      keys.map((key, i) =>
        eventually(async () => (await hub.admin.spawn({ connectionId: connection.id, payload: payload(i) }, { idempotencyKey: key })).agentId, 60_000),
      ),
    );
    expect(new Set(agentIds).size).toBe(AGENTS);

    // 2. While the agents run and their events come back, the hub is away for 4 s.
    await stopProcess(hubProcess, 'SIGKILL');
    await new Promise((resolve) => setTimeout(resolve, 4_000));
    hubProcess = await hub.start();
    closers.push(() => stopProcess(hubProcess, 'SIGTERM'));

    // The counts agree: what the spoke runs, what the hub knows, what the callers hold.
    const hosted = await eventually(async () => {
      const { hosted: page } = await spoke.admin.agents({ limit: 100 });
      const done = page.items.filter((agent) => agent.status.status === 'completed');
      if (done.length < AGENTS) throw new Error(`${done.length} of the spoke's agents completed`);
      return page.items;
    }, 90_000);
    expect(hosted.map((agent) => agent.agentId).sort()).toEqual([...agentIds].sort());
    const known = await eventually(async () => {
      const { sent } = await hub.admin.agents({ limit: 100 });
      const open = sent.items.filter((agent) => agent.status.status !== 'completed');
      if (open.length > 0 || sent.items.length < AGENTS) throw new Error(`${open.length} of the hub's ${sent.items.length} agents are not completed there yet`);
      return sent.items;
    }, 90_000);
    expect(known.map((agent) => agent.agentId).sort()).toEqual([...agentIds].sort());

    // Every history on the hub: 1, 2, ... without a gap, ending with the completion.
    for (const agentId of agentIds) {
      const events: AgentStatusChangedPayload[] = [];
      for await (const event of hub.admin.events(agentId)) events.push(event);
      expect(events.map((event) => event.sequence)).toEqual(events.map((_, index) => index + 1));
      expect(events.at(-1)?.status).toBe('completed');
    }
  });
});
