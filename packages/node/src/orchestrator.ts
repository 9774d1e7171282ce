// The orchestrator a Node instance runs agents with: an orchestrator service reached
// over HTTP when one is configured, the agent queue when Valkey is, otherwise one in this
// process, with Docker sandboxes when an engine answers, else bubblewrap. Where neither
// works, peers' spawns are refused: no default runs a peer's agent unisolated. Also the
// worker of the queue (`mosaic-fed worker`).
import { createHash } from 'node:crypto';
import { mkdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { FederationError, isFederationError, type AgentType, type Logger, type OrchestratorAdapter } from '@mosaic-fed/core';
import { HttpOrchestrator, LocalOrchestrator, type AgentRunners, type AgentStateStore, type SandboxProvider, type SetupOptions } from '@mosaic-fed/orchestrator';
import { AgentWorker, QueueOrchestrator } from '@mosaic-fed/orchestrator/queue';
import { createClaudeRunners, type ClaudeRunnerOptions } from '@mosaic-fed/orchestrator/anthropic';
import { DockerSandboxProvider } from '@mosaic-fed/orchestrator/docker';
import { createLibsqlAgentStateStore } from '@mosaic-fed/orchestrator/libsql';
import {
  BubblewrapSandboxProvider,
  EgressProxy,
  GIT_CREDENTIALS_FILE,
  GitCredentialFile,
  GitWorkspaceProvider,
  isDeadWorkerOwner,
  ProcessSandboxProvider,
  workerOwnerId,
  type DeadOwner,
} from '@mosaic-fed/orchestrator/node';
import { Redis } from 'ioredis';
import { OutboundPolicy, type HealthProbe } from '@mosaic-fed/server';
import type { Registry } from 'prom-client';
import { createOrchestratorMetrics } from './metrics.js';
import { openDatabase } from './database.js';
import { isPostgresUrl, openPostgresAgentState } from './postgres.js';
import { dataDirSetting, printableUrl, reasonOf, StartupError, startupStep } from './startup.js';

export const ORCHESTRATOR_DATABASE_FILE = 'orchestrator.db';
export const DEFAULT_SANDBOX_IMAGE = 'mosaic-fed-sandbox:latest';

/** How a Node instance runs agents. */
export interface NodeOrchestratorOptions {
  /** An orchestrator service (PROTOCOL 7); with it, agents run there and nothing below applies. */
  serviceUrl?: string;
  /** The service's shared bearer token. */
  serviceToken?: string;
  /**
   * Valkey (or Redis): with it, agents become jobs for `mosaic-fed worker` processes and
   * nothing below applies to the server.
   */
  redisUrl?: string;
  /** Prefix of every Valkey key and channel. Default `mosaic-fed:`. */
  redisPrefix?: string;
  /**
   * PostgreSQL (`postgres://...`): agents' state goes there, where every server and worker
   * sharing it finds it, instead of `orchestrator.db` in the data directory (or, with
   * Valkey, beside the queue). Servers and workers of one pool must be given the same.
   */
  databaseUrl?: string;
  /** Keeps agent state (`orchestrator.db`) unless `databaseUrl` is PostgreSQL. */
  dataDir: string;
  /**
   * `auto` (Docker when an engine answers with the image, else bubblewrap when it runs,
   * else no sandbox: peers' spawns are refused), `docker`, `bubblewrap`, or
   * `unsafe-process` (child processes of this user: no isolation, for one's own
   * experiments only, never chosen by `auto`). Default `auto`.
   */
  sandbox?: SandboxChoice;
  /**
   * With `auto`, fall back to `unsafe-process` where neither Docker nor bubblewrap works,
   * instead of refusing spawns: for a local demo on one's own machine. Default false.
   */
  allowUnsafeFallback?: boolean;
  /** The image Docker sandboxes run. Default `mosaic-fed-sandbox:latest`. */
  sandboxImage?: string;
  /** Images for some agent types instead of `sandboxImage` (`{ tester: 'acme/node-ci:22' }`). */
  sandboxImages?: Partial<Record<AgentType, string>>;
  /** The bubblewrap executable. Default `bwrap` on the PATH. */
  bubblewrapPath?: string;
  /** Agents running at once. Default 4. */
  maxConcurrentAgents?: number;
  /**
   * What runs in each sandbox before the model's first turn: commands per agent type
   * (`{ commands: { worker: ['npm ci'] } }`), and the repository's own `.mosaic/setup.sh`
   * where `repositoryFile` allows it. Default none.
   */
  setup?: SetupOptions;
  /** Allow `file://` repositories (local demos). Default false. */
  allowFileRepositories?: boolean;
  /**
   * Networks (CIDR) repository fetches may reach although they are not public (PROTOCOL 3,
   * "Outbound requests"). Default none: only public addresses.
   */
  allowNetworks?: readonly string[];
  /**
   * Ports of this machine's own services (the server, the orchestrator service): the
   * egress proxy never lets a sandbox reach them on a local address, whatever the rules.
   */
  ownPorts?: readonly number[];
  /**
   * The git credentials file (per host) clones answer private repositories with. Default
   * `<dataDir>/git-credentials.json`; a worker has none unless given.
   */
  gitCredentialsFile?: string;
  /**
   * The Claude runners' settings (model, `maxTokens`, `retryForMs`, ...); the key and the
   * address fall back to the SDK's environment variables.
   */
  anthropic?: Omit<ClaudeRunnerOptions, 'client'>;
  logger: Logger;
}

/** How agents are kept apart from the host (`MOSAIC_FED_SANDBOX`). */
export const SANDBOX_CHOICES = ['auto', 'docker', 'bubblewrap', 'unsafe-process'] as const;
export type SandboxChoice = (typeof SANDBOX_CHOICES)[number];

/** The orchestrator, what it runs on in words, and how to release it. */
export interface NodeOrchestrator {
  orchestrator: OrchestratorAdapter;
  /** For the start-up log and the demo: `orchestrator service at ...`, `docker sandbox`, `process sandbox`. */
  description: string;
  /** How agents are kept apart from this machine, for the home page of the web UI. */
  sandboxHealth: HealthProbe;
  /**
   * Its metrics, for the instance's endpoint (`startServer`'s `metrics`): the agents it holds,
   * queued and running, and in this process how long sandboxes take to start. None for a
   * service elsewhere, which runs its own.
   */
  metrics?: Registry;
  close(): Promise<void>;
}

/** The home page's words on sandboxes: a refusal or no isolation needs a look. */
function sandboxProbe(words: string, state: 'good' | 'bad' | 'quiet' = 'good'): HealthProbe {
  return { name: 'Sandboxes', check: async () => ({ state, words }) };
}

/**
 * Builds the orchestrator a `mosaic-fed serve` or `mosaic-fed orchestrator` runs agents with.
 *
 * @example
 * ```ts
 * const { orchestrator, close } = await createNodeOrchestrator({ dataDir: './data', logger });
 * const server = await startServer({ dataDir: './data', orchestrator });
 * ```
 */
export async function createNodeOrchestrator(options: NodeOrchestratorOptions): Promise<NodeOrchestrator> {
  const { logger } = options;
  const { serviceUrl } = options;
  if (serviceUrl !== undefined) {
    if (options.serviceToken === undefined) throw new TypeError('an orchestrator service URL needs its token as well');
    const service = new HttpOrchestrator({ url: serviceUrl, token: options.serviceToken });
    // Asked for an agent nobody has: NOT_FOUND means the service answers, to this token.
    await service.getStatus('00000000-0000-4000-8000-000000000000').catch((error: unknown) => {
      if (isFederationError(error) && error.code === 'NOT_FOUND') return;
      logger.warn(
        `MOSAIC_FED_ORCHESTRATOR_URL: the orchestrator service at ${printableUrl(serviceUrl)} does not answer (${reasonOf(error)}); spawns fail with ORCHESTRATOR_UNAVAILABLE until it does`,
      );
    });
    return {
      orchestrator: service,
      description: `orchestrator service at ${serviceUrl}`,
      sandboxHealth: sandboxProbe(`Chosen by the orchestrator service at ${printableUrl(serviceUrl)}.`, 'quiet'),
      close: async () => undefined,
    };
  }
  if (options.redisUrl !== undefined) {
    const redis = await connectValkey(options.redisUrl);
    const state = await sharedAgentState(options).catch((error: unknown) => {
      redis.disconnect();
      throw error;
    });
    // Workers check it at start: one that looks for agents elsewhere would never find them.
    await redis.set(stateKindKey(options.redisPrefix), state === undefined ? 'valkey' : 'postgres');
    const orchestrator = new QueueOrchestrator({ redis, ...(state === undefined ? {} : { state }), ...(options.redisPrefix === undefined ? {} : { prefix: options.redisPrefix }) });
    return {
      orchestrator,
      metrics: createOrchestratorMetrics(() => orchestrator.backlog()).registry,
      description: 'the agent queue on Valkey (run mosaic-fed worker to take its jobs)',
      sandboxHealth: sandboxProbe('Chosen by each mosaic-fed worker that takes agents from the queue on Valkey.', 'quiet'),
      close: async () => {
        await orchestrator.close();
        await state?.close?.();
        redis.disconnect();
      },
    };
  }
  // Sandboxes are named by the instance's data directory: another instance on this machine
  // never counts them as its own leftovers.
  const dataDir = resolve(options.dataDir);
  const parts = await agentParts({
    ...options,
    gitCredentialsFile: options.gitCredentialsFile ?? join(dataDir, GIT_CREDENTIALS_FILE),
    sandboxOwner: `instance-${createHash('sha256').update(dataDir).digest('hex').slice(0, 12)}`,
  });
  const state = (await sharedAgentState(options)) ?? (await agentStateFile(dataDir));
  const metrics = createOrchestratorMetrics(() => orchestrator.backlog());
  const orchestrator = new LocalOrchestrator({
    state,
    ...parts,
    ...(options.maxConcurrentAgents === undefined ? {} : { maxConcurrentAgents: options.maxConcurrentAgents }),
    observer: metrics.observer,
    logger,
  });
  await orchestrator.start();
  logger.info('agents run in this process', { sandbox: parts.description, isolation: parts.isolation });
  return {
    orchestrator: parts.refusal === undefined ? orchestrator : refusingSpawns(orchestrator, parts.refusal),
    description: parts.description,
    metrics: metrics.registry,
    sandboxHealth: sandboxProbe(
      `${parts.description}; isolation: ${parts.isolation}.${parts.refusal === undefined ? '' : ` Peers' spawns are refused: ${parts.refusal}`}`,
      parts.refusal !== undefined || parts.isolation === 'none' ? 'bad' : 'good',
    ),
    close: async () => {
      await orchestrator.close();
      await state.close?.();
    },
  };
}

/** Where the servers on a Valkey keep their agents' state (`valkey` or `postgres`), for their workers to check. */
function stateKindKey(prefix = 'mosaic-fed:'): string {
  return `${prefix}orchestrator:state-kind`;
}

/** Agents' state in PostgreSQL when `databaseUrl` names it; otherwise none shared. */
async function sharedAgentState(options: Pick<NodeOrchestratorOptions, 'databaseUrl' | 'logger'>): Promise<AgentStateStore | undefined> {
  const url = options.databaseUrl;
  if (!isPostgresUrl(url)) return undefined;
  return startupStep(`the database at ${printableUrl(url)} (MOSAIC_FED_DATABASE_URL) cannot be opened`, () => openPostgresAgentState(url, options.logger));
}

/** Agents' state in `orchestrator.db` in the data directory; closing it closes the file. */
async function agentStateFile(dataDir: string): Promise<AgentStateStore> {
  const where = dataDirSetting(dataDir);
  await startupStep(where, () => mkdir(dataDir, { recursive: true, mode: 0o700 }));
  const client = await startupStep(where, () => openDatabase(`file:${resolve(dataDir, ORCHESTRATOR_DATABASE_FILE)}`));
  return createLibsqlAgentStateStore(client, { closeClient: true });
}

/** Options of a `mosaic-fed worker`: where the queue is, and how agents run here. */
export interface NodeWorkerOptions extends Omit<NodeOrchestratorOptions, 'serviceUrl' | 'serviceToken' | 'redisUrl' | 'dataDir'> {
  redisUrl: string;
  /** Agents this worker runs at once. Default 2. */
  concurrency?: number;
  /** How soon a dead worker's job goes to another worker, in milliseconds. Default 30,000. */
  lockDurationMs?: number;
}

/** A worker of the agent pool (`mosaic-fed worker`), started. */
export async function startNodeWorker(options: NodeWorkerOptions): Promise<{ description: string; close(): Promise<void> }> {
  // A worker takes over what a dead worker of this machine left, and nothing of a live one.
  const parts = await agentParts({ ...options, sandboxOwner: workerOwnerId(), deadOwner: isDeadWorkerOwner });
  if (parts.refusal !== undefined) throw new StartupError(`this worker cannot run agents: ${parts.refusal}`);
  // A worker in the middle of an agent waits for Valkey to come back rather than drop the
  // agent's next write: the agent goes on once it is back.
  const redis = await connectValkey(options.redisUrl, { waitWhileAway: true });
  const state = await sharedAgentState(options).catch((error: unknown) => {
    redis.disconnect();
    throw error;
  });
  const servers = await redis.get(stateKindKey(options.redisPrefix));
  const mine = state === undefined ? 'valkey' : 'postgres';
  if (servers !== null && servers !== mine) {
    await state?.close?.();
    redis.disconnect();
    throw new StartupError(
      servers === 'postgres'
        ? "the servers on this Valkey keep their agents' state in PostgreSQL: give this worker their MOSAIC_FED_DATABASE_URL"
        : "the servers on this Valkey keep their agents' state in Valkey, not in this worker's PostgreSQL: give servers and workers the same MOSAIC_FED_DATABASE_URL",
    );
  }
  const worker = new AgentWorker({
    redis,
    ...(state === undefined ? {} : { state }),
    ...parts,
    ...(options.redisPrefix === undefined ? {} : { prefix: options.redisPrefix }),
    logger: options.logger,
    ...(options.concurrency === undefined ? {} : { concurrency: options.concurrency }),
    ...(options.lockDurationMs === undefined ? {} : { lockDurationMs: options.lockDurationMs }),
  });
  await worker.start();
  return {
    description: parts.description,
    close: async () => {
      await worker.close();
      await state?.close?.();
      redis.disconnect();
    },
  };
}

/** What a REDIS_URL must look like. */
export const REDIS_URL_SHAPE = 'REDIS_URL must be a redis:// or rediss:// URL, such as redis://127.0.0.1:6379';

/** Whether `url` can be a Valkey (Redis) URL at all. */
export function isRedisUrl(url: string): boolean {
  return /^rediss?:\/\/\S+$/.test(url) && URL.canParse(url);
}

/**
 * Connects to Valkey. By default commands fail at once while it is away (a request then
 * fails as ORCHESTRATOR_UNAVAILABLE, safe to retry); with `waitWhileAway` they wait for
 * it. Either way the connection comes back by itself.
 */
export async function connectValkey(url: string, options: { waitWhileAway?: boolean } = {}): Promise<Redis> {
  if (!isRedisUrl(url)) throw new StartupError(REDIS_URL_SHAPE);
  const redis = new Redis(url, {
    lazyConnect: true,
    ...(options.waitWhileAway === true ? { maxRetriesPerRequest: null, enableOfflineQueue: true } : { maxRetriesPerRequest: 1, enableOfflineQueue: false }),
  });
  let lastError: unknown;
  redis.on('error', (error: unknown) => (lastError = error)); // reported where a command fails; reconnecting is automatic
  try {
    // The first connection is tried once: a wrong address is a start-up error, not a wait.
    await redis.connect();
  } catch (error) {
    redis.disconnect();
    throw new StartupError(`REDIS_URL: Valkey at ${printableUrl(url)} cannot be reached: ${reasonOf(lastError ?? error)}`, { cause: error });
  }
  return redis;
}

/** The sandboxes, workspaces and runners agents run with on this machine. */
async function agentParts(
  options: Pick<
    NodeOrchestratorOptions,
    'sandbox' | 'sandboxImage' | 'sandboxImages' | 'bubblewrapPath' | 'allowUnsafeFallback' | 'allowFileRepositories' | 'allowNetworks' | 'ownPorts' | 'gitCredentialsFile' | 'anthropic' | 'setup' | 'logger'
  > & {
    sandboxOwner: string;
    deadOwner?: DeadOwner;
  },
): Promise<{
  sandboxes: SandboxProvider;
  workspaces: GitWorkspaceProvider;
  runners: AgentRunners;
  setup?: SetupOptions;
  egress: EgressProxy;
  description: string;
  isolation: string;
  /** Why peers' spawns are refused: no sandbox isolates them here. */
  refusal?: string;
}> {
  const sandboxes = await chooseSandbox(options);
  const anthropic = options.anthropic ?? {};
  const apiKey = anthropic.apiKey ?? process.env.ANTHROPIC_API_KEY;
  // Without a key, every agent would fail on its first turn with the SDK's own words:
  // peers are told at their spawn instead, in this instance's.
  const noKey = apiKey === undefined && process.env.ANTHROPIC_AUTH_TOKEN === undefined;
  if (noKey) options.logger.warn(NO_MODEL_KEY);
  // One policy for all a peer's agent reaches: its repository and its sandbox's egress.
  const policy = new OutboundPolicy({ allowNetworks: options.allowNetworks });
  return {
    ...sandboxes,
    egress: new EgressProxy({ policy, ownPorts: options.ownPorts ?? [], logger: options.logger }),
    workspaces: new GitWorkspaceProvider({
      allowFileUrls: options.allowFileRepositories === true,
      addressPolicy: policy,
      ...(options.gitCredentialsFile === undefined ? {} : { credentials: new GitCredentialFile(options.gitCredentialsFile) }),
      logger: options.logger,
    }),
    runners: createClaudeRunners({ ...anthropic, ...(apiKey === undefined ? {} : { apiKey }) }),
    ...(options.setup === undefined ? {} : { setup: options.setup }),
    ...(sandboxes.refusal === undefined && noKey ? { refusal: NO_MODEL_KEY } : {}),
  };
}

const NO_MODEL_KEY = 'this instance has no key for Claude (set ANTHROPIC_API_KEY): it runs no agent for peers';

const NO_SANDBOX =
  'this instance has no sandbox that isolates agents (install bubblewrap or a container engine with the sandbox image); it runs no agent for peers';

async function chooseSandbox(
  options: Pick<NodeOrchestratorOptions, 'sandbox' | 'sandboxImage' | 'sandboxImages' | 'bubblewrapPath' | 'allowUnsafeFallback' | 'logger'> & {
    sandboxOwner: string;
    deadOwner?: DeadOwner;
  },
) {
  const choice = options.sandbox ?? 'auto';
  const image = options.sandboxImage ?? DEFAULT_SANDBOX_IMAGE;
  const { logger, sandboxOwner: orchestratorId } = options;
  const owners = { orchestratorId, ...(options.deadOwner === undefined ? {} : { deadOwner: options.deadOwner }) };
  if (choice === 'auto' || choice === 'docker') {
    const images = options.sandboxImages ?? {};
    const docker = new DockerSandboxProvider({ image, images, logger, ...owners });
    const all = [image, ...Object.values(images)].join(', ');
    if (await docker.available()) return { sandboxes: docker, description: `docker sandbox (${all})`, isolation: 'container' };
    if (choice === 'docker') {
      throw new StartupError(`MOSAIC_FED_SANDBOX=docker, but no Docker API answers with the images ${all}; check DOCKER_HOST and MOSAIC_FED_SANDBOX_IMAGE(_<TYPE>)`);
    }
  }
  if (choice === 'auto' || choice === 'bubblewrap') {
    const bubblewrap = new BubblewrapSandboxProvider({ logger, ...owners, ...(options.bubblewrapPath === undefined ? {} : { bwrap: options.bubblewrapPath }) });
    if (await bubblewrap.available()) return { sandboxes: bubblewrap, description: 'bubblewrap sandbox (Linux namespaces)', isolation: 'namespace' };
    if (choice === 'bubblewrap') throw new StartupError('MOSAIC_FED_SANDBOX=bubblewrap, but bubblewrap does not run here: install it (apt-get install bubblewrap) and allow user namespaces');
  }
  const unsafe = new ProcessSandboxProvider({ logger, ...owners });
  if (choice === 'unsafe-process' || options.allowUnsafeFallback === true) {
    logger.warn('agents run as child processes of this user, with no isolation: they can read this machine\'s secrets. Never accept peers like this');
    return { sandboxes: unsafe, description: 'unsafe-process sandbox (no isolation: for your own experiments only)', isolation: 'none' };
  }
  logger.error(NO_SANDBOX);
  return { sandboxes: unsafe, description: 'no sandbox (peers\' spawns are refused)', isolation: 'none', refusal: NO_SANDBOX };
}

/** The orchestrator, except that every spawn is refused with `reason`. */
function refusingSpawns(orchestrator: OrchestratorAdapter, reason: string): OrchestratorAdapter {
  return {
    spawn: () => Promise.reject(new FederationError('CAPABILITY_DISABLED', reason)),
    getStatus: (agentId) => orchestrator.getStatus(agentId),
    kill: (agentId) => orchestrator.kill(agentId),
    watch: (agentId, watchOptions) => orchestrator.watch(agentId, watchOptions),
    transcript: (agentId, page) => orchestrator.transcript(agentId, page),
    bundle: (agentId, range) => orchestrator.bundle(agentId, range),
    respond: (agentId, answer) => orchestrator.respond(agentId, answer),
  };
}
