// The agent lifecycle over a state store (PROTOCOL 5): every change is a compare-and-set,
// so a terminal status never changes (a late "completed" cannot overwrite "killed"), and
// every change is an event that watchers get in sequence order. Shared by the in-process
// orchestrator, the queue-backed one on every replica, and the workers.
import {
  bundleChunk,
  canTransition,
  chunkEnd,
  FederationError,
  isTerminalState,
  spawningStatus,
  type AgentBundleResponse,
  type AgentKillResponse,
  type AgentRespondResponse,
  type AgentUsage,
  type ApprovalAnswer,
  type BundleRange,
  type AgentSpawnResponse,
  type AgentStatus,
  type AgentStatusChangedPayload,
  type OrchestratorSpawnRequest,
  type TranscriptEntry,
  type TranscriptPage,
  type WatchAgentOptions,
} from '@mosaic-fed/core';
import { currentTraceparent } from '@mosaic-fed/sdk/tracing';
import type { AgentStateStore, StoredAgent, StoredAnswer } from './state/types.js';

export interface AgentLifecycleOptions {
  state: AgentStateStore;
  now: () => Date;
  /** How often `watch` reads the store when it hears of no change. Default 1,000 ms. */
  watchPollMs?: number;
}

/** Reads and moves agents through their lifecycle. */
export class AgentLifecycle {
  readonly state: AgentStateStore;
  readonly now: () => Date;
  readonly #watchPollMs: number;
  readonly #listeners = new Map<string, Set<() => void>>();

  constructor(options: AgentLifecycleOptions) {
    this.state = options.state;
    this.now = options.now;
    this.#watchPollMs = options.watchPollMs ?? 1_000;
  }

  /** Records a new agent in `spawning`; `created: false` for a known id (nothing written). */
  async create(request: OrchestratorSpawnRequest): Promise<{ created: boolean; response: AgentSpawnResponse }> {
    const { agentId, spec } = request;
    const spawnedAt = this.now().toISOString();
    const status = spawningStatus({ agentId, taskId: spec.taskId, agentType: spec.agentType, spawnedAt });
    const traceparent = currentTraceparent();
    const outcome = await this.state.create({
      agentId,
      ownerInstanceId: request.ownerInstanceId,
      spec,
      ...(request.egress === undefined || request.egress.length === 0 ? {} : { egress: request.egress }),
      ...(request.maxTokens === undefined ? {} : { maxTokens: request.maxTokens }),
      ...(request.approvals === undefined ? {} : { approvals: request.approvals }),
      // The trace of the spawn, for the run that comes later, maybe on another worker.
      ...(traceparent === undefined ? {} : { traceparent }),
      status,
      sequence: 1,
    });
    if (outcome === 'exists') {
      // Idempotent by agentId: the first answer again.
      const existing = await this.get(agentId);
      return { created: false, response: { agentId, state: 'spawning', spawnedAt: existing.status.spawnedAt } };
    }
    this.#notify(agentId);
    return { created: true, response: { agentId, state: 'spawning', spawnedAt } };
  }

  /** Part of the agent's transcript; `NOT_FOUND` for an unknown agent. */
  async transcript(agentId: string, page: TranscriptPage): Promise<TranscriptEntry[]> {
    const [status] = await this.state.statuses([agentId]);
    if (status === undefined) throw new FederationError('NOT_FOUND', 'there is no such agent');
    return this.state.transcript(agentId, page.after, page.limit);
  }

  /**
   * A chunk of the bundle the agent's completed status names: `NOT_FOUND` for an unknown
   * agent and for one without a bundle, `VALIDATION_FAILED` for an offset past its end.
   */
  async bundle(agentId: string, range: BundleRange): Promise<AgentBundleResponse> {
    const [status] = await this.state.statuses([agentId]);
    const ref = status?.status === 'completed' ? status.result?.bundle : undefined;
    if (ref === undefined) throw new FederationError('NOT_FOUND', 'there is no such agent, or it left no bundle');
    const end = chunkEnd(ref, range.offset, range.length);
    const read = await this.state.readBundle(agentId, range.offset, end - range.offset);
    if (read?.length !== end - range.offset) throw new FederationError('INTERNAL', "the agent's bundle is not all there");
    return bundleChunk(agentId, ref, range.offset, read);
  }

  /** `NOT_FOUND` for an unknown agent. */
  async get(agentId: string): Promise<StoredAgent> {
    const agent = await this.state.get(agentId);
    if (agent === undefined) throw new FederationError('NOT_FOUND', 'there is no such agent');
    return agent;
  }

  /**
   * Applies `change` with compare-and-set, retrying when another writer came first.
   * False (nothing written) when the agent is terminal, the lifecycle forbids the move, or
   * `change` gives the status back as it was. A pending approval is only ever kept while
   * the agent is `waiting` (PROTOCOL 5, Approvals): every move out of it drops it.
   */
  async move(agentId: string, change: (status: AgentStatus) => AgentStatus): Promise<boolean> {
    for (;;) {
      const agent = await this.get(agentId);
      if (isTerminalState(agent.status.status)) return false;
      let next = change(agent.status);
      if (next === agent.status) return false;
      if (next.status !== agent.status.status && !canTransition(agent.status.status, next.status)) return false;
      if (next.status !== 'waiting' && next.pendingApproval !== undefined) {
        const { pendingApproval: _answered, ...rest } = next;
        next = rest;
      }
      if ((await this.state.update(agentId, agent.sequence, next)) !== undefined) {
        this.#notify(agentId);
        return true;
      }
    }
  }

  /** Ends the agent `failed`; `usage`, what its run used, is kept in its last progress. */
  fail(agentId: string, error: string, usage?: AgentUsage): Promise<boolean> {
    return this.move(agentId, (status) => ({
      ...status,
      status: 'failed',
      completedAt: this.now().toISOString(),
      error,
      ...(usage === undefined ? {} : { progress: { ...(status.progress ?? { turns: 0 }), usage } }),
    }));
  }

  /**
   * Moves the agent to `killed`. `moved` is false when it was killed before (the same
   * answer again); a completed or failed agent is `AGENT_ALREADY_TERMINAL`.
   */
  async kill(agentId: string): Promise<{ moved: boolean; response: AgentKillResponse }> {
    const killedAt = this.now().toISOString();
    const moved = await this.move(agentId, (status) => ({ ...status, status: 'killed', completedAt: killedAt }));
    const { status } = await this.get(agentId);
    if (status.status !== 'killed') {
      throw new FederationError('AGENT_ALREADY_TERMINAL', `the agent is already ${status.status}`, { data: { status: status.status } });
    }
    return { moved, response: { agentId, status: 'killed', killedAt: status.completedAt ?? killedAt } };
  }

  /**
   * Takes a person's answer to the agent's pending approval (PROTOCOL 5, Approvals) and
   * wakes the agent's run here. `VALIDATION_FAILED` when that approval is not pending: the
   * agent is not waiting for it, or it was answered already.
   */
  async respond(agentId: string, answer: ApprovalAnswer): Promise<AgentRespondResponse> {
    const { status } = await this.get(agentId);
    const notPending = (why: string) =>
      new FederationError('VALIDATION_FAILED', `approval ${answer.approvalId} is not pending: ${why}`, {
        details: [{ path: 'approvalId', message: 'is not the approval the agent waits for' }],
      });
    if (status.status !== 'waiting' || status.pendingApproval?.id !== answer.approvalId) {
      throw notPending(status.status === 'waiting' ? 'the agent waits for another one' : `the agent is ${status.status}`);
    }
    const answeredAt = this.now().toISOString();
    if (!(await this.state.putAnswer(agentId, { ...answer, answeredAt }))) throw notPending('it was answered already');
    this.#notify(agentId);
    return { agentId, approvalId: answer.approvalId, decision: answer.decision, answeredAt };
  }

  /**
   * The answer to one of the agent's approvals, once there is one: answers given through
   * this object wake it at once, others (another process) are seen by polling. Rejects
   * when `signal` aborts (a kill, the timeout).
   */
  async awaitAnswer(agentId: string, approvalId: string, signal: AbortSignal): Promise<StoredAnswer> {
    for (;;) {
      signal.throwIfAborted();
      const changed = this.#nextChange(agentId, signal);
      const answer = await this.state.answer(agentId, approvalId);
      if (answer !== undefined) {
        changed.cancel();
        return answer;
      }
      await changed.promise;
    }
  }

  /**
   * Status changes in sequence order from `afterSequence`, ending after a terminal one.
   * Changes made through this object wake it at once; others (another process) are seen
   * by polling.
   */
  async *watch(agentId: string, options: WatchAgentOptions = {}): AsyncGenerator<AgentStatusChangedPayload, void, undefined> {
    await this.get(agentId);
    let after = options.afterSequence ?? 0;
    while (options.signal?.aborted !== true) {
      // Listen before reading, so a change between the two is not missed.
      const changed = this.#nextChange(agentId, options.signal);
      for (const event of await this.state.events(agentId, after)) {
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

  /** Wakes this process's watchers of an agent (for changes it learned of elsewhere). */
  notify(agentId: string): void {
    this.#notify(agentId);
  }

  #notify(agentId: string): void {
    for (const wake of [...(this.#listeners.get(agentId) ?? [])]) wake();
  }

  /** Resolves on the agent's next change seen here, after the poll interval, or on abort. */
  #nextChange(agentId: string, signal: AbortSignal | undefined) {
    let cancel: () => void = () => undefined;
    const promise = new Promise<void>((resolve) => {
      const listeners = this.#listeners.get(agentId) ?? new Set<() => void>();
      this.#listeners.set(agentId, listeners);
      const timer = setTimeout(() => cancel(), this.#watchPollMs);
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
