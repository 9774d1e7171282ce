// An OrchestratorAdapter that runs nothing: tests move its agents through the lifecycle
// by hand (the real orchestrator has its own package and tests).
import {
  bundleChunk,
  chunkEnd,
  FederationError,
  transition,
  type AgentBundleResponse,
  type AgentKillResponse,
  type AgentRespondResponse,
  type ApprovalAnswer,
  type BundleRange,
  type PendingApproval,
  type AgentResult,
  type AgentSpawnResponse,
  type AgentState,
  type AgentStatus,
  type AgentStatusChangedPayload,
  type AgentUsage,
  type OrchestratorAdapter,
  type OrchestratorSpawnRequest,
  type TranscriptEntry,
  type TranscriptPage,
  type WatchAgentOptions,
} from '@mosaic-fed/core';

interface Tracked {
  request: OrchestratorSpawnRequest;
  status: AgentStatus;
  events: AgentStatusChangedPayload[];
  listeners: Set<() => void>;
  killedAt: string | null;
  transcript: TranscriptEntry[];
  bundle?: Uint8Array | undefined;
}

export class InMemoryOrchestrator implements OrchestratorAdapter {
  readonly agents = new Map<string, Tracked>();
  /** Every spawn call, including repeats for the same agent. */
  spawnCalls = 0;
  /** When false, every call fails with ORCHESTRATOR_UNAVAILABLE. */
  available = true;
  /** When set, spawn waits for it (to hold a message in progress). */
  gate: Promise<void> | undefined;
  /** When set, spawn throws it (an unexpected failure). */
  failWith: Error | undefined;
  /** How many of the next watches fail as if the orchestrator were down. */
  watchFailures = 0;
  /** Every answer taken, in order. */
  readonly answers: (ApprovalAnswer & { agentId: string })[] = [];

  constructor(private readonly now: () => Date = () => new Date()) {}

  /** Agents actually started (one per agent id). */
  get started(): number {
    return this.agents.size;
  }

  async spawn(request: OrchestratorSpawnRequest): Promise<AgentSpawnResponse> {
    this.spawnCalls++;
    this.#check();
    if (this.gate !== undefined) await this.gate;
    if (this.failWith !== undefined) throw this.failWith;
    const existing = this.agents.get(request.agentId);
    if (existing !== undefined) return { agentId: request.agentId, state: 'spawning', spawnedAt: existing.status.spawnedAt };
    const at = this.now().toISOString();
    const tracked: Tracked = {
      request,
      status: {
        agentId: request.agentId,
        taskId: request.spec.taskId,
        agentType: request.spec.agentType,
        status: 'spawning',
        attempt: 1,
        spawnedAt: at,
        startedAt: null,
        completedAt: null,
        progress: null,
        result: null,
        error: null,
      },
      events: [],
      listeners: new Set(),
      killedAt: null,
      transcript: [],
    };
    this.agents.set(request.agentId, tracked);
    this.#emit(tracked);
    return { agentId: request.agentId, state: 'spawning', spawnedAt: at };
  }

  async getStatus(agentId: string): Promise<AgentStatus> {
    this.#check();
    return structuredClone(this.#get(agentId).status);
  }

  async kill(agentId: string): Promise<AgentKillResponse> {
    this.#check();
    const tracked = this.#get(agentId);
    if (tracked.status.status !== 'killed') {
      this.#move(tracked, 'killed', { error: null });
      tracked.killedAt = this.now().toISOString();
    }
    return { agentId, status: 'killed', killedAt: tracked.killedAt ?? this.now().toISOString() };
  }

  async *watch(agentId: string, options: WatchAgentOptions = {}): AsyncGenerator<AgentStatusChangedPayload> {
    if (this.watchFailures > 0) {
      this.watchFailures--;
      throw new FederationError('ORCHESTRATOR_UNAVAILABLE', 'the orchestrator is down');
    }
    const tracked = this.#get(agentId);
    let after = options.afterSequence ?? 0;
    while (options.signal?.aborted !== true) {
      const next = tracked.events.filter((e) => e.sequence > after);
      for (const event of next) {
        yield structuredClone(event);
        after = event.sequence;
        if (['completed', 'failed', 'killed'].includes(event.status)) return;
      }
      await new Promise<void>((done) => {
        const wake = () => {
          tracked.listeners.delete(wake);
          done();
        };
        tracked.listeners.add(wake);
        options.signal?.addEventListener('abort', wake, { once: true });
      });
    }
  }

  async transcript(agentId: string, page: TranscriptPage): Promise<TranscriptEntry[]> {
    this.#check();
    return structuredClone(this.#get(agentId).transcript.slice(page.after, page.after + page.limit));
  }

  /** Adds a step to an agent's transcript. */
  record(agentId: string, entry: Omit<TranscriptEntry, 'index' | 'at' | 'attempt'>): void {
    const tracked = this.#get(agentId);
    tracked.transcript.push({ ...entry, index: tracked.transcript.length + 1, attempt: tracked.status.attempt, at: this.now().toISOString() });
  }

  /** Moves an agent to running. */
  start(agentId: string): void {
    const tracked = this.#get(agentId);
    this.#move(tracked, 'running', { startedAt: this.now().toISOString(), progress: { turns: 0 } });
  }

  /** Reports progress of a running agent, with the model tokens it used so far if given. */
  progress(agentId: string, turns: number, lastAction: string, usage?: AgentUsage): void {
    const tracked = this.#get(agentId);
    tracked.status = { ...tracked.status, progress: { turns, lastAction, ...(usage === undefined ? {} : { usage }) } };
    this.#emit(tracked);
  }

  /** Ends an agent failed, keeping its progress. */
  fail(agentId: string, error: string): void {
    this.#move(this.#get(agentId), 'failed', { error });
  }

  /** Moves a running agent to waiting for a person's approval. */
  ask(agentId: string, pendingApproval: PendingApproval): void {
    this.#move(this.#get(agentId), 'waiting', { pendingApproval });
  }

  /** Takes the answer to the agent's pending approval, and moves it back to running (PROTOCOL 5, Approvals). */
  async respond(agentId: string, answer: ApprovalAnswer): Promise<AgentRespondResponse> {
    this.#check();
    const tracked = this.#get(agentId);
    if (tracked.status.status !== 'waiting' || tracked.status.pendingApproval?.id !== answer.approvalId) {
      throw new FederationError('VALIDATION_FAILED', `approval ${answer.approvalId} is not pending`);
    }
    this.answers.push({ agentId, ...answer });
    const { pendingApproval: _answered, ...rest } = tracked.status;
    tracked.status = rest;
    this.#move(tracked, 'running', {});
    return { agentId, approvalId: answer.approvalId, decision: answer.decision, answeredAt: this.now().toISOString() };
  }

  async bundle(agentId: string, range: BundleRange): Promise<AgentBundleResponse> {
    this.#check();
    const { status, bundle } = this.#get(agentId);
    const ref = status.result?.bundle;
    if (ref === undefined || bundle === undefined) throw new FederationError('NOT_FOUND', 'there is no such agent, or it left no bundle');
    return bundleChunk(agentId, ref, range.offset, bundle.slice(range.offset, chunkEnd(ref, range.offset, range.length)));
  }

  /** Completes a running agent with a result, and the bundle its `result.bundle` names. */
  complete(agentId: string, result: AgentResult, bundle?: Uint8Array): void {
    const tracked = this.#get(agentId);
    tracked.bundle = bundle;
    if (tracked.status.status === 'spawning') this.start(agentId);
    this.#move(tracked, 'completed', { completedAt: this.now().toISOString(), result });
  }

  #move(tracked: Tracked, to: AgentState, patch: Partial<AgentStatus>): void {
    const { pendingApproval, ...rest } = tracked.status;
    tracked.status = { ...rest, ...(to === 'waiting' && pendingApproval !== undefined ? { pendingApproval } : {}), ...patch, status: transition(tracked.status.status, to) };
    if (to === 'killed' || to === 'failed') tracked.status.completedAt = this.now().toISOString();
    this.#emit(tracked);
  }

  #emit(tracked: Tracked): void {
    tracked.events.push({ ...structuredClone(tracked.status), sequence: tracked.events.length + 1 });
    for (const wake of [...tracked.listeners]) wake();
  }

  #get(agentId: string): Tracked {
    const tracked = this.agents.get(agentId);
    if (tracked === undefined) throw new FederationError('NOT_FOUND', 'there is no such agent');
    return tracked;
  }

  #check(): void {
    if (!this.available) throw new FederationError('ORCHESTRATOR_UNAVAILABLE', 'the orchestrator is down');
  }
}
