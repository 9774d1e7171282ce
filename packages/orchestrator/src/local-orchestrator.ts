// LocalOrchestrator: runs agents in this process. The lifecycle is kept in a state store
// with compare-and-set writes, so a terminal status never changes (a late "completed"
// cannot overwrite "killed"); a spawner holds agents in `spawning` until one of the
// instance-wide places is free; each attempt checks the branch out on the host, copies
// it into a sandbox, lets the runner work, and takes the patch from the sandbox.
import {
  canTransition,
  describeError,
  FederationError,
  isTerminalState,
  silentLogger,
  type AgentKillResponse,
  type AgentResult,
  type AgentSpawnResponse,
  type AgentStatus,
  type AgentStatusChangedPayload,
  type Logger,
  type OrchestratorAdapter,
  type OrchestratorSpawnRequest,
  type WatchAgentOptions,
} from '@mosaic-fed/core';
import { Semaphore } from './lib/semaphore.js';
import type { AgentRunners, RunnerProgress } from './runners/types.js';
import type { Sandbox, SandboxProvider } from './sandboxes/types.js';
import { InMemoryAgentStateStore } from './state/memory.js';
import type { AgentStateStore, StoredAgent } from './state/types.js';
import type { Workspace, WorkspaceProvider } from './workspaces/types.js';

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
  /** How often `watch` looks at the state store when no change was seen here. Default 1,000. */
  watchPollMs?: number;
  now?: () => Date;
  logger?: Logger;
}

/** A run in this process: its kill switch and the promise that settles when it has cleaned up. */
interface ActiveRun {
  controller: AbortController;
  done: Promise<void>;
}

/** Why an agent left unfinished by an earlier process ends as failed. */
export const ORCHESTRATOR_RESTARTED = 'the orchestrator restarted while the agent was unfinished';

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
  readonly #o: Required<Omit<LocalOrchestratorOptions, 'state' | 'logger' | 'now'>>;
  readonly #state: AgentStateStore;
  readonly #now: () => Date;
  readonly #logger: Logger;
  readonly #places: Semaphore;
  readonly #runs = new Map<string, ActiveRun>();
  readonly #listeners = new Map<string, Set<() => void>>();
  #closed = false;

  constructor(options: LocalOrchestratorOptions) {
    const maxConcurrentAgents = options.maxConcurrentAgents ?? 4;
    if (!Number.isInteger(maxConcurrentAgents) || maxConcurrentAgents < 1) {
      throw new TypeError('LocalOrchestrator: maxConcurrentAgents must be a whole number of at least 1');
    }
    if (Object.keys(options.runners).length === 0) throw new TypeError('LocalOrchestrator: give at least one runner');
    this.#o = {
      sandboxes: options.sandboxes,
      workspaces: options.workspaces,
      runners: options.runners,
      maxConcurrentAgents,
      progressIntervalMs: options.progressIntervalMs ?? 1_000,
      watchPollMs: options.watchPollMs ?? 1_000,
    };
    this.#state = options.state ?? new InMemoryAgentStateStore();
    this.#now = options.now ?? (() => new Date());
    this.#logger = options.logger ?? silentLogger;
    this.#places = new Semaphore(maxConcurrentAgents);
  }

  /**
   * Call once before serving. Agents an earlier process left unfinished end as `failed`
   * (their work died with that process), and sandboxes it left behind are removed.
   */
  async start(): Promise<void> {
    for (const agent of await this.#state.listActive()) {
      if (this.#runs.has(agent.agentId)) continue;
      const failed = await this.#move(agent.agentId, (status) => ({
        ...status,
        status: 'failed',
        completedAt: this.#now().toISOString(),
        error: ORCHESTRATOR_RESTARTED,
      }));
      if (failed) this.#logger.warn('failed an agent left unfinished by an earlier process', { agentId: agent.agentId });
    }
    const removed = (await this.#o.sandboxes.removeLeftovers?.()) ?? 0;
    if (removed > 0) this.#logger.warn('removed sandboxes an earlier process left behind', { removed });
  }

  async spawn(request: OrchestratorSpawnRequest): Promise<AgentSpawnResponse> {
    if (this.#closed) throw new FederationError('ORCHESTRATOR_UNAVAILABLE', 'the orchestrator is shutting down');
    const { agentId, spec } = request;
    if (this.#o.runners[spec.agentType] === undefined) {
      throw new FederationError('CAPABILITY_DISABLED', `this orchestrator runs no ${spec.agentType} agents`);
    }
    const spawnedAt = this.#now().toISOString();
    const status: AgentStatus = {
      agentId,
      taskId: spec.taskId,
      agentType: spec.agentType,
      status: 'spawning',
      attempt: 1,
      spawnedAt,
      startedAt: null,
      completedAt: null,
      progress: null,
      result: null,
      error: null,
    };
    const created = await this.#state.create({ agentId, ownerInstanceId: request.ownerInstanceId, spec, status, sequence: 1 });
    if (created === 'exists') {
      // Idempotent by agentId: the same answer, and nothing starts twice.
      const existing = await this.#get(agentId);
      return { agentId, state: 'spawning', spawnedAt: existing.status.spawnedAt };
    }
    this.#notify(agentId);
    const controller = new AbortController();
    const done = this.#run(agentId, controller.signal).finally(() => this.#runs.delete(agentId));
    this.#runs.set(agentId, { controller, done });
    return { agentId, state: 'spawning', spawnedAt };
  }

  async getStatus(agentId: string): Promise<AgentStatus> {
    return (await this.#get(agentId)).status;
  }

  async kill(agentId: string): Promise<AgentKillResponse> {
    const killedAt = this.#now().toISOString();
    const moved = await this.#move(agentId, (status) => ({ ...status, status: 'killed', completedAt: killedAt }));
    const { status } = await this.#get(agentId);
    if (status.status !== 'killed') {
      throw new FederationError('AGENT_ALREADY_TERMINAL', `the agent is already ${status.status}`, { data: { status: status.status } });
    }
    const run = this.#runs.get(agentId);
    if (moved && run !== undefined) {
      run.controller.abort(new FederationError('AGENT_ALREADY_TERMINAL', 'the agent was killed'));
      // Answer once the model call, the tools and the sandbox have stopped.
      await run.done;
    }
    return { agentId, status: 'killed', killedAt: status.completedAt ?? killedAt };
  }

  async *watch(agentId: string, options: WatchAgentOptions = {}): AsyncGenerator<AgentStatusChangedPayload, void, undefined> {
    await this.#get(agentId);
    let after = options.afterSequence ?? 0;
    while (options.signal?.aborted !== true) {
      // Listen before reading, so a change between the two is not missed.
      const changed = this.#nextChange(agentId, options.signal);
      for (const event of await this.#state.events(agentId, after)) {
        yield event;
        after = event.sequence;
        if (isTerminalState(event.status)) {
          changed.cancel();
          return;
        }
      }
      await changed.promise;
    }
  }

  /** Kills every agent running here and waits for their cleanup. The state store stays open. */
  async close(): Promise<void> {
    this.#closed = true;
    await Promise.all([...this.#runs.keys()].map((agentId) => this.kill(agentId).catch(() => undefined)));
  }

  async #run(agentId: string, signal: AbortSignal): Promise<void> {
    try {
      await this.#places.acquire(signal);
    } catch {
      return; // killed while waiting for a place
    }
    try {
      const { spec } = await this.#get(agentId);
      // PROTOCOL 5: the timeout covers the whole run, retries included.
      const timeout = AbortSignal.timeout(spec.options.timeout);
      const attemptSignal = AbortSignal.any([signal, timeout]);
      const started = await this.#move(agentId, (status) => ({
        ...status,
        status: 'running',
        startedAt: this.#now().toISOString(),
        progress: { turns: 0 },
      }));
      if (!started) return;
      for (let attempt = 1; ; attempt++) {
        try {
          const result = await this.#attempt(agentId, attempt, attemptSignal);
          await this.#move(agentId, (status) => ({ ...status, status: 'completed', completedAt: this.#now().toISOString(), result }));
          return;
        } catch (error) {
          if (signal.aborted) return; // killed: kill() wrote the state
          if (timeout.aborted) {
            await this.#fail(agentId, 'timeout');
            return;
          }
          this.#logger.warn('an agent attempt failed', { agentId, attempt, ...describeError(error) });
          if (attempt > spec.options.maxRetries) {
            await this.#fail(agentId, reasonOf(error));
            return;
          }
          // A retry is not a transition: the agent stays running with the next attempt number.
          await this.#move(agentId, (status) => ({ ...status, attempt: attempt + 1, progress: { turns: 0 } }));
        }
      }
    } catch (error) {
      this.#logger.error('an agent run broke', { agentId, ...describeError(error) });
      await this.#fail(agentId, 'the orchestrator could not run the agent').catch(() => undefined);
    } finally {
      this.#places.release();
    }
  }

  async #attempt(agentId: string, attempt: number, signal: AbortSignal): Promise<AgentResult> {
    const { spec } = await this.#get(agentId);
    const runner = this.#o.runners[spec.agentType];
    if (runner === undefined) throw new Error(`no runner for ${spec.agentType}`);
    let workspace: Workspace | undefined;
    let sandbox: Sandbox | undefined;
    // The one signal reaches the sandbox too: its processes stop the moment it aborts.
    const stopSandbox = () => void sandbox?.destroy();
    signal.addEventListener('abort', stopSandbox, { once: true });
    const progress = this.#progressWriter(agentId);
    try {
      workspace = await this.#o.workspaces.checkout(spec.context, signal);
      signal.throwIfAborted();
      sandbox = await this.#o.sandboxes.create({ agentId, source: workspace.dir });
      signal.throwIfAborted();
      const outcome = await runner.run({ agentId, spec, attempt, sandbox, signal, reportProgress: progress.report });
      signal.throwIfAborted();
      const patch = await workspace.diff(sandbox);
      await progress.flush();
      return { ...outcome, ...(patch === '' ? {} : { patch }) };
    } finally {
      progress.stop();
      signal.removeEventListener('abort', stopSandbox);
      await sandbox?.destroy();
      await workspace?.remove();
    }
  }

  /** Writes progress at most once per interval, always the latest. */
  #progressWriter(agentId: string) {
    let latest: RunnerProgress | undefined;
    let lastWrite = 0;
    let timer: ReturnType<typeof setTimeout> | undefined;
    let writing: Promise<unknown> = Promise.resolve();
    const write = () => {
      timer = undefined;
      if (latest === undefined) return;
      const progress = { turns: latest.turns, ...(latest.lastAction === undefined ? {} : { lastAction: latest.lastAction.slice(0, 1_000) }) };
      latest = undefined;
      lastWrite = Date.now();
      writing = writing.then(() => this.#move(agentId, (status) => ({ ...status, progress }))).catch(() => undefined);
    };
    return {
      report: (progress: RunnerProgress) => {
        latest = progress;
        if (timer !== undefined) return;
        const wait = lastWrite + this.#o.progressIntervalMs - Date.now();
        if (wait <= 0) write();
        else timer = setTimeout(write, wait);
      },
      flush: async () => {
        if (timer !== undefined) clearTimeout(timer);
        write();
        await writing;
      },
      stop: () => {
        if (timer !== undefined) clearTimeout(timer);
        timer = undefined;
        latest = undefined;
      },
    };
  }

  #fail(agentId: string, error: string): Promise<boolean> {
    return this.#move(agentId, (status) => ({ ...status, status: 'failed', completedAt: this.#now().toISOString(), error }));
  }

  /**
   * Applies `change` with compare-and-set, retrying when another writer came first.
   * False when the agent is terminal (nothing written) or the change is not allowed.
   */
  async #move(agentId: string, change: (status: AgentStatus) => AgentStatus): Promise<boolean> {
    for (;;) {
      const agent: StoredAgent = await this.#get(agentId);
      if (isTerminalState(agent.status.status)) return false;
      const next = change(agent.status);
      if (next.status !== agent.status.status && !canTransition(agent.status.status, next.status)) return false;
      if ((await this.#state.update(agentId, agent.sequence, next)) !== undefined) {
        this.#notify(agentId);
        return true;
      }
    }
  }

  async #get(agentId: string): Promise<StoredAgent> {
    const agent = await this.#state.get(agentId);
    if (agent === undefined) throw new FederationError('NOT_FOUND', 'there is no such agent');
    return agent;
  }

  #notify(agentId: string): void {
    for (const wake of [...(this.#listeners.get(agentId) ?? [])]) wake();
  }

  /** Resolves on the agent's next change here, after the poll interval, or on abort. */
  #nextChange(agentId: string, signal: AbortSignal | undefined) {
    let cancel: () => void = () => undefined;
    const promise = new Promise<void>((resolve) => {
      const listeners = this.#listeners.get(agentId) ?? new Set<() => void>();
      this.#listeners.set(agentId, listeners);
      const timer = setTimeout(() => cancel(), this.#o.watchPollMs);
      cancel = () => {
        clearTimeout(timer);
        listeners.delete(cancel);
        if (listeners.size === 0) this.#listeners.delete(agentId);
        signal?.removeEventListener('abort', cancel);
        resolve();
      };
      listeners.add(cancel);
      signal?.addEventListener('abort', cancel, { once: true });
    });
    return { promise, cancel: () => cancel() };
  }
}

/** What a failed attempt tells the hub: the error's first line, never a stack. */
function reasonOf(error: unknown): string {
  if (!(error instanceof Error)) return 'the agent failed';
  return (error.message.split('\n')[0] ?? '').slice(0, 500) || 'the agent failed';
}
