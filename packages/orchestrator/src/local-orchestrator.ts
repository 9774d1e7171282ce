// LocalOrchestrator: runs agents in this process. The lifecycle (lifecycle.ts) keeps
// them in a state store with compare-and-set writes; a spawner holds agents in
// `spawning` until one of the instance-wide places is free; the executor (executor.ts)
// runs each one through its attempts.
import {
  FederationError,
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
import { batchPerTurn } from '@mosaic-fed/core/util';
import type { EgressProxy } from './egress/index.js';
import { AgentExecutor } from './executor.js';
import { Semaphore } from './lib/semaphore.js';
import { AgentLifecycle } from './lifecycle.js';
import type { OrchestratorBacklog, OrchestratorObserver } from './observer.js';
import type { AgentRunners } from './runners/types.js';
import type { SandboxProvider } from './sandboxes/types.js';
import { InMemoryAgentStateStore } from './state/memory.js';
import type { AgentStateStore, StoredAgent } from './state/types.js';
import type { SetupOptions } from './setup.js';
import type { WorkspaceProvider } from './workspaces/types.js';

export interface LocalOrchestratorOptions {
  /** Where agents run: `ProcessSandboxProvider` or `DockerSandboxProvider`. */
  sandboxes: SandboxProvider;
  /** Checks repositories out on the host: `GitWorkspaceProvider`. */
  workspaces: WorkspaceProvider;
  /** A runner per agent type: `createClaudeRunners()`. */
  runners: AgentRunners;
  /** Default: in memory. */
  state?: AgentStateStore;
  /** Agents running at once in this orchestrator; the rest wait in `spawning`. Default 4. */
  maxConcurrentAgents?: number;
  /** Progress is written at most this often, in milliseconds. Default 1,000 (PROTOCOL 5). */
  progressIntervalMs?: number;
  /** Setup commands run in the sandbox before the model's first turn (setup.ts). Default none. */
  setup?: SetupOptions;
  /**
   * The egress proxy that lets sandboxes reach the hosts an agent's rules allow
   * (egress/index.ts). Without one, an agent with egress rules fails. Closed by `close`.
   */
  egress?: EgressProxy;
  /** How often `watch` looks at the state store when no change was seen here. Default 1,000. */
  watchPollMs?: number;
  /** Told how long each sandbox took to start (the Node entry's metrics). */
  observer?: OrchestratorObserver;
  now?: () => Date;
  logger?: Logger;
}

/**
 * For how many agents the events written here are kept for watchers: each until its last
 * watcher has seen it end, the oldest dropped first.
 */
const REMEMBERED_AGENTS = 1_000;

/** A run in this process: its kill switch and the promise that settles when it has cleaned up. */
interface ActiveRun {
  controller: AbortController;
  done: Promise<void>;
}

/** Why an agent left unfinished by an earlier process ends as failed. */
export const ORCHESTRATOR_RESTARTED = 'the orchestrator restarted while the agent was unfinished';

/** Why an agent running when its orchestrator was stopped (a restart, a deploy) ends as failed. */
export const ORCHESTRATOR_STOPPED = 'the orchestrator was stopped (a restart or a deploy) while the agent was unfinished';

/**
 * Runs agents in this process behind core's `OrchestratorAdapter`.
 *
 * @example
 * ```ts
 * const orchestrator = new LocalOrchestrator({
 *   sandboxes: new ProcessSandboxProvider(),
 *   workspaces: new GitWorkspaceProvider(),
 *   runners: createClaudeRunners({ client: new Anthropic() }),
 * });
 * await orchestrator.start();
 * ```
 */
export class LocalOrchestrator implements OrchestratorAdapter {
  readonly #lifecycle: AgentLifecycle;
  readonly #executor: AgentExecutor;
  readonly #sandboxes: SandboxProvider;
  readonly #logger: Logger;
  readonly #places: Semaphore;
  readonly #runs = new Map<string, ActiveRun>();
  readonly #egress: EgressProxy | undefined;
  /** Runs here queued for one of the places. */
  #queued = 0;
  // Peers ask for statuses in crowds, and nothing waits on one in a chain: the reads of
  // one turn of the event loop are made together (one statement on libSQL).
  readonly #statusReads = batchPerTurn((agentIds: string[]) => this.#lifecycle.state.statuses(agentIds));
  #closed = false;

  constructor(options: LocalOrchestratorOptions) {
    const maxConcurrentAgents = options.maxConcurrentAgents ?? 4;
    if (!Number.isInteger(maxConcurrentAgents) || maxConcurrentAgents < 1) {
      throw new TypeError('LocalOrchestrator: maxConcurrentAgents must be a whole number of at least 1');
    }
    if (Object.keys(options.runners).length === 0) throw new TypeError('LocalOrchestrator: give at least one runner');
    this.#logger = options.logger ?? silentLogger;
    this.#sandboxes = options.sandboxes;
    this.#lifecycle = new AgentLifecycle({
      state: options.state ?? new InMemoryAgentStateStore(),
      now: options.now ?? (() => new Date()),
      ...(options.watchPollMs === undefined ? {} : { watchPollMs: options.watchPollMs }),
      // Its agents run here, so their changes are made here: watchers take them from memory.
      rememberEventsOf: REMEMBERED_AGENTS,
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
    this.#egress = options.egress;
    this.#places = new Semaphore(maxConcurrentAgents);
  }

  /**
   * Call once before serving. Agents an earlier process left unfinished end as `failed`
   * (their work died with that process), and sandboxes it left behind are removed.
   */
  async start(): Promise<void> {
    for (const agent of await this.#lifecycle.state.listActive()) {
      if (this.#runs.has(agent.agentId)) continue;
      if (await this.#lifecycle.fail(agent.agentId, ORCHESTRATOR_RESTARTED)) {
        this.#logger.warn('failed an agent left unfinished by an earlier process', { agentId: agent.agentId });
      }
    }
    const removed = (await this.#sandboxes.removeLeftovers?.()) ?? 0;
    if (removed > 0) this.#logger.warn('removed sandboxes an earlier process left behind', { removed });
  }

  async spawn(request: OrchestratorSpawnRequest): Promise<AgentSpawnResponse> {
    if (this.#closed) throw new FederationError('ORCHESTRATOR_UNAVAILABLE', 'the orchestrator is shutting down');
    if (!this.#executor.runs(request.spec.agentType)) {
      throw new FederationError('CAPABILITY_DISABLED', `this orchestrator runs no ${request.spec.agentType} agents`);
    }
    const created = await this.#lifecycle.create(request);
    if (created.created) {
      const controller = new AbortController();
      const done = this.#run(created.agent, controller.signal).finally(() => this.#runs.delete(request.agentId));
      this.#runs.set(request.agentId, { controller, done });
    }
    return created.response;
  }

  async getStatus(agentId: string): Promise<AgentStatus> {
    const status = await this.#statusReads(agentId);
    if (status === undefined) throw new FederationError('NOT_FOUND', 'there is no such agent');
    return status;
  }

  async kill(agentId: string): Promise<AgentKillResponse> {
    const { moved, response } = await this.#lifecycle.kill(agentId);
    const run = this.#runs.get(agentId);
    if (moved && run !== undefined) {
      run.controller.abort(new FederationError('AGENT_ALREADY_TERMINAL', 'the agent was killed'));
      // Answer once the model call, the tools and the sandbox have stopped.
      await run.done;
    }
    return response;
  }

  async respond(agentId: string, answer: ApprovalAnswer): Promise<AgentRespondResponse> {
    return this.#lifecycle.respond(agentId, answer);
  }

  watch(agentId: string, options: WatchAgentOptions = {}): AsyncGenerator<AgentStatusChangedPayload, void, undefined> {
    return this.#lifecycle.watch(agentId, options);
  }

  async transcript(agentId: string, page: TranscriptPage): Promise<TranscriptEntry[]> {
    return this.#lifecycle.transcript(agentId, page);
  }

  async bundle(agentId: string, range: BundleRange): Promise<AgentBundleResponse> {
    return this.#lifecycle.bundle(agentId, range);
  }

  /**
   * Stops every agent running here, each ending `failed` with {@link ORCHESTRATOR_STOPPED}
   * (a stop is a restart or a deploy, not an admin's kill), and waits for their cleanup.
   * The state store stays open.
   */
  async close(): Promise<void> {
    this.#closed = true;
    await Promise.all(
      [...this.#runs].map(async ([agentId, run]) => {
        await this.#lifecycle.fail(agentId, ORCHESTRATOR_STOPPED).catch(() => undefined);
        run.controller.abort(new FederationError('ORCHESTRATOR_UNAVAILABLE', ORCHESTRATOR_STOPPED));
        await run.done;
      }),
    );
    await this.#egress?.close();
  }

  /** The agents here that have not ended: queued for a place, and running. */
  backlog(): OrchestratorBacklog {
    return { queued: this.#queued, running: this.#runs.size - this.#queued };
  }

  async #run(agent: StoredAgent, signal: AbortSignal): Promise<void> {
    this.#queued++;
    try {
      await this.#places.acquire(signal);
    } catch {
      return; // killed while waiting for a place
    } finally {
      this.#queued--;
    }
    try {
      // Its status may have moved meanwhile (a kill from another replica): its first move finds out.
      await this.#executor.run(agent.agentId, signal, { created: agent });
    } finally {
      this.#places.release();
    }
  }
}
