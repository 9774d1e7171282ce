import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { signMessage, type AgentStatus, type AgentStatusChangedPayload, type Connection } from '@mosaic-fed/core';
import { WORKER_STOPPED } from '@mosaic-fed/orchestrator';
import { createDemoRepository, demoFixScript, startScriptedMessagesServer, turnByTurn, type ScriptedMessagesServer, type ScriptedTurn } from '@mosaic-fed/orchestrator/testing';
import { AdminClient } from '@mosaic-fed/sdk';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openFederation } from '../src/index.js';
import { silentLogger } from '@mosaic-fed/server';
import { createTempDir } from '../../server/test/helpers.js';
import { createPostgresSchema, testPostgresAnswers } from '../../../test/postgres.js';
import { freePort, killStarted, runCli, startCli, startRoundRobin, stopProcess, type Served } from './processes.js';
import { eventually } from './peers.js';

// Many machines, on one: a hub and a spoke of two replicas each, as separate processes
// behind round-robin balancers, sharing one Valkey (a redis-server of this test's own,
// with an append-only file, restarted mid-test) and a database per instance: a libSQL
// file, then PostgreSQL (where the spoke's agents' state lives too); the spoke's agents
// run on two `mosaic-fed worker` processes through the BullMQ queue.
const redisBinary = spawnSync('sh', ['-c', 'command -v redis-server'], { encoding: 'utf8' }).stdout.trim();
if (redisBinary === '' && process.env.CI === 'true') throw new Error('CI needs redis-server for the replica tests');
const postgres = await testPostgresAnswers();

/** Where each instance keeps its stores (and the spoke its agents' state). */
type ReplicaDatabase = 'a libSQL file' | 'PostgreSQL';

function describeReplicas(database: ReplicaDatabase): void {
  describe(`replicas and workers on Valkey, each instance's database ${database === 'PostgreSQL' ? 'in PostgreSQL' : 'a libSQL file'}`, () => {
    const work = createTempDir('mosaic-replicas-');
    let redisPort: number;
    let redis: ChildProcess | undefined;
    let model: ScriptedMessagesServer;
    let repository: string;
    /** Model requests that opened a conversation, per task id: an agent run. */
    const runs = new Map<string, number>();
    /** Each instance's database: its file in its data directory, or a PostgreSQL schema of its own (`env`). */
    const hub = { replicas: [] as Served[], token: '', url: '', dataDir: join(work.path, 'hub'), env: {} as Record<string, string> };
    const spoke = { replicas: [] as Served[], token: '', url: '', dataDir: join(work.path, 'spoke'), env: {} as Record<string, string> };
    const workers: Served[] = [];
    const closers: (() => Promise<unknown>)[] = [];
    let hubToSpoke: Connection;

    const SLEEP = 'sleep 53';

    function startRedis(): Promise<ChildProcess> {
      const child = spawn(redisBinary, ['--port', String(redisPort), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'yes', '--dir', work.path], {
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let output = '';
      child.stdout?.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
      return eventually(() => {
        const pong = spawnSync('redis-cli', ['-p', String(redisPort), 'ping'], { encoding: 'utf8' }).stdout.trim();
        if (pong !== 'PONG') throw new Error(`redis-server is not up yet: ${output.slice(-500)}`);
        return child;
      });
    }

    const valkeyEnv = () => ({ REDIS_URL: `redis://127.0.0.1:${redisPort}`, MOSAIC_FED_LOG_LEVEL: 'warn' });

    /** One replica of an instance: its own port, the instance's database file, URL and Valkey prefix. */
    async function startReplica(instance: typeof hub, extra: Record<string, string> = {}) {
      return startCli(
        ['serve', '--port', '0', '--data-dir', instance.dataDir, '--url', instance.url],
        work.path,
        {
          ...valkeyEnv(),
          ...instance.env,
          MOSAIC_FED_LOG_LEVEL: 'info',
          MOSAIC_FED_REDIS_PREFIX: `${instance === hub ? 'hub' : 'spoke'}:`,
          // The workers fetch the test's repository from a folder: the spoke's policy allows it.
          MOSAIC_FED_REPOSITORIES: 'file://**',
          ...extra,
        },
        'listening',
      );
    }

    function startWorker() {
      return startCli(
        ['worker'],
        work.path,
        {
          ...valkeyEnv(),
          // The spoke's agents' state: in its PostgreSQL, or beside the queue in Valkey.
          ...spoke.env,
          MOSAIC_FED_LOG_LEVEL: 'info',
          MOSAIC_FED_REDIS_PREFIX: 'spoke:',
          MOSAIC_FED_SANDBOX: 'unsafe-process',
          MOSAIC_FED_ALLOW_FILE_REPOSITORIES: 'true',
          MOSAIC_FED_WORKER_CONCURRENCY: '4',
          MOSAIC_FED_WORKER_LOCK_MS: '3000',
          ANTHROPIC_API_KEY: 'scripted',
          ANTHROPIC_BASE_URL: model.url,
        },
        'worker started',
      );
    }

    beforeAll(async () => {
      if (database === 'PostgreSQL') {
        for (const instance of [hub, spoke]) {
          const schema = await createPostgresSchema();
          closers.push(() => schema.drop());
          instance.env = { MOSAIC_FED_DATABASE_URL: schema.url };
        }
      }
      // A replica's own address: its `url` is the instance's public one, the balancer's.
      const balancerFor = (instance: typeof hub) => startRoundRobin(() => instance.replicas.map(address));
      const [hubBalancer, spokeBalancer] = await Promise.all([balancerFor(hub), balancerFor(spoke)]);
      closers.push(() => hubBalancer.close(), () => spokeBalancer.close());
      hub.url = hubBalancer.url;
      spoke.url = spokeBalancer.url;
      redisPort = await freePort();
      redis = await startRedis();

      // The model fixes the repository; a task whose instructions say "wait" runs a long
      // command instead. Every opening request is one run of one agent.
      const fix = demoFixScript();
      const script: ScriptedTurn[] = fix.map((turn, index) => (request) => {
        const task = /Task ([\w.:-]+)\./.exec(JSON.stringify(request.messages[0]?.content))?.[1] ?? '?';
        if (index === 0) runs.set(task, (runs.get(task) ?? 0) + 1);
        if (JSON.stringify(request.messages[0]?.content).includes('wait')) {
          return index === 0 ? [{ type: 'tool_use', name: 'bash', input: { command: SLEEP } }] : [];
        }
        // "nap": a few seconds' work, then done ("a long nap": some more).
        if (JSON.stringify(request.messages[0]?.content).includes('a long nap')) {
          return index === 0 ? [{ type: 'tool_use', name: 'bash', input: { command: 'sleep 12' } }] : [{ type: 'text', text: 'Napped long.' }];
        }
        if (JSON.stringify(request.messages[0]?.content).includes('nap')) {
          return index === 0 ? [{ type: 'tool_use', name: 'bash', input: { command: 'sleep 5' } }] : [{ type: 'text', text: 'Napped.' }];
        }
        return typeof turn === 'function' ? turn(request) : turn;
      });
      model = await startScriptedMessagesServer(turnByTurn(script));
      closers.push(() => model.close());
      repository = createDemoRepository(join(work.path, 'repo'));

      for (const instance of [hub, spoke]) {
        const created = runCli(['token', 'create', '--data-dir', instance.dataDir, '--url', instance.url], work.path, instance.env);
        expect(created.status, created.stderr).toBe(0);
        instance.token = created.stdout.trim();
      }
      hub.replicas.push(await startReplica(hub), await startReplica(hub));
      const autoAccept = { MOSAIC_FED_AUTO_ACCEPT_URLS: hub.url };
      spoke.replicas.push(await startReplica(spoke, autoAccept), await startReplica(spoke, autoAccept));
      workers.push(await startWorker(), await startWorker());

      hubToSpoke = await admin(hub, 0).connect(spoke.url);
      expect(hubToSpoke.status).toBe('ACTIVE');
      // Both sides let the other send far more than the defaults: 100 agents' worth of
      // commands one way and of status events the other.
      const [incoming] = await admin(spoke, 1).connections({ status: 'ACTIVE' });
      await admin(spoke, 0).updateGrants(incoming?.id ?? '', { spawnPerMinute: 10_000, messagesPerMinute: 100_000, maxConcurrentAgents: 1_000 });
      await admin(hub, 1).updateGrants(hubToSpoke.id, { messagesPerMinute: 100_000 });
    }, 120_000);

    afterAll(async () => {
      // What went wrong inside the processes, for whoever reads a failed run.
      const problems = [...hub.replicas, ...spoke.replicas, ...workers].flatMap((p) => p.lines).filter((l) => l.level === 'error' || (process.env.DEBUG_REPLICAS !== undefined && l.level === 'warn'));
      if (problems.length > 0) console.warn(JSON.stringify(problems.slice(0, 20), null, 1));
      await killStarted();
      for (const close of closers.reverse()) await close().catch(() => undefined);
      redis?.kill('SIGKILL');
      spawnSync('pkill', ['-KILL', '-f', SLEEP]);
      work.remove();
    });

    function address(replica: Served): string {
      return `http://127.0.0.1:${replica.listening.port}`;
    }

    /** The admin API of one replica of an instance. */
    function admin(instance: typeof hub, replica: number) {
      const served = instance.replicas[replica];
      if (served === undefined) throw new Error(`no replica ${replica}`);
      return new AdminClient({ url: address(served), token: instance.token });
    }

    function spawnVia(replica: number, taskId: string, instructions = 'Make sh test.sh pass.') {
      return admin(hub, replica).spawn({
        connectionId: hubToSpoke.id,
        payload: { taskId, agentType: 'worker', context: { repository, branch: 'main', instructions } },
      });
    }

    /** The worker that runs a waiting agent, once the agent's command runs. */
    async function workerRunning(agentId: string): Promise<Served> {
      const owner = await eventually(() => {
        const found = workers.find((w) => w.lines.some((l) => l.msg === 'running an agent' && l.agentId === agentId));
        if (found === undefined) throw new Error('no worker has it yet');
        return found;
      }, 20_000);
      // The worker logs that line before it marks the agent running: stopped in between, the
      // agent would rightly start afresh elsewhere. Its command running means it is running.
      await eventually(() => expect(spawnSync('pgrep', ['-f', SLEEP]).status).toBe(0), 20_000);
      return owner;
    }

    async function hubStatus(agentId: string, replica = 0): Promise<AgentStatus> {
      return admin(hub, replica).status(agentId);
    }

    async function collect(events: AsyncIterable<AgentStatusChangedPayload>) {
      const seen: AgentStatusChangedPayload[] = [];
      for await (const event of events) seen.push(event);
      return seen;
    }

    it('100 spawns over both hub replicas become exactly 100 agents, all completed, none run twice', async () => {
      const spawned = await Promise.all(Array.from({ length: 100 }, (_, index) => spawnVia(index % 2, `bulk-${index}`)));
      expect(new Set(spawned.map((s) => s.agentId)).size).toBe(100);
      // Asked once a second, from the hub's list, not agent by agent: the machine has two cores.
      for (let done = 0, tries = 0; done < 100; tries++) {
        if (tries > 90) throw new Error(`${done} of 100 completed after 90 s`);
        await new Promise((resolve) => setTimeout(resolve, 1_000));
        const { sent } = await admin(hub, tries % 2).agents({ limit: 500 });
        done = sent.items.filter((a) => a.taskId.startsWith('bulk-') && a.status.status === 'completed').length;
      }
      const bulk = [...runs].filter(([task]) => task.startsWith('bulk-'));
      expect(bulk).toHaveLength(100);
      expect(bulk.filter(([, count]) => count !== 1)).toEqual([]);
      const hosted = await admin(spoke, 0).agents({ limit: 500 });
      expect(hosted.hosted.items.filter((a) => a.status.taskId.startsWith('bulk-'))).toHaveLength(100);
      // Both workers took a share.
      for (const worker of workers) expect(worker.lines.filter((l) => l.msg === 'running an agent').length).toBeGreaterThan(0);
    }, 120_000);

    it('a kill sent to hub replica A stops an agent spawned through replica B, on whichever worker runs it', async () => {
      const { agentId } = await spawnVia(1, 'kill-me', 'Please wait.');
      await eventually(() => expect(spawnSync('pgrep', ['-f', SLEEP]).status).toBe(0), 20_000);
      const killed = await admin(hub, 0).kill(agentId);
      expect(killed.status).toBe('killed');
      await eventually(() => expect(spawnSync('pgrep', ['-f', SLEEP]).status).toBe(1), 10_000);
      await eventually(async () => expect((await hubStatus(agentId, 1)).status).toBe('killed'));
    }, 60_000);

    it('an event stream on hub replica B carries the events of an agent spawned through replica A', async () => {
      const { agentId } = await spawnVia(0, 'watched');
      const events = await collect(admin(hub, 1).events(agentId));
      expect(events[0]?.sequence).toBe(1);
      expect(events.at(-1)?.status).toBe('completed');
      // In order, each once. (Replicas deliver the spoke's outbox concurrently, so the hub
      // may see a later status first and, as PROTOCOL 5 says, ignore the earlier one.)
      const sequences = events.map((e) => e.sequence);
      expect(sequences).toEqual([...new Set(sequences)].sort((a, b) => a - b));
    }, 60_000);

    it('a spawn replayed to both spoke replicas at once starts one agent', async () => {
      const federation = await openFederation({ dataDir: hub.dataDir, url: hub.url, logger: silentLogger, ...(hub.env.MOSAIC_FED_DATABASE_URL === undefined ? {} : { databaseUrl: hub.env.MOSAIC_FED_DATABASE_URL }) });
      try {
        const self = await federation.instance.load();
        const token = await signMessage(
          {
            kind: 'COMMAND',
            iss: self.instanceId,
            aud: (await (await fetch(`${spoke.url}/.well-known/mosaic-federation`)).json() as { instanceId: string }).instanceId,
            commandType: 'agent.spawn',
            payload: { taskId: 'replayed', agentType: 'worker', context: { repository, branch: 'main' } },
          },
          await federation.instance.signingKey(),
        );
        const answers = await Promise.all(
          spoke.replicas.flatMap((replica) =>
            [0, 1].map(() =>
              fetch(`${address(replica)}/api/v1/federation/incoming/command`, {
                method: 'POST',
                headers: { 'Content-Type': 'application/jwt' },
                body: token,
              }),
            ),
          ),
        );
        const statuses = answers.map((a) => a.status);
        // One executed; the copies got its answer, or were told it is still executing.
        expect(statuses.filter((s) => s === 200).length).toBeGreaterThanOrEqual(1);
        expect(statuses.every((s) => s === 200 || s === 409)).toBe(true);
        await eventually(() => expect(runs.get('replayed')).toBe(1), 20_000);
        await new Promise((resolve) => setTimeout(resolve, 1_000));
        expect(runs.get('replayed')).toBe(1);
      } finally {
        await federation.close();
      }
    }, 60_000);

    it('a worker killed with SIGKILL mid-agent: the agent ends failed with the reason, and the hub is told', async () => {
      const { agentId } = await spawnVia(0, 'orphaned', 'Please wait.');
      const owner = await workerRunning(agentId);
      owner.child.kill('SIGKILL');
      await owner.exited;
      // Its lock lapses; the other worker takes the job, counts the lost attempt, and with
      // no retry left ends the agent.
      await eventually(async () => expect(await hubStatus(agentId)).toMatchObject({ status: 'failed', error: WORKER_STOPPED }), 30_000);
      spawnSync('pkill', ['-KILL', '-f', SLEEP]);
      workers.splice(workers.indexOf(owner), 1, await startWorker());
    }, 60_000);

    it('a spoke replica killed with SIGKILL: another replica takes its agents over and their events reach the hub', async () => {
      const spawned = await Promise.all([0, 1, 2, 3].map((i) => spawnVia(i % 2, `watched-${i}`, 'Take a nap.')));
      await eventually(async () => {
        const statuses = await Promise.all(spawned.map(({ agentId }) => hubStatus(agentId)));
        if (statuses.some((s) => s.status !== 'running')) throw new Error('not all are running yet');
      }, 20_000);
      // The replica goes, and the balancer stops sending to it; it is not restarted.
      const [victim] = spoke.replicas.splice(0, 1);
      victim?.child.kill('SIGKILL');
      await victim?.exited;
      // Its watch leases lapse, the other replica takes them, and every agent's end reaches the hub.
      await eventually(async () => {
        const statuses = await Promise.all(spawned.map(({ agentId }) => hubStatus(agentId)));
        const open = statuses.filter((s) => s.status !== 'completed');
        if (open.length > 0) throw new Error(`${open.length} not completed on the hub: ${open.map((s) => s.status).join(', ')}`);
      }, 45_000);
      spoke.replicas.push(await startReplica(spoke, { MOSAIC_FED_AUTO_ACCEPT_URLS: hub.url }));
    }, 90_000);

    it('a worker stopped with SIGTERM mid-agent hands it over: another worker runs the same attempt, nothing fails', async () => {
      const { agentId } = await spawnVia(1, 'handed-over', 'Please wait.');
      const owner = await workerRunning(agentId);
      expect(await stopProcess(owner, 'SIGTERM')).toBe(0);
      expect(owner.lines.some((l) => l.msg === 'handed an agent over to another worker' && l.agentId === agentId)).toBe(true);
      const other = workers.find((w) => w !== owner);
      await eventually(() => {
        if (!other?.lines.some((l) => l.msg === 'running an agent' && l.agentId === agentId && l.handedOver === true)) throw new Error('not taken over yet');
      }, 20_000);
      // The same attempt, running again from its start: no failure, no attempt lost.
      await eventually(() => expect(runs.get('handed-over')).toBe(2), 20_000);
      const status = await admin(hub, 0).status(agentId, { refresh: true });
      expect(status).toMatchObject({ status: 'running', attempt: 1, error: null });
      expect((await admin(hub, 0).kill(agentId)).status).toBe('killed');
      workers.splice(workers.indexOf(owner), 1, await startWorker());
    }, 60_000);

    it('Valkey away longer than the workers\' lock: the running agent is not started again elsewhere, and runs once', async () => {
      const { agentId } = await admin(hub, 0).spawn({
        connectionId: hubToSpoke.id,
        payload: { taskId: 'outlasted', agentType: 'worker', context: { repository, branch: 'main', instructions: 'Take a long nap.' }, options: { maxRetries: 2 } },
      });
      await eventually(() => expect(spawnSync('pgrep', ['-f', 'sleep 12']).status).toBe(0), 20_000);
      // Away for longer than the 3 s lock: when it is back, the job's lock has lapsed.
      redis?.kill('SIGKILL');
      await new Promise((resolve) => redis?.once('exit', resolve));
      await new Promise((resolve) => setTimeout(resolve, 5_000));
      redis = await startRedis();
      await eventually(async () => expect(await hubStatus(agentId)).toMatchObject({ status: 'completed', attempt: 1 }), 60_000);
      expect(runs.get('outlasted')).toBe(1);
    }, 90_000);

    it('Valkey restarted mid-run: requests succeed or fail with ORCHESTRATOR_UNAVAILABLE, nothing is half-written, and service resumes', async () => {
      const before = await Promise.all([spawnVia(0, 'before-restart-0'), spawnVia(1, 'before-restart-1')]);
      redis?.kill('SIGKILL');
      await new Promise((resolve) => redis?.once('exit', resolve));
      const during = await Promise.all(
        [0, 1, 2, 3].map((index) =>
          spawnVia(index % 2, `during-restart-${index}`).then(
            (answer) => ({ ok: true as const, agentId: answer.agentId }),
            (error: { code?: string }) => ({ ok: false as const, code: error.code }),
          ),
        ),
      );
      for (const outcome of during) if (!outcome.ok) expect(outcome.code).toBe('ORCHESTRATOR_UNAVAILABLE');
      redis = await startRedis();
      const after = await eventually(() => spawnVia(1, 'after-restart'), 30_000);
      const succeeded = [...before, ...during.flatMap((o) => (o.ok ? [{ agentId: o.agentId }] : [])), after];
      // Every spawn that was answered runs to its end; no half-spawned agent is left.
      await eventually(async () => {
        const statuses = await Promise.all(succeeded.map((s) => hubStatus(s.agentId)));
        const open = statuses.filter((s) => s.status !== 'completed');
        if (open.length > 0) throw new Error(`${open.length} not completed: ${open.map((s) => s.status).join(', ')}`);
      }, 60_000);
      const hosted = (await admin(spoke, 0).agents({ limit: 500 })).hosted.items.filter((a) => /restart/.test(a.status.taskId));
      expect(hosted.map((a) => a.agentId).sort()).toEqual(succeeded.map((s) => s.agentId).sort());
    }, 120_000);
  });
}

if (redisBinary === '') {
  console.warn('skipping the replica tests: no redis-server on PATH');
} else {
  describeReplicas('a libSQL file');
  if (postgres) describeReplicas('PostgreSQL');
}
