// The queue's change notices: every server replica's watchers hear what a worker or another
// replica writes as it is written, over Valkey, rather than at their next read of the state.
import { randomUUID } from 'node:crypto';
import type { AgentStatusChangedPayload } from '@mosaic-fed/core';
import { afterAll, describe, expect, it } from 'vitest';
import { createClaudeRunners } from '../src/anthropic.js';
import { GitWorkspaceProvider } from '../src/node.js';
import { AgentWorker, QueueOrchestrator } from '../src/queue.js';
import { createFixtureRepository, eventually, processesMatching, processSandboxes, redisServer, scriptedClient, sleepScript, spawnRequest } from './helpers.js';

const repository = createFixtureRepository();
const closing: { close(): Promise<void> }[] = [];

afterAll(async () => {
  for (const resource of closing.reverse()) await resource.close();
  repository.remove();
});

describe('the queue-backed orchestrator', () => {
  it("tells every replica's watchers of a change as it is written, not at their next poll", async (context) => {
    const redis = await redisServer();
    if (redis === undefined) return context.skip('no Redis here: the queue-backed orchestrator is not tested');
    const prefix = `mosaic-fed-notices-${randomUUID()}:`;
    closing.push({
      close: async () => {
        const keys = await redis.keys(`${prefix}*`);
        if (keys.length > 0) await redis.del(...keys);
        redis.disconnect();
      },
    });
    const { client, server } = await scriptedClient(sleepScript(43));
    closing.push(server);
    const queue = { redis, prefix };
    const worker = new AgentWorker({
      ...queue,
      sandboxes: processSandboxes(),
      workspaces: new GitWorkspaceProvider({ allowFileUrls: true }),
      runners: createClaudeRunners({ client, commandTimeoutMs: 60_000 }),
      heartbeatMs: 200,
    });
    await worker.start();
    closing.push(worker);
    // Two replicas that would not read the state again for ten minutes unless told.
    const [spawning, watching] = [new QueueOrchestrator({ ...queue, watchPollMs: 600_000 }), new QueueOrchestrator({ ...queue, watchPollMs: 600_000 })];
    closing.push(spawning, watching);

    const spawn = spawnRequest(repository.url);
    await spawning.spawn(spawn);
    const heard: AgentStatusChangedPayload[] = [];
    const followed = (async () => {
      for await (const event of watching.watch(spawn.agentId)) heard.push(event);
    })();
    // The worker's move to running, heard on the other replica.
    await eventually(() => heard.some((event) => event.status === 'running'));
    await eventually(() => processesMatching('sleep 43').length > 0);
    // A kill through one replica, heard on the other; the watch ends with it.
    await spawning.kill(spawn.agentId);
    await followed;
    expect(heard[0]).toMatchObject({ status: 'spawning', sequence: 1 });
    expect(heard.at(-1)).toMatchObject({ status: 'killed' });
    expect(heard.map((event) => event.sequence)).toEqual(heard.map((_, index) => index + 1));
    await eventually(() => processesMatching('sleep 43').length === 0);
  });
});
