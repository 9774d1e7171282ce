// Agents on a pool of worker processes, over BullMQ on Valkey. Every server replica holds
// a QueueOrchestrator: a spawn records the agent in the shared state store and becomes a
// job named by the agent id (so a repeated spawn is one job); a kill moves the shared
// state to `killed` and tells every worker, and the one running the agent stops it. An
// AgentWorker runs jobs with the same executor as the in-process orchestrator. A worker
// that dies loses its job's lock; BullMQ hands the job to another worker, whose executor
// counts the lost attempt and runs the next one while `maxRetries` allows.
import {
  describeError,
  FederationError,
  isFederationError,
  isTerminalState,
  silentLogger,
  type AgentBundleResponse,
  type AgentKillResponse,
  type AgentRespondResponse,
  type ApprovalAnswer,
  type AgentSpawnResponse,
  type AgentStatus,
  type AgentStatusChangedPayload,
  type BundleRange,
  type Logger,
  type OrchestratorAdapter,
  type OrchestratorSpawnRequest,
  type TranscriptEntry,
  type TranscriptPage,
  type WatchAgentOptions,
} from '@mosaic-fed/core';
import { DelayedError, Queue, WaitingError, Worker, type Job } from 'bullmq';
import type { Redis } from 'ioredis';
import type { EgressProxy } from '../egress/index.js';
import type { OrchestratorBacklog, OrchestratorObserver } from '../observer.js';
import type { SetupOptions } from '../setup.js';
import { AgentExecutor } from '../executor.js';
import { AgentLifecycle } from '../lifecycle.js';
import type { AgentRunners } from '../runners/types.js';
import type { SandboxProvider } from '../sandboxes/types.js';
import type { AgentStateStore } from '../state/types.js';
import { ValkeyAgentStateStore } from '../state/valkey.js';
import type { WorkspaceProvider } from '../workspaces/types.js';

/** Where the queue, the agent state and the kill channel live. */
export interface AgentQueueOptions {
  /** A connection for commands; the queue's own connections are made from it. */
  redis: Redis;
  /**
   * Where agents' state lives, when not beside the queue in Valkey (the default):
   * PostgreSQL, say. Every server and worker of the pool must be given the same one.
   */
  state?: AgentStateStore;
  /** Prefix of every key and channel. Default `mosaic-fed:`. */
  prefix?: string;
  /** Default `agents`. */
  queueName?: string;
}

interface AgentJob {
  agentId: string;
  /** A worker that stopped gracefully gave the agent back: its attempt is not lost. */
  handedOver?: boolean;
}

function namesOf(options: AgentQueueOptions) {
  const prefix = options.prefix ?? 'mosaic-fed:';
  return {
    prefix,
    queue: options.queueName ?? 'agents',
    kill: `${prefix}orchestrator:kill`,
    /** Wakes the worker whose agent waits for the approval just answered. */
    answered: `${prefix}orchestrator:answered`,
    /** An agent's state changed: `<writer> <agentId>`, so every replica's watchers read it at once. */
    changed: `${prefix}orchestrator:changed`,
    /** A worker's heartbeat: present while it runs and reaches Valkey. */
    alive: (workerId: string) => `${prefix}orchestrator:worker:${workerId}`,
    /** Which worker runs an agent now. */
    runner: (agentId: string) => `${prefix}orchestrator:runner:${agentId}`,
  };
}

/** The agents' state: the one given, or Valkey's beside the queue. */
function stateOf(options: AgentQueueOptions, names: ReturnType<typeof namesOf>): AgentStateStore {
  return options.state ?? new ValkeyAgentStateStore({ redis: options.redis, prefix: `${names.prefix}orchestrator:` });
}

/**
 * Tells every server replica that `writer` changed an agent's state. A notice lost (Valkey
 * away for a moment) only leaves the watchers to their poll.
 */
function announcer(redis: Redis, names: ReturnType<typeof namesOf>, writer: string): (agentId: string) => void {
  return (agentId) => void redis.publish(names.changed, `${writer} ${agentId}`).catch(() => 0);
}

/** Fails a call that could not reach Valkey (or the state's database) as `ORCHESTRATOR_UNAVAILABLE` (503, safe to retry). */
async function reaching<T>(call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    if (isFederationError(error)) throw error;
    throw new FederationError('ORCHESTRATOR_UNAVAILABLE', 'the agent queue or the agents\' state cannot be reached', { cause: error });
  }
}

export interface QueueOrchestratorOptions extends AgentQueueOptions {
  now?: () => Date;
  /**
   * How often `watch` reads the shared state when it hears of no change. Workers and
   * replicas announce every change they write over Valkey, and a watcher reads at once;
   * the poll is for a notice lost. Default 2,000 ms.
   */
  watchPollMs?: number;
}

/**
 * The server's side of the worker pool: spawn, status, kill and watch, from any replica.
 *
 * @example
 * ```ts
 * const orchestrator = new QueueOrchestrator({ redis: new Redis(process.env.REDIS_URL) });
 * ```
 */
export class QueueOrchestrator implements OrchestratorAdapter {
  readonly #redis: Redis;
  readonly #names: ReturnType<typeof namesOf>;
  readonly #lifecycle: AgentLifecycle;
  readonly #queue: Queue<AgentJob>;
  /** This replica, as its change notices name it. */
  readonly #id = crypto.randomUUID();
  /** Hears the changes others write, from the first watch on. */
  #subscriber: Redis | undefined;

  constructor(options: QueueOrchestratorOptions) {
    this.#redis = options.redis;
    this.#names = namesOf(options);
    this.#lifecycle = new AgentLifecycle({
      state: stateOf(options, this.#names),
      now: options.now ?? (() => new Date()),
      watchPollMs: options.watchPollMs ?? 2_000,
      onWrite: announcer(options.redis, this.#names, this.#id),
    });
    this.#queue = new Queue<AgentJob>(this.#names.queue, { connection: options.redis, prefix: this.#names.prefix.replace(/:$/, '') });
  }

  async spawn(request: OrchestratorSpawnRequest): Promise<AgentSpawnResponse> {
    return reaching(async () => {
      const { created, response } = await this.#lifecycle.create(request);
      const { status } = await this.#lifecycle.get(request.agentId);
      // A repeated spawn of an agent still waiting re-adds its job: harmless (one job per
      // agent id), and it heals a first try whose job never made it into the queue.
      if (created || status.status === 'spawning') {
        await this.#queue.add('agent', { agentId: request.agentId }, { jobId: request.agentId, removeOnComplete: 1_000, removeOnFail: 1_000 });
      }
      return response;
    });
  }

  async getStatus(agentId: string): Promise<AgentStatus> {
    return reaching(async () => (await this.#lifecycle.get(agentId)).status);
  }

  async transcript(agentId: string, page: TranscriptPage): Promise<TranscriptEntry[]> {
    return reaching(() => this.#lifecycle.transcript(agentId, page));
  }

  async bundle(agentId: string, range: BundleRange): Promise<AgentBundleResponse> {
    return reaching(() => this.#lifecycle.bundle(agentId, range));
  }

  async kill(agentId: string): Promise<AgentKillResponse> {
    return reaching(async () => {
      const { moved, response } = await this.#lifecycle.kill(agentId);
      if (moved) {
        // The worker running it stops it; a job still waiting finds it killed and ends.
        await this.#redis.publish(this.#names.kill, agentId);
        await this.#queue.remove(agentId).catch(() => 0);
      }
      return response;
    });
  }

  async respond(agentId: string, answer: ApprovalAnswer): Promise<AgentRespondResponse> {
    return reaching(async () => {
      const response = await this.#lifecycle.respond(agentId, answer);
      // The worker that runs it reads the answer at once; one that misses this reads it at its next look.
      await this.#redis.publish(this.#names.answered, agentId).catch(() => 0);
      return response;
    });
  }

  watch(agentId: string, options: WatchAgentOptions = {}): AsyncGenerator<AgentStatusChangedPayload, void, undefined> {
    this.#listen();
    return this.#lifecycle.watch(agentId, options);
  }

  /** Subscribes, once, to the changes workers and other replicas write: their watchers here read at once. */
  #listen(): void {
    if (this.#subscriber !== undefined) return;
    // A connection of its own, which waits for Valkey rather than fails while it is away;
    // it subscribes each time it is ready (the first connection, or one after an outage,
    // even if the first never made it). Meanwhile, watchers poll.
    const subscriber = this.#redis.duplicate({ lazyConnect: false, enableOfflineQueue: true });
    subscriber.on('message', (_channel: string, message: string) => {
      const [writer, agentId] = message.split(' ');
      if (writer !== this.#id && agentId !== undefined) this.#lifecycle.notify(agentId);
    });
    subscriber.on('ready', () => void subscriber.subscribe(this.#names.changed).catch(() => undefined));
    subscriber.on('error', () => undefined);
    this.#subscriber = subscriber;
  }

  /** The queue's depth: agent jobs no worker has taken yet (waiting, or delayed for a look later), and those being run. */
  async backlog(): Promise<OrchestratorBacklog> {
    return reaching(async () => {
      const counts = await this.#queue.getJobCounts('wait', 'prioritized', 'delayed', 'active');
      return { queued: (counts.wait ?? 0) + (counts.prioritized ?? 0) + (counts.delayed ?? 0), running: counts.active ?? 0 };
    });
  }

  async close(): Promise<void> {
    this.#subscriber?.disconnect();
    await this.#queue.close();
  }
}

export interface AgentWorkerOptions extends AgentQueueOptions {
  sandboxes: SandboxProvider;
  workspaces: WorkspaceProvider;
  runners: AgentRunners;
  /** Agents this worker runs at once. Default 2. */
  concurrency?: number;
  /**
   * How long a job stays this worker's without a lock renewal: a worker that died is
   * noticed after about this long. Default 30,000 ms.
   */
  lockDurationMs?: number;
  /** Progress is written at most this often. Default 1,000 ms (PROTOCOL 5). */
  progressIntervalMs?: number;
  /** Setup commands run in the sandbox before the model's first turn (setup.ts). Default none. */
  setup?: SetupOptions;
  /** The egress proxy for agents with egress rules (egress/index.ts). Closed by `close`. */
  egress?: EgressProxy;
  /** How often this worker says it is alive, in milliseconds. Default 2,000. */
  heartbeatMs?: number;
  /** Told how long each sandbox took to start. */
  observer?: OrchestratorObserver;
  /** How long a job that only looks stalled waits before it is looked at again, in ms. Default: the lock's duration. */
  recheckMs?: number;
  now?: () => Date;
  logger?: Logger;
}

// KEYS[1]: the runner key; ARGV[1]: this worker. Deleted only if still this worker's.
const LET_GO = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0`;

/**
 * One worker process of the pool: takes agent jobs from the queue and runs them.
 *
 * @example
 * ```ts
 * const worker = new AgentWorker({ redis, sandboxes, workspaces, runners, concurrency: 4 });
 * await worker.start();
 * ```
 */
export class AgentWorker {
  readonly #o: AgentWorkerOptions;
  readonly #names: ReturnType<typeof namesOf>;
  readonly #lifecycle: AgentLifecycle;
  readonly #executor: AgentExecutor;
  readonly #logger: Logger;
  readonly #runs = new Map<string, AbortController>();
  /** This worker, for its heartbeat and the agents it runs. */
  readonly #id = crypto.randomUUID();
  #heartbeat: ReturnType<typeof setInterval> | undefined;
  #closing = false;
  #worker: Worker<AgentJob> | undefined;
  #subscriber: Redis | undefined;

  constructor(options: AgentWorkerOptions) {
    const concurrency = options.concurrency ?? 2;
    if (!Number.isInteger(concurrency) || concurrency < 1) throw new TypeError('AgentWorker: concurrency must be a whole number of at least 1');
    this.#o = { ...options, concurrency };
    this.#names = namesOf(options);
    this.#logger = options.logger ?? silentLogger;
    this.#lifecycle = new AgentLifecycle({
      state: stateOf(options, this.#names),
      now: options.now ?? (() => new Date()),
      onWrite: announcer(options.redis, this.#names, this.#id),
    });
    this.#executor = new AgentExecutor({
      lifecycle: this.#lifecycle,
      sandboxes: options.sandboxes,
      workspaces: options.workspaces,
      runners: options.runners,
      logger: this.#logger,
      progressIntervalMs: options.progressIntervalMs ?? 1_000,
      setup: options.setup,
      egress: options.egress,
      observer: options.observer,
    });
  }

  /** Removes this worker's leftover sandboxes, listens for kills, and starts taking jobs. */
  async start(): Promise<void> {
    // Beats while this worker runs and reaches Valkey; after an outage, within one beat.
    const heartbeatMs = this.#o.heartbeatMs ?? 2_000;
    const beat = () => this.#o.redis.set(this.#names.alive(this.#id), '1', 'PX', 3 * heartbeatMs).catch(() => undefined);
    await beat();
    this.#heartbeat = setInterval(() => void beat(), heartbeatMs);
    const removed = (await this.#o.sandboxes.removeLeftovers?.()) ?? 0;
    if (removed > 0) this.#logger.warn('removed sandboxes an earlier worker left behind', { removed });
    // Connections of their own, which wait for Valkey rather than fail while it is away.
    const subscriber = this.#o.redis.duplicate({ lazyConnect: false, enableOfflineQueue: true });
    subscriber.on('message', (channel: string, agentId: string) => {
      if (channel === this.#names.kill) this.#runs.get(agentId)?.abort();
      else if (this.#runs.has(agentId)) this.#lifecycle.notify(agentId);
    });
    subscriber.on('error', (error: unknown) => this.#logger.warn('the kill channel failed', describeError(error)));
    await subscriber.subscribe(this.#names.kill, this.#names.answered);
    this.#subscriber = subscriber;
    // BullMQ's blocking connections may not give up on a command.
    const connection = this.#o.redis.duplicate({ lazyConnect: false, maxRetriesPerRequest: null, enableOfflineQueue: true });
    const lockDuration = this.#o.lockDurationMs ?? 30_000;
    this.#worker = new Worker<AgentJob>(this.#names.queue, (job, token) => this.#process(job, token), {
      connection,
      prefix: this.#names.prefix.replace(/:$/, ''),
      concurrency: this.#o.concurrency ?? 2,
      lockDuration,
      stalledInterval: Math.max(1_000, Math.floor(lockDuration / 2)),
      // The executor decides how many lost attempts an agent may have (its maxRetries).
      maxStalledCount: 1_000,
    });
    this.#worker.on('error', (error) => this.#logger.warn('the agent queue failed', describeError(error)));
    this.#logger.info('taking agent jobs', { queue: this.#names.queue, concurrency: this.#o.concurrency ?? 2 });
  }

  /**
   * Stops taking jobs and hands the agents running here over: each stops, and its job goes
   * back to the queue marked as handed over, so another worker starts the same attempt
   * again instead of counting it lost. Waits for their cleanup.
   */
  async close(): Promise<void> {
    this.#closing = true;
    for (const controller of this.#runs.values()) controller.abort();
    await this.#worker?.close();
    if (this.#heartbeat !== undefined) clearInterval(this.#heartbeat);
    await this.#o.redis.del(this.#names.alive(this.#id)).catch(() => undefined);
    this.#subscriber?.disconnect();
    await this.#o.egress?.close();
  }

  /**
   * Whether another worker runs the agent and is alive: its heartbeat is there, or comes
   * back within a few beats (a worker that just reconnected after an outage beats again).
   */
  async #runnerAlive(agentId: string): Promise<boolean> {
    const runner = await this.#o.redis.get(this.#names.runner(agentId));
    if (runner === null || runner === this.#id) return false;
    const heartbeatMs = this.#o.heartbeatMs ?? 2_000;
    for (let waited = 0; waited <= 3 * heartbeatMs; waited += heartbeatMs / 2) {
      if ((await this.#o.redis.exists(this.#names.alive(runner))) === 1) return true;
      await new Promise((resolve) => setTimeout(resolve, heartbeatMs / 2));
    }
    return false;
  }

  async #process(job: Job<AgentJob>, token: string | undefined): Promise<void> {
    const { agentId } = job.data;
    const handedOver = job.data.handedOver === true;
    if (this.#runs.has(agentId)) {
      // This worker's own run of it goes on: the job only looked stalled.
      await job.moveToDelayed(Date.now() + (this.#o.recheckMs ?? this.#o.lockDurationMs ?? 30_000), token);
      throw new DelayedError();
    }
    const controller = new AbortController();
    this.#runs.set(agentId, controller);
    try {
      const { status } = await this.#lifecycle.get(agentId);
      if (isTerminalState(status.status)) return;
      // A job looks stalled when its lock lapsed, as it does while Valkey is away longer
      // than the lock: if the worker that runs the agent still beats, it is alive and its
      // run goes on. Look again later rather than run the agent a second time.
      if (status.status === 'running' && !handedOver && (await this.#runnerAlive(agentId))) {
        this.#logger.info('an agent that looked stalled still runs on its worker; looking again later', { agentId });
        await job.moveToDelayed(Date.now() + (this.#o.recheckMs ?? this.#o.lockDurationMs ?? 30_000), token);
        throw new DelayedError();
      }
      // Taken over: should this worker die, the next one counts the attempt lost.
      if (handedOver) await job.updateData({ agentId });
      await this.#o.redis.set(this.#names.runner(agentId), this.#id);
      this.#logger.info('running an agent', { agentId, attempt: status.attempt, rerun: status.status === 'running', handedOver });
      await this.#executor.run(agentId, controller.signal, { handedOver });
      await this.#o.redis.eval(LET_GO, 1, this.#names.runner(agentId), this.#id).catch(() => undefined);
      if (this.#closing && controller.signal.aborted && !isTerminalState((await this.#lifecycle.get(agentId)).status.status)) {
        await job.updateData({ agentId, handedOver: true });
        await job.moveToWait(token);
        this.#logger.info('handed an agent over to another worker', { agentId });
        throw new WaitingError();
      }
    } finally {
      this.#runs.delete(agentId);
    }
  }
}
