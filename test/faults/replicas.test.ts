// Fault injection under load in Valkey mode (issue 17, scenarios 2 and 4): a hub, and a
// spoke of two `serve` replicas behind a round-robin balancer whose agents run on two
// `mosaic-fed worker` processes, all on a redis-server of this suite's own. Under twelve
// agents at a time, a spoke replica is killed with SIGKILL and not restarted; then, under
// twelve more, Valkey is killed and kept away longer than the workers' lock. At the end
// the counts must agree: each agent ran once, on its first attempt, and the hub has every
// agent `completed` with a gapless history.
import { spawnSync, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import type { AgentStatusChangedPayload } from '@mosaic-fed/core';
import { createDemoRepository, demoFixScript, startScriptedMessagesServer, turnByTurn, type ScriptedTurn } from '@mosaic-fed/orchestrator/testing';
import { afterAll, describe, expect, it } from 'vitest';
import { killStarted, startCli, startRoundRobin, stopProcess, type Served } from '../../packages/node/test/processes.js';
import { eventually, freePort, instance, pause, startRedis, workFolder } from './harness.js';

const LOAD = 12;
const work = workFolder('mosaic-faults-valkey-');
const closers: (() => Promise<unknown>)[] = [];
let redis: ChildProcess | undefined;

afterAll(async () => {
  await killStarted();
  redis?.kill('SIGKILL');
  for (const close of closers.reverse()) await close().catch(() => undefined);
  work.remove();
});

const address = (served: Served) => `http://127.0.0.1:${served.listening.port}`;

describe('spoke replicas and workers on Valkey, under load', () => {
  it('lose no agent and run none twice when a replica dies and when Valkey is away longer than the lock', async () => {
    // The model counts each agent's runs (its opening request); every run works a while.
    const runs = new Map<string, number>();
    const fix = demoFixScript();
    const script: ScriptedTurn[] = fix.map((turn, index) => (request) => {
      const text = JSON.stringify(request.messages[0]?.content);
      const task = /Task ([\w.:-]+)\./.exec(text)?.[1] ?? '?';
      if (index === 0) runs.set(task, (runs.get(task) ?? 0) + 1);
      if (index === 0) return [{ type: 'tool_use', name: 'bash', input: { command: text.includes('long') ? 'sleep 9' : 'sleep 4' } }];
      return typeof turn === 'function' ? turn(request) : turn;
    });
    const model = await startScriptedMessagesServer(turnByTurn(script));
    closers.push(() => model.close());
    const repository = createDemoRepository(join(work.path, 'repo'));
    const redisPort = await freePort();
    redis = await startRedis(redisPort, work.path);
    const valkey = { REDIS_URL: `redis://127.0.0.1:${redisPort}`, MOSAIC_FED_REDIS_PREFIX: 'spoke:' };

    const hub = await instance(work.path, 'Hub');
    const hubProcess = await hub.serve();
    closers.push(() => stopProcess(hubProcess, 'SIGTERM'));
    const replicas: Served[] = [];
    const balancer = await startRoundRobin(() => replicas.map(address));
    closers.push(() => balancer.close());
    const spoke = await instance(work.path, 'Spoke', { url: balancer.url });
    const replicaEnv = { ...valkey, MOSAIC_FED_AUTO_ACCEPT_URLS: hub.url, MOSAIC_FED_REPOSITORIES: 'file://**' };
    replicas.push(await spoke.serve(replicaEnv, 0), await spoke.serve(replicaEnv, 0));
    const worker = () =>
      startCli(['worker', '--data-dir', join(work.path, 'worker')], work.path, {
        ...valkey,
        MOSAIC_FED_LOG_LEVEL: 'info',
        MOSAIC_FED_SANDBOX: 'unsafe-process',
        MOSAIC_FED_ALLOW_FILE_REPOSITORIES: 'true',
        MOSAIC_FED_WORKER_CONCURRENCY: String(LOAD),
        MOSAIC_FED_WORKER_LOCK_MS: '3000',
        ANTHROPIC_API_KEY: 'scripted',
        ANTHROPIC_BASE_URL: model.url,
      }, 'worker started');
    const workers = [await worker(), await worker()];
    closers.push(...workers.map((w) => () => stopProcess(w, 'SIGTERM')));

    const connection = await hub.admin.connect(spoke.url);
    expect(connection.status).toBe('ACTIVE');
    const [toHub] = await spoke.admin.connections({ status: 'ACTIVE' });
    await spoke.admin.updateGrants(toHub?.id ?? '', { maxConcurrentAgents: 100, spawnPerMinute: 1_000, messagesPerMinute: 10_000 });
    const spawnAll = (prefix: string, instructions: string) =>
      Promise.all(
        Array.from({ length: LOAD }, (_, i) =>
          hub.admin.spawn({
            connectionId: connection.id,
            payload: { taskId: `${prefix}-${i}`, agentType: 'worker', context: { repository, branch: 'main', instructions }, options: { maxRetries: 2 } },
          }),
        ),
      );
    const allRunning = (ids: string[]) =>
      eventually(async () => {
        const statuses = await Promise.all(ids.map((id) => hub.admin.status(id, { refresh: true })));
        if (statuses.some((s) => s.status !== 'running')) throw new Error('not all are running yet');
      }, 30_000);

    // Scenario 2: a spoke replica dies (SIGKILL, not restarted) while twelve agents run.
    const first = (await spawnAll('replica', 'Take a nap.')).map((answer) => answer.agentId);
    await allRunning(first);
    const [victim] = replicas.splice(0, 1);
    await stopProcess(victim as Served, 'SIGKILL');

    // Scenario 4: twelve more, and Valkey away for 5 s against a 3 s lock.
    const second = (await spawnAll('outage', 'Take a long nap.')).map((answer) => answer.agentId);
    await allRunning(second);
    redis.kill('SIGKILL');
    await new Promise((resolve) => redis?.once('exit', resolve));
    await pause(5_000);
    redis = await startRedis(redisPort, work.path);

    // The counts: every agent completed on the hub, each run once, on its first attempt.
    const agentIds = [...first, ...second];
    await eventually(async () => {
      const statuses = await Promise.all(agentIds.map((id) => hub.admin.status(id)));
      const open = statuses.filter((s) => s.status !== 'completed');
      if (open.length > 0) throw new Error(`${open.length} not completed on the hub: ${open.map((s) => s.status).join(', ')}`);
    }, 120_000);
    const { sent } = await hub.admin.agents({ limit: 100 });
    expect(sent.items.map((agent) => agent.agentId).sort()).toEqual([...agentIds].sort());
    for (const agentId of agentIds) {
      const status = await hub.admin.status(agentId);
      expect(status.attempt).toBe(1);
      expect(runs.get(status.taskId)).toBe(1);
      const events: AgentStatusChangedPayload[] = [];
      for await (const event of hub.admin.events(agentId)) events.push(event);
      expect(events.map((event) => event.sequence)).toEqual(events.map((_, index) => index + 1));
    }
    expect(runs.size).toBe(agentIds.length);
    expect(spawnSync('pgrep', ['-f', 'sleep 9']).status).not.toBe(0);
  });
});
