// One contract for every OrchestratorAdapter (the server's seam to whatever runs agents):
// LocalOrchestrator in process, HttpOrchestrator through the PROTOCOL 7 service, and
// QueueOrchestrator with a worker on BullMQ over a real Redis. Each passes the same tests.
import { randomUUID } from 'node:crypto';
import { rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { assembleBundle, type AgentStatus, type OrchestratorAdapter } from '@mosaic-fed/core';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it, type TestContext } from 'vitest';
import { HttpOrchestrator, LocalOrchestrator, UNEXPLAINED_FAILURE, type Sandbox, type SandboxProvider } from '../src/index.js';
import { createClaudeRunners } from '../src/anthropic.js';
import { GitWorkspaceProvider } from '../src/node.js';
import { AgentWorker, QueueOrchestrator } from '../src/queue.js';
import { DEMO_FIX, planFirstScenario } from '../src/testing.js';
import {
  createFixtureRepository,
  eventually,
  fixScript,
  processesMatching,
  processSandboxes,
  redisServer,
  scriptedClient,
  serveOrchestrator,
  SERVICE_TOKEN,
  sleepScript,
  spawnRequest,
  untilTerminal,
} from './helpers.js';

const repository = createFixtureRepository();
const workspaces = new GitWorkspaceProvider({ allowFileUrls: true });
const closing: { close(): Promise<void> }[] = [];
const prefix = `mosaic-fed-contract-${randomUUID()}:`;
let redis: Redis | undefined;

beforeAll(async () => {
  redis = await redisServer();
});

afterAll(async () => {
  // Last opened, first closed: adapters before what serves them.
  for (const resource of closing.reverse()) await resource.close();
  if (redis !== undefined) {
    const keys = await redis.keys(`${prefix}*`);
    if (keys.length > 0) await redis.del(...keys);
    redis.disconnect();
  }
  repository.remove();
});

const request = (options?: Parameters<typeof spawnRequest>[1]) => spawnRequest(repository.url, options);

/** How the tests reach the agents: in process, through the service over HTTP, or through the queue. */
type Via = 'in process' | 'HTTP service' | 'queue';

async function orchestratorFor(
  context: TestContext,
  sandboxes: SandboxProvider,
  script: Parameters<typeof scriptedClient>[0] = fixScript(),
  extra: { maxConcurrentAgents?: number; via: Via },
): Promise<OrchestratorAdapter> {
  const { client, server } = await scriptedClient(script);
  closing.push(server);
  const runners = createClaudeRunners({ client, commandTimeoutMs: 60_000 });
  const concurrency = extra.maxConcurrentAgents ?? 4;
  if (extra.via === 'queue') {
    if (redis === undefined) return context.skip('no Redis here: the queue-backed orchestrator is not tested');
    const queue = { redis, prefix: `${prefix}${randomUUID()}:` };
    const worker = new AgentWorker({ ...queue, sandboxes, workspaces, runners, concurrency, progressIntervalMs: 50, heartbeatMs: 200 });
    await worker.start();
    closing.push(worker);
    const orchestrator = new QueueOrchestrator({ ...queue, watchPollMs: 50 });
    closing.push(orchestrator);
    return orchestrator;
  }
  const orchestrator = new LocalOrchestrator({ sandboxes, workspaces, runners, progressIntervalMs: 50, maxConcurrentAgents: concurrency });
  await orchestrator.start();
  closing.push(orchestrator);
  if (extra.via === 'in process') return orchestrator;
  const service = await serveOrchestrator(orchestrator);
  closing.push(service);
  return new HttpOrchestrator({ url: service.url, token: SERVICE_TOKEN, reconnectDelayMs: 50 });
}

describe.each<{ via: Via }>([{ via: 'in process' }, { via: 'HTTP service' }, { via: 'queue' }])('the OrchestratorAdapter contract, $via', ({ via }) => {
  it('ends an agent past its timeout as failed with error "timeout"', async (context) => {
    const orchestrator = await orchestratorFor(context, processSandboxes(), sleepScript(), { via });
    const spawn = request({ timeout: 1_000, maxRetries: 3 });
    await orchestrator.spawn(spawn);
    const events = await untilTerminal(orchestrator, spawn.agentId);
    expect(events.at(-1)).toMatchObject({ status: 'failed', error: 'timeout', attempt: 1 });
    expect(processesMatching('sleep 37')).toEqual([]);
  });

  it('re-runs a failed first attempt when maxRetries allows, and completes on attempt 2', async (context) => {
    let first = true;
    const script = fixScript();
    const opening = script[0];
    script[0] = (scripted) => {
      // A request the API refuses fails the attempt (overload would be waited out in it).
      if (first) {
        first = false;
        return { error: 'invalid_request' };
      }
      return typeof opening === 'function' ? opening(scripted) : (opening ?? []);
    };
    const orchestrator = await orchestratorFor(context, processSandboxes(), script, { via });
    const spawn = request({ maxRetries: 1 });
    await orchestrator.spawn(spawn);
    const events = await untilTerminal(orchestrator, spawn.agentId);
    expect(events.at(-1)).toMatchObject({ status: 'completed', attempt: 2 });
    expect(events.filter((event) => event.status === 'running').map((event) => event.attempt)).toContain(2);
    expect(events.at(-1)?.result?.patch).toContain('+  echo $(($1 + $2))');
    // The transcript keeps both attempts, numbered on across them, and pages.
    const transcript = await orchestrator.transcript(spawn.agentId, { after: 0, limit: 500 });
    expect(transcript.map((entry) => entry.index)).toEqual(transcript.map((_, index) => index + 1));
    expect(transcript.filter((entry) => entry.kind === 'tool').map((entry) => [entry.attempt, entry.input])).toEqual([
      [2, 'cat calc.sh'],
      [2, JSON.stringify({ command: 'str_replace', path: 'calc.sh', old_str: '$1 - $2', new_str: '$1 + $2' })],
      [2, 'sh test.sh'],
    ]);
    expect(await orchestrator.transcript(spawn.agentId, { after: 1, limit: 1 })).toEqual([transcript[1]]);
    await expect(orchestrator.transcript(randomUUID(), { after: 0, limit: 10 })).rejects.toMatchObject({ code: 'NOT_FOUND' });
  });

  it('fails when the only attempt fails, with the reason and no stack', async (context) => {
    const orchestrator = await orchestratorFor(context, processSandboxes(), fixScript(), { via });
    const spawn = request();
    spawn.spec.context.branch = 'no-such-branch';
    await orchestrator.spawn(spawn);
    const last = (await untilTerminal(orchestrator, spawn.agentId)).at(-1);
    expect(last).toMatchObject({ status: 'failed', attempt: 1 });
    expect(last?.error).toContain('could not clone');
    expect(last?.error).not.toMatch(/\n\s+at /);
  });

  it('tells the peer one generic reason for a failure that names host paths, keeping them to its log', async (context) => {
    // A sandbox folder that cannot be made: its error names where on the host.
    const blocker = join(tmpdir(), `mosaic-not-a-dir-${randomUUID()}`);
    writeFileSync(blocker, 'a file where a folder should be');
    try {
      const orchestrator = await orchestratorFor(context, processSandboxes({ root: join(blocker, 'sandboxes') }), fixScript(), { via });
      const spawn = request();
      await orchestrator.spawn(spawn);
      const last = (await untilTerminal(orchestrator, spawn.agentId)).at(-1);
      expect(last).toMatchObject({ status: 'failed', error: UNEXPLAINED_FAILURE });
      expect(JSON.stringify(last)).not.toContain(blocker);
    } finally {
      rmSync(blocker, { force: true });
    }
  });

  it('runs 20 agents with at most 4 at once, and completes them all', async (context) => {
    let live = 0;
    let most = 0;
    const process = processSandboxes();
    const counting: SandboxProvider = {
      name: 'counting',
      async create(options) {
        const sandbox = await process.create(options);
        most = Math.max(most, ++live);
        let destroyed = false;
        // Every call goes to the sandbox itself (its private fields need it as `this`).
        const counted: Sandbox = {
          isolation: sandbox.isolation,
          workdir: sandbox.workdir,
          exec: (command, execOptions) => sandbox.exec(command, execOptions),
          readFile: (path) => sandbox.readFile(path),
          writeFile: (path, content) => sandbox.writeFile(path, content),
          exportTo: (hostDir) => sandbox.exportTo(hostDir),
          destroy: async () => {
            if (!destroyed) {
              destroyed = true;
              live--;
            }
            await sandbox.destroy();
          },
        };
        return counted;
      },
    };
    const orchestrator = await orchestratorFor(context, counting, fixScript(), { maxConcurrentAgents: 4, via });
    const spawns = Array.from({ length: 20 }, () => request());
    await Promise.all(spawns.map((spawn) => orchestrator.spawn(spawn)));
    const finals = await Promise.all(spawns.map(async (spawn) => (await untilTerminal(orchestrator, spawn.agentId)).at(-1)));
    expect(finals.map((final) => final?.status)).toEqual(Array.from({ length: 20 }, () => 'completed'));
    // Each did the work: the fix, checked by the test run.
    expect(finals.map((final) => final?.result?.outcome)).toEqual(Array.from({ length: 20 }, () => 'succeeded'));
    expect(most).toBeLessThanOrEqual(4);
    expect(most).toBeGreaterThan(1);
    // Running at once, by the orchestrator's own record of when each agent started and
    // ended (a watcher that polls sees a change late, so what watchers saw overlaps more).
    const edges = finals.flatMap((final) => [
      { at: Date.parse(final?.startedAt ?? ''), step: 1 },
      { at: Date.parse(final?.completedAt ?? ''), step: -1 },
    ]);
    expect(edges.every((edge) => Number.isFinite(edge.at))).toBe(true);
    let running = 0;
    let mostRunning = 0;
    // At the same millisecond, an end comes before a start.
    for (const edge of edges.sort((a, b) => a.at - b.at || a.step - b.step)) mostRunning = Math.max(mostRunning, (running += edge.step));
    expect(mostRunning).toBeLessThanOrEqual(4);
    expect(mostRunning).toBeGreaterThan(1);
  });

  it('kills an agent still waiting for a place, without ever starting it', async (context) => {
    const orchestrator = await orchestratorFor(context, processSandboxes(), sleepScript(), { maxConcurrentAgents: 1, via });
    const busy = request();
    const waiting = request();
    await orchestrator.spawn(busy);
    await orchestrator.spawn(waiting);
    await eventually(async () => expect((await orchestrator.getStatus(busy.agentId)).status).toBe('running'));
    // Asked together (read together): each its own answer, an unknown one NOT_FOUND.
    const [busyStatus, waitingStatus, unknown] = await Promise.all([
      orchestrator.getStatus(busy.agentId),
      orchestrator.getStatus(waiting.agentId),
      orchestrator.getStatus(randomUUID()).catch((error: unknown) => error),
    ]);
    expect([busyStatus.agentId, busyStatus.status]).toEqual([busy.agentId, 'running']);
    expect([waitingStatus.agentId, waitingStatus.status]).toEqual([waiting.agentId, 'spawning']);
    expect(unknown).toMatchObject({ code: 'NOT_FOUND' });
    // What the orchestrator holds, for the metrics: one queued, one running (a service elsewhere counts its own).
    if (orchestrator instanceof LocalOrchestrator || orchestrator instanceof QueueOrchestrator) {
      await eventually(async () => expect(await orchestrator.backlog()).toEqual({ queued: 1, running: 1 }));
    }
    await orchestrator.kill(waiting.agentId);
    const events = await untilTerminal(orchestrator, waiting.agentId);
    expect(events.map((event) => event.status)).toEqual(['spawning', 'killed']);
    await orchestrator.kill(busy.agentId);
  });

  it('answers NOT_FOUND for an unknown agent and AGENT_ALREADY_TERMINAL for a kill after completion', async (context) => {
    const orchestrator = await orchestratorFor(context, processSandboxes(), fixScript(), { via });
    await expect(orchestrator.getStatus(randomUUID())).rejects.toMatchObject({ code: 'NOT_FOUND' });
    await expect(orchestrator.kill(randomUUID())).rejects.toMatchObject({ code: 'NOT_FOUND' });
    const spawn = request();
    await orchestrator.spawn(spawn);
    await untilTerminal(orchestrator, spawn.agentId);
    await expect(orchestrator.kill(spawn.agentId)).rejects.toMatchObject({ code: 'AGENT_ALREADY_TERMINAL', data: { status: 'completed' } });
    expect((await orchestrator.getStatus(spawn.agentId)).status).toBe('completed');
  });

  it("hands out a completed worker's bundle in chunks that add up to its digest; NOT_FOUND without one", async (context) => {
    const orchestrator = await orchestratorFor(context, processSandboxes(), fixScript(), { via });
    const spawn = request();
    await orchestrator.spawn(spawn);
    const ref = (await untilTerminal(orchestrator, spawn.agentId)).at(-1)?.result?.bundle;
    if (ref === undefined) throw new Error('the worker left no bundle');
    expect(ref.bytes).toBeGreaterThan(100);
    const whole = await assembleBundle(ref, (offset) => orchestrator.bundle(spawn.agentId, { offset, length: 64 }));
    expect(new TextDecoder().decode(whole.subarray(0, 20))).toMatch(/^# v[23] git bundle\n/);
    expect(await orchestrator.bundle(spawn.agentId, { offset: 0 })).toMatchObject({ agentId: spawn.agentId, sha256: ref.sha256, bytes: ref.bytes, offset: 0 });
    await expect(orchestrator.bundle(spawn.agentId, { offset: ref.bytes })).rejects.toMatchObject({ code: 'VALIDATION_FAILED' });
    await expect(orchestrator.bundle(randomUUID(), { offset: 0 })).rejects.toMatchObject({ code: 'NOT_FOUND' });
  });

  it('waits for approval of the plan and of a held command, goes on as answered, and takes each answer once', async (context) => {
    const orchestrator = await orchestratorFor(context, processSandboxes(), planFirstScenario(DEMO_FIX), { via });
    const spawn = request();
    spawn.spec.options.approval = 'plan';
    spawn.approvals = { commands: ['sh test.sh'] };
    await orchestrator.spawn(spawn);
    const asked: string[] = [];
    /** The next approval the agent waits for. */
    const nextApproval = () =>
      eventually(async () => {
        const status = await orchestrator.getStatus(spawn.agentId);
        expect(status.status).toBe('waiting');
        const pending = status.pendingApproval;
        if (pending === undefined || asked.includes(pending.id)) throw new Error('not waiting for a new approval yet');
        asked.push(pending.id);
        return { status, pending };
      });

    const plan = await nextApproval();
    expect(plan.pending).toMatchObject({ kind: 'plan', summary: 'Replace `$1 - $2` with `$1 + $2` in calc.sh.' });
    expect(plan.status.progress?.lastAction).toBe('waits for approval of its plan');
    await expect(orchestrator.respond(spawn.agentId, { approvalId: 'not-this-one', decision: 'approve' })).rejects.toMatchObject({ code: 'VALIDATION_FAILED' });
    await expect(orchestrator.respond(randomUUID(), { approvalId: plan.pending.id, decision: 'approve' })).rejects.toMatchObject({ code: 'NOT_FOUND' });
    expect(await orchestrator.respond(spawn.agentId, { approvalId: plan.pending.id, decision: 'reject', note: 'Say which test you run.' })).toMatchObject({
      agentId: spawn.agentId,
      approvalId: plan.pending.id,
      decision: 'reject',
    });
    // The first answer is the one: another, even the same again, is refused.
    await expect(orchestrator.respond(spawn.agentId, { approvalId: plan.pending.id, decision: 'approve' })).rejects.toMatchObject({ code: 'VALIDATION_FAILED' });

    const revised = await nextApproval();
    expect(revised.pending.summary).toBe('Revised: replace `$1 - $2` with `$1 + $2` in calc.sh, then run `sh test.sh`.');
    await orchestrator.respond(spawn.agentId, { approvalId: revised.pending.id, decision: 'approve' });

    const command = await nextApproval();
    expect(command.pending).toMatchObject({ kind: 'command', summary: 'Run `sh test.sh`', details: { command: 'sh test.sh', rule: 'sh test.sh' } });
    await orchestrator.respond(spawn.agentId, { approvalId: command.pending.id, decision: 'reject' });
    const again = await nextApproval();
    await orchestrator.respond(spawn.agentId, { approvalId: again.pending.id, decision: 'approve', note: 'Go ahead.' });

    const events = await untilTerminal(orchestrator, spawn.agentId);
    const last = events.at(-1);
    expect(last).toMatchObject({ status: 'completed', result: { summary: 'Fixed; the tests pass now.', outcome: 'succeeded' } });
    expect(last?.pendingApproval).toBeUndefined();
    expect(last?.result?.patch).toContain('+  echo $(($1 + $2))');
    // The held command ran once: after it was approved.
    expect(last?.result?.checks).toEqual([{ command: 'sh test.sh', exitCode: 0 }]);
    const moves = events.map((event) => event.status).filter((state, index, all) => state !== all[index - 1]);
    expect(moves).toEqual(['spawning', 'running', 'waiting', 'running', 'waiting', 'running', 'waiting', 'running', 'waiting', 'running', 'completed']);
    // Only a waiting status names what it waits for.
    expect(events.every((event: AgentStatus) => (event.status === 'waiting') === (event.pendingApproval !== undefined))).toBe(true);
    const transcript = await orchestrator.transcript(spawn.agentId, { after: 0, limit: 500 });
    const said = transcript.map((entry) => [entry.kind, entry.isError === true ? 'error' : 'ok', entry.input.split(':')[0]]);
    expect(said).toEqual([
      ['tool', 'error', 'cat calc.sh'],
      ['note', 'ok', 'asked for approval of its plan'],
      ['note', 'ok', 'its plan was not approved'],
      ['note', 'ok', 'asked for approval of its plan'],
      ['note', 'ok', 'its plan was approved'],
      ['tool', 'ok', '{"command"'],
      ['note', 'ok', 'asked for approval of its command'],
      ['note', 'ok', 'its command was not approved'],
      ['tool', 'error', 'sh test.sh'],
      ['note', 'ok', 'asked for approval of its command'],
      ['note', 'ok', 'its command was approved'],
      ['tool', 'ok', 'sh test.sh'],
      ['text', 'ok', 'Fixed; the tests pass now.'],
    ]);
    expect(transcript[2]?.input).toBe('its plan was not approved: Say which test you run.');
  });

  it('ends an agent waiting for approval when it is killed, or when its timeout passes', async (context) => {
    const orchestrator = await orchestratorFor(context, processSandboxes(), planFirstScenario(DEMO_FIX), { via });
    const killed = request();
    const timedOut = request({ timeout: 3_000 });
    for (const spawn of [killed, timedOut]) {
      spawn.spec.options.approval = 'plan';
      await orchestrator.spawn(spawn);
    }
    const pending = await eventually(async () => {
      const status = await orchestrator.getStatus(killed.agentId);
      expect(status.status).toBe('waiting');
      return status.pendingApproval;
    });
    expect(await orchestrator.kill(killed.agentId)).toMatchObject({ status: 'killed' });
    const afterKill = (await untilTerminal(orchestrator, killed.agentId)).at(-1);
    expect(afterKill).toMatchObject({ status: 'killed' });
    expect(afterKill?.pendingApproval).toBeUndefined();
    await expect(orchestrator.respond(killed.agentId, { approvalId: pending?.id ?? '', decision: 'approve' })).rejects.toMatchObject({ code: 'VALIDATION_FAILED' });
    // Waiting counts toward the timeout.
    const afterTimeout = (await untilTerminal(orchestrator, timedOut.agentId)).at(-1);
    expect(afterTimeout).toMatchObject({ status: 'failed', error: 'timeout' });
    expect(afterTimeout?.pendingApproval).toBeUndefined();
  });
});
