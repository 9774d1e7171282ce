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
  /**
   * For how many agents the events this object wrote are kept in memory, so its watchers
   * take them from there instead of reading the store. Right where the agents run in this
   * process (their changes are made here); where they run elsewhere (workers), leave it
   * out: 0, every watcher reads.
   */
  rememberEventsOf?: number;
  /** Told of each agent this object writes (created or moved): to tell other processes' watchers at once. */
  onWrite?: (agentId: string) => void;
}

/** How many agents' latest record is kept for compare-and-set without a read before it. */
const KNOWN_AGENTS = 1_000;

/** Why a watcher woke: a change made here, one heard of from elsewhere, or its poll. */
type Wake = 'here' | 'elsewhere' | 'poll';

/** Reads and moves agents through their lifecycle. */
export class AgentLifecycle {
  readonly state: AgentStateStore;
  readonly now: () => Date;
  readonly #watchPollMs: number;
  readonly #onWrite: ((agentId: string) => void) | undefined;
  readonly #listeners = new Map<string, Set<(why: Wake) => void>>();
  /**
   * Each agent as this object last wrote or read it, the least recently used dropped first:
   * a move tries its compare-and-set on it without reading first, and reads only when
   * another writer came in between (the compare-and-set then misses).
   */
  readonly #known = new RecentlyUsed<StoredAgent>(KNOWN_AGENTS);
  /** Per agent, the unbroken run of events this object wrote last (`rememberEventsOf`). */
  readonly #written: RecentlyUsed<AgentStatusChangedPayload[]> | undefined;

  constructor(options: AgentLifecycleOptions) {
    this.state = options.state;
    this.now = options.now;
    this.#watchPollMs = options.watchPollMs ?? 1_000;
    this.#onWrite = options.onWrite;
    const remember = options.rememberEventsOf ?? 0;
    this.#written = remember > 0 ? new RecentlyUsed(remember) : undefined;
  }

  /**
   * Records a new agent in `spawning`, and answers it as written (`agent`); `created:
   * false` for a known id (nothing written).
   */
  async create(request: OrchestratorSpawnRequest): Promise<{ created: true; response: AgentSpawnResponse; agent: StoredAgent } | { created: false; response: AgentSpawnResponse }> {
    const { agentId, spec } = request;
    const spawnedAt = this.now().toISOString();
    const status = spawningStatus({ agentId, taskId: spec.taskId, agentType: spec.agentType, spawnedAt });
    const traceparent = currentTraceparent();
    const agent: StoredAgent = {
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
    };
    if ((await this.state.create(agent)) === 'exists') {
      // Idempotent by agentId: the first answer again.
      const existing = await this.get(agentId);
      return { created: false, response: { agentId, state: 'spawning', spawnedAt: existing.status.spawnedAt } };
    }
    this.#wrote(agent);
    return { created: true, response: { agentId, state: 'spawning', spawnedAt }, agent };
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

  /** The agent as stored now; `NOT_FOUND` for an unknown agent. */
  async get(agentId: string): Promise<StoredAgent> {
    const agent = await this.state.get(agentId);
    if (agent === undefined) throw new FederationError('NOT_FOUND', 'there is no such agent');
    this.#known.set(agentId, agent);
    return agent;
  }

  /**
   * Applies `change` with compare-and-set, retrying when another writer came first, and
   * answers the agent as written, or `undefined` (nothing written) when the agent is
   * terminal, the lifecycle forbids the move, or `change` gives the status back as it was.
   * The first try starts from the agent as last known here, without a read: a stale guess
   * misses the compare-and-set, and a refusal is only ever judged on the stored agent. A
   * pending approval is only ever kept while the agent is `waiting` (PROTOCOL 5,
   * Approvals): every move out of it drops it.
   */
  async move(agentId: string, change: (status: AgentStatus) => AgentStatus): Promise<StoredAgent | undefined> {
    let agent = this.#known.get(agentId);
    let stored = agent === undefined;
    for (;;) {
      if (agent === undefined) {
        agent = await this.get(agentId);
        stored = true;
      }
      const next = this.#next(agent.status, change);
      if (next === undefined) {
        // What was known here may be behind the store: judge a refusal on what is stored.
        if (stored) return undefined;
        agent = undefined;
        continue;
      }
      const event = await this.state.update(agentId, agent.sequence, next);
      if (event !== undefined) {
        const moved = { ...agent, status: next, sequence: event.sequence };
        this.#wrote(moved, event);
        return moved;
      }
      agent = undefined;
    }
  }

  /** The status `change` moves `current` to, or `undefined` when there is no such move. */
  #next(current: AgentStatus, change: (status: AgentStatus) => AgentStatus): AgentStatus | undefined {
    if (isTerminalState(current.status)) return undefined;
    const next = change(current);
    if (next === current) return undefined;
    if (next.status !== current.status && !canTransition(current.status, next.status)) return undefined;
    if (next.status === 'waiting' || next.pendingApproval === undefined) return next;
    const { pendingApproval: _answered, ...rest } = next;
    return rest;
  }

  /** Ends the agent `failed`; `usage`, what its run used, is kept in its last progress. True when it moved. */
  async fail(agentId: string, error: string, usage?: AgentUsage): Promise<boolean> {
    const moved = await this.move(agentId, (status) => ({
      ...status,
      status: 'failed',
      completedAt: this.now().toISOString(),
      error,
      ...(usage === undefined ? {} : { progress: { ...(status.progress ?? { turns: 0 }), usage } }),
    }));
    return moved !== undefined;
  }

  /**
   * Moves the agent to `killed`. `moved` is false when it was killed before (the same
   * answer again); a completed or failed agent is `AGENT_ALREADY_TERMINAL`.
   */
  async kill(agentId: string): Promise<{ moved: boolean; response: AgentKillResponse }> {
    const killedAt = this.now().toISOString();
    const killed = await this.move(agentId, (status) => ({ ...status, status: 'killed', completedAt: killedAt }));
    const { status } = killed ?? (await this.get(agentId));
    const moved = killed !== undefined;
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
    // No status changed: watchers have nothing to read; the run awaiting it looks.
    this.#notify(agentId, 'here');
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
   * Status changes in sequence order from `afterSequence`, ending after a terminal one;
   * `NOT_FOUND` for an unknown agent. Changes made through this object wake it at once
   * (and, with `rememberEventsOf`, come from memory); others (another process) are seen
   * by polling, or at once when {@link notify} tells of them.
   */
  async *watch(agentId: string, options: WatchAgentOptions = {}): AsyncGenerator<AgentStatusChangedPayload, void, undefined> {
    const { signal } = options;
    let after = options.afterSequence ?? 0;
    // Listen before reading, so a change between the two is not missed.
    let changed = this.#nextChange(agentId, signal);
    let ended = false;
    try {
      let events = this.#writtenAfter(agentId, after);
      if (events === undefined || events.length === 0) {
        events = await this.state.events(agentId, after);
        // Every agent has its first event from its creation on.
        if (events.length === 0 && (after === 0 || (await this.state.statuses([agentId]))[0] === undefined)) {
          throw new FederationError('NOT_FOUND', 'there is no such agent');
        }
      }
      for (;;) {
        let gap = false;
        for (const event of events) {
          // A change made elsewhere between two made here: the store has it.
          if (event.sequence !== after + 1) {
            gap = true;
            break;
          }
          yield event;
          after = event.sequence;
          if (isTerminalState(event.status)) {
            ended = true;
            return;
          }
        }
        if (!gap) {
          const why = await changed.promise;
          if (signal?.aborted === true) return;
          changed = this.#nextChange(agentId, signal);
          const written = why === 'here' ? this.#writtenAfter(agentId, after) : undefined;
          if (written !== undefined) {
            events = written;
            continue;
          }
        }
        events = await this.state.events(agentId, after);
      }
    } finally {
      changed.cancel();
      // The last watcher of an ended agent lets its events go (a later one reads them).
      if (ended && !this.#listeners.has(agentId)) this.#written?.delete(agentId);
    }
  }

  /** Wakes this process's watchers of an agent, for a change it learned of elsewhere: they read the store. */
  notify(agentId: string): void {
    this.#written?.delete(agentId);
    this.#notify(agentId, 'elsewhere');
  }

  /** Keeps what was just written of the agent and wakes its watchers. */
  #wrote(agent: StoredAgent, event: AgentStatusChangedPayload = { ...agent.status, sequence: agent.sequence }): void {
    // An ended agent moves no more: nothing to guess at.
    if (isTerminalState(agent.status.status)) this.#known.delete(agent.agentId);
    else this.#known.set(agent.agentId, agent);
    if (this.#written !== undefined) {
      const run = this.#written.get(agent.agentId);
      // An unbroken run only: after a gap (another writer's event), it starts again.
      if (run !== undefined && run.at(-1)?.sequence === event.sequence - 1) run.push(event);
      else this.#written.set(agent.agentId, [event]);
    }
    this.#notify(agent.agentId, 'here');
    this.#onWrite?.(agent.agentId);
  }

  /**
   * The events this object wrote after `after`, when it remembers an unbroken run that
   * reaches back to `after + 1` (`[]`: none since); `undefined` when the store must say.
   */
  #writtenAfter(agentId: string, after: number): AgentStatusChangedPayload[] | undefined {
    const run = this.#written?.get(agentId);
    const first = run?.[0];
    if (run === undefined || first === undefined || first.sequence > after + 1) return undefined;
    return run.slice(after + 1 - first.sequence);
  }

  #notify(agentId: string, why: Wake): void {
    for (const wake of [...(this.#listeners.get(agentId) ?? [])]) wake(why);
  }

  /** Resolves on the agent's next change seen here, after the poll interval, or on abort. */
  #nextChange(agentId: string, signal: AbortSignal | undefined) {
    let wake: (why: Wake) => void = () => undefined;
    const promise = new Promise<Wake>((resolve) => {
      const listeners = this.#listeners.get(agentId) ?? new Set<(why: Wake) => void>();
      this.#listeners.set(agentId, listeners);
      const poll = () => wake('poll');
      const timer = setTimeout(poll, this.#watchPollMs);
      let woken = false;
      wake = (why) => {
        // Once only: a second call (a cancel after the wake) must not touch a newer listener's set.
        if (woken) return;
        woken = true;
        clearTimeout(timer);
        listeners.delete(wake);
        if (listeners.size === 0 && this.#listeners.get(agentId) === listeners) this.#listeners.delete(agentId);
        signal?.removeEventListener('abort', poll);
        resolve(why);
      };
      listeners.add(wake);
      signal?.addEventListener('abort', poll, { once: true });
    });
    return { promise, cancel: () => wake('poll') };
  }
}

/** A map that keeps its `limit` most recently set entries. */
class RecentlyUsed<V> {
  readonly #entries = new Map<string, V>();
  readonly #limit: number;

  constructor(limit: number) {
    this.#limit = limit;
  }

  get(key: string): V | undefined {
    return this.#entries.get(key);
  }

  set(key: string, value: V): void {
    this.#entries.delete(key);
    this.#entries.set(key, value);
    if (this.#entries.size > this.#limit) {
      const [oldest] = this.#entries.keys();
      if (oldest !== undefined) this.#entries.delete(oldest);
    }
  }

  delete(key: string): void {
    this.#entries.delete(key);
  }
}
