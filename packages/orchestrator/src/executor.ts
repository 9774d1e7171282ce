// Runs one agent to its end: each attempt checks the branch out on the host, copies it
// into a sandbox, lets the runner work, and takes its commits back as a bundle and a patch. Retries,
// the run's timeout and progress updates live here; the lifecycle's compare-and-set
// writes make a kill win over whatever the run was about to write.
import { addUsage, describeError, isTerminalState, sha256Hex, tokensOf, type AgentBundleRef, type AgentProgress, type AgentResult, type AgentType, type AgentUsage, type Logger } from '@mosaic-fed/core';
import { inSpan, traceContextOf } from '@mosaic-fed/sdk/tracing';
import { AgentFailure, BudgetExhausted, UNEXPLAINED_FAILURE } from './lib/failure.js';
import type { EgressGate, EgressProxy } from './egress/index.js';
import { agentBranchOf } from './lib/agent-branch.js';
import { outcomeOf } from './lib/outcome.js';
import { tell, type OrchestratorObserver } from './observer.js';
import type { AgentLifecycle } from './lifecycle.js';
import type { AgentRunContext, AgentRunners, ApprovalReply, ApprovalRequest, RunApprovals, RunnerProgress, TranscriptRecord } from './runners/types.js';
import { runSetup, type SetupOptions } from './setup.js';
import type { NewTranscriptEntry, StoredAgent } from './state/types.js';
import type { Sandbox, SandboxProvider } from './sandboxes/types.js';
import type { Workspace, WorkspaceChanges, WorkspaceProvider } from './workspaces/types.js';

export interface AgentExecutorOptions {
  lifecycle: AgentLifecycle;
  sandboxes: SandboxProvider;
  workspaces: WorkspaceProvider;
  runners: AgentRunners;
  logger: Logger;
  /** Progress is written at most this often, in milliseconds (PROTOCOL 5: once a second). */
  progressIntervalMs: number;
  /** What runs in the sandbox before the model's first turn. Default nothing. */
  setup?: SetupOptions | undefined;
  /** The way out for sandboxes of agents with egress rules. Without one, such agents fail. */
  egress?: EgressProxy | undefined;
  /** Told how long each sandbox took to start. */
  observer?: OrchestratorObserver | undefined;
}

/**
 * What each agent type may do to the repository, enforced by the sandbox rather than the
 * prompt: a `reviewer` reads a read-only copy; a `tester` may build and write in its copy,
 * but its changes are never sent; only a `worker`'s changes come back (a bundle and a patch).
 */
const AGENT_TYPE_POWERS: Record<AgentType, { readOnly: boolean; patch: boolean }> = {
  worker: { readOnly: false, patch: true },
  reviewer: { readOnly: true, patch: false },
  tester: { readOnly: false, patch: false },
};

/** Why an agent ends when its attempts used the tokens its budget allows. */
export function budgetReason(budget: number, spent: number): string {
  return `the agent used its budget of ${budget.toLocaleString('en')} model tokens (${spent.toLocaleString('en')} used)`;
}

/** Why a re-run after a dead worker ends the agent when no retry is left. */
export const WORKER_STOPPED = 'the worker running the agent stopped, and no retry was left';

export class AgentExecutor {
  readonly #o: AgentExecutorOptions;

  constructor(options: AgentExecutorOptions) {
    this.#o = options;
  }

  /** True when there is a runner for this agent type. */
  runs(agentType: string): boolean {
    return (this.#o.runners as Record<string, unknown>)[agentType] !== undefined;
  }

  /**
   * Runs the agent from its current state to a terminal one; returns early when `signal`
   * aborts (a kill, whose state the lifecycle has already written). An agent found
   * `running` was being run by a process that died: that attempt counts, and the next one
   * starts if `maxRetries` allows; unless that process stopped gracefully and `handedOver`
   * says so: the same attempt then starts again from the beginning. `created`: the agent
   * as its spawn in this process just wrote it, which spares a read.
   */
  async run(agentId: string, signal: AbortSignal, options: { handedOver?: boolean; created?: StoredAgent } = {}): Promise<void> {
    // The run continues the spawn's trace, whichever process the spawn came through.
    let agent: StoredAgent;
    try {
      agent = options.created ?? (await this.#o.lifecycle.get(agentId));
    } catch (error) {
      await this.#broke(agentId, signal, error);
      return;
    }
    const attributes = { 'mosaic_fed.agent.id': agentId };
    await inSpan('agent.run', { parent: traceContextOf(agent.traceparent), attributes }, () => this.#run(agent, signal, options));
  }

  /**
   * `agent`: as last known here; its status may be behind the store (a kill made
   * elsewhere), which the first move finds out.
   */
  async #run(agent: StoredAgent, signal: AbortSignal, options: { handedOver?: boolean }): Promise<void> {
    const { lifecycle, logger } = this.#o;
    const { agentId } = agent;
    try {
      if (isTerminalState(agent.status.status)) return;
      const { spec } = agent;
      let attempt = agent.status.attempt;
      // Found running, or waiting for an approval: the process that ran it stopped. An
      // approval it waited for is dropped with its attempt; the next attempt asks again.
      const interrupted = agent.status.status === 'running' || agent.status.status === 'waiting';
      // The model tokens of the run's attempts so far (an interrupted run's as last written),
      // for its budget, its status and its result.
      let spentUsage: AgentUsage | undefined = interrupted ? agent.status.progress?.usage : undefined;
      const fresh = (): AgentProgress => ({ turns: 0, ...(spentUsage === undefined ? {} : { usage: spentUsage }) });
      let running: StoredAgent | undefined;
      if (interrupted && options.handedOver === true) {
        running = await lifecycle.move(agentId, (status) => ({ ...status, status: 'running', progress: fresh() }));
      } else if (interrupted) {
        if (attempt > spec.options.maxRetries) {
          await lifecycle.fail(agentId, WORKER_STOPPED);
          return;
        }
        attempt++;
        running = await lifecycle.move(agentId, (status) => ({ ...status, status: 'running', attempt, progress: fresh() }));
      } else {
        running = await lifecycle.move(agentId, (status) => ({
          ...status,
          status: 'running',
          startedAt: lifecycle.now().toISOString(),
          progress: { turns: 0 },
        }));
        if (running === undefined) return;
      }
      // PROTOCOL 5: the timeout covers the whole run, retries and re-runs included.
      const { status } = running ?? (await lifecycle.get(agentId));
      const deadline = Date.parse(status.startedAt ?? lifecycle.now().toISOString()) + spec.options.timeout;
      const timeout = AbortSignal.timeout(Math.max(0, deadline - lifecycle.now().getTime()));
      const attemptSignal = AbortSignal.any([signal, timeout]);
      const budget = agent.maxTokens;
      // Every end writes the run's usage, its last turns' too: a day's budget counts them.
      const fail = (error: string) => lifecycle.fail(agentId, error, spentUsage);
      for (;; attempt++) {
        let used: AgentUsage | undefined;
        const spent = spentUsage === undefined ? 0 : tokensOf(spentUsage);
        try {
          if (budget !== undefined && spent >= budget) throw new BudgetExhausted(budgetReason(budget, spent));
          const before = spentUsage;
          const outcome = await inSpan('agent.attempt', { attributes: { 'mosaic_fed.agent.attempt': attempt } }, () =>
            this.#attempt(agent, attempt, attemptSignal, {
              tokenBudget: budget === undefined ? undefined : budget - spent,
              reportUsage: (usage) => void (used = usage),
            }, before),
          );
          // The result's usage is the run's: every attempt's tokens.
          const total = outcome.usage === undefined ? before : addUsage(before, outcome.usage);
          const result: AgentResult = { ...outcome, ...(total === undefined ? {} : { usage: total }) };
          await lifecycle.move(agentId, (current) => ({
            ...current,
            status: 'completed',
            completedAt: lifecycle.now().toISOString(),
            result,
            progress: { ...(current.progress ?? { turns: 0 }), ...(total === undefined ? {} : { usage: total }) },
          }));
          return;
        } catch (error) {
          if (used !== undefined) spentUsage = addUsage(spentUsage, used);
          if (signal.aborted) return;
          if (timeout.aborted) {
            await fail('timeout');
            return;
          }
          if (error instanceof BudgetExhausted && budget !== undefined) {
            // One reason, with the agent's totals, whichever attempt reached the budget.
            await fail(budgetReason(budget, spentUsage === undefined ? 0 : tokensOf(spentUsage)));
            return;
          }
          // The spoke's log has the whole story: an AgentFailure's cause is what the peer never sees.
          const cause = error instanceof Error && error.cause !== undefined ? { cause: describeError(error.cause).reason } : {};
          logger.warn('an agent attempt failed', { agentId, attempt, ...describeError(error), ...cause });
          if (attempt > spec.options.maxRetries) {
            await fail(reasonOf(error));
            return;
          }
          // A retry is not a transition: the agent stays running with the next attempt number.
          await lifecycle.move(agentId, (current) => ({ ...current, attempt: attempt + 1, progress: fresh() }));
        }
      }
    } catch (error) {
      await this.#broke(agentId, signal, error);
    }
  }

  /** A run that broke for a reason of ours, not the agent's: it ends failed, unless it was stopped. */
  async #broke(agentId: string, signal: AbortSignal, error: unknown): Promise<void> {
    if (signal.aborted) return;
    this.#o.logger.error('an agent run broke', { agentId, ...describeError(error) });
    await this.#o.lifecycle.fail(agentId, 'the orchestrator could not run the agent').catch(() => undefined);
  }

  /** One attempt; `before`: what the run's earlier attempts used, which its progress adds to its own. */
  async #attempt(
    agent: StoredAgent,
    attempt: number,
    signal: AbortSignal,
    budget: Pick<AgentRunContext, 'tokenBudget' | 'reportUsage'>,
    before: AgentUsage | undefined,
  ): Promise<AgentResult> {
    const { agentId, spec, egress } = agent;
    const runner = this.#o.runners[spec.agentType];
    if (runner === undefined) throw new AgentFailure(`this spoke has no runner for ${spec.agentType} agents`);
    let workspace: Workspace | undefined;
    let gate: EgressGate | undefined;
    let sandbox: Sandbox | undefined;
    // The one signal reaches the sandbox too: its processes stop the moment it aborts.
    const stopSandbox = () => void sandbox?.destroy();
    signal.addEventListener('abort', stopSandbox, { once: true });
    const progress = this.#reporter(agentId, attempt);
    try {
      workspace = await inSpan('workspace.checkout', {}, () => this.#o.workspaces.checkout({ ...spec.context, agentBranch: agentBranchOf(agentId) }, signal));
      signal.throwIfAborted();
      const powers = AGENT_TYPE_POWERS[spec.agentType];
      if (egress !== undefined && egress.length > 0) {
        if (this.#o.egress === undefined) throw new AgentFailure('this orchestrator has no egress proxy: its sandboxes cannot reach the hosts the grants allow');
        gate = await this.#o.egress.open(agentId, egress);
      }
      const source = workspace.dir;
      const provider = this.#o.sandboxes.name;
      const started = performance.now();
      sandbox = await inSpan('sandbox.create', { attributes: { 'mosaic_fed.sandbox.provider': provider } }, () =>
        this.#o.sandboxes.create({ agentId, agentType: spec.agentType, source, readOnly: powers.readOnly, egress: gate }),
      );
      tell(this.#o.observer?.sandboxStarted, { provider, seconds: (performance.now() - started) / 1000 });
      signal.throwIfAborted();
      if (this.#o.setup !== undefined) {
        await runSetup(sandbox, spec.agentType, this.#o.setup, {
          signal,
          record: progress.record,
          report: (step) => progress.report({ turns: 0, lastAction: step }),
        });
      }
      const outcome = await runner.run({
        agentId,
        spec,
        attempt,
        sandbox,
        signal,
        reportProgress: progress.report,
        record: progress.record,
        approvals: approvalsOf(agent),
        requestApproval: (request) => this.#awaitApproval(agentId, request, signal, progress.flush),
        tokenBudget: budget.tokenBudget,
        reportUsage: (usage) => {
          budget.reportUsage(usage);
          progress.usage(addUsage(before, usage));
        },
      });
      signal.throwIfAborted();
      const changes = powers.patch ? await workspace.changes(sandbox) : {};
      const bundle = changes.bundle === undefined ? undefined : await this.#keepBundle(agentId, changes.bundle);
      await progress.flush();
      return {
        ...outcome,
        ...(changes.patch === undefined ? {} : { patch: changes.patch }),
        ...(bundle === undefined ? {} : { bundle }),
        outcome: outcome.outcome ?? outcomeOf(spec.agentType, bundle !== undefined, outcome.checks ?? []),
      };
    } finally {
      await progress.stop();
      signal.removeEventListener('abort', stopSandbox);
      await sandbox?.destroy();
      await gate?.close();
      await workspace?.remove();
    }
  }

  /**
   * PROTOCOL 5, Approvals: the agent waits, with what it asks in its status, until the hub's
   * answer is stored; then it runs again. The run's signal (a kill, the timeout) ends the wait.
   */
  async #awaitApproval(agentId: string, request: ApprovalRequest, signal: AbortSignal, flushProgress: () => Promise<void>): Promise<ApprovalReply> {
    const { lifecycle } = this.#o;
    const pendingApproval = { id: crypto.randomUUID(), ...request };
    // What the agent did before it asks is written first, so the hub reads its events in order.
    await flushProgress();
    const waiting = await lifecycle.move(agentId, (status) =>
      status.status === 'running'
        ? { ...status, status: 'waiting', pendingApproval, progress: { turns: status.progress?.turns ?? 0, lastAction: `waits for approval of its ${request.kind}` } }
        : status,
    );
    signal.throwIfAborted();
    if (!waiting) throw new AgentFailure('the agent could not wait for approval: it was not running');
    const answer = await lifecycle.awaitAnswer(agentId, pendingApproval.id, signal);
    const lastAction = answer.decision === 'approve' ? `its ${request.kind} was approved` : `its ${request.kind} was not approved`;
    await lifecycle.move(agentId, (status) =>
      status.status === 'waiting' && status.pendingApproval?.id === pendingApproval.id
        ? { ...status, status: 'running', progress: { turns: status.progress?.turns ?? 0, lastAction } }
        : status,
    );
    signal.throwIfAborted();
    return { decision: answer.decision, ...(answer.note === undefined ? {} : { note: answer.note }) };
  }

  /** Stores the bundle of the agent's commits before the status that names it. */
  async #keepBundle(agentId: string, bundle: NonNullable<WorkspaceChanges['bundle']>): Promise<AgentBundleRef> {
    await this.#o.lifecycle.state.putBundle(agentId, bundle.data);
    return { sha256: await sha256Hex(bundle.data), bytes: bundle.data.length, branch: bundle.branch, base: bundle.base };
  }

  /**
   * Writes progress and the transcript at most once per interval: the latest progress,
   * and every transcript entry recorded since the last write.
   */
  #reporter(agentId: string, attempt: number) {
    const { lifecycle, progressIntervalMs, logger } = this.#o;
    let latest: RunnerProgress | undefined;
    /** The run's usage so far, written with every progress from its first turn on. */
    let usage: AgentUsage | undefined;
    let entries: NewTranscriptEntry[] = [];
    let lastWrite = 0;
    let timer: ReturnType<typeof setTimeout> | undefined;
    let writing: Promise<unknown> = Promise.resolve();
    const appendEntries = () => {
      const batch = entries;
      entries = [];
      if (batch.length === 0) return;
      writing = writing
        .then(() => lifecycle.state.appendTranscript(agentId, batch))
        .catch((error: unknown) => logger.warn("could not write an agent's transcript", { agentId, ...describeError(error) }));
    };
    const write = () => {
      timer = undefined;
      lastWrite = Date.now();
      appendEntries();
      if (latest === undefined) return;
      const progress = {
        turns: latest.turns,
        ...(latest.lastAction === undefined ? {} : { lastAction: latest.lastAction.slice(0, 1_000) }),
        ...(usage === undefined ? {} : { usage }),
      };
      latest = undefined;
      writing = writing.then(() => lifecycle.move(agentId, (status) => ({ ...status, progress }))).catch(() => undefined);
    };
    const schedule = () => {
      if (timer !== undefined) return;
      const wait = lastWrite + progressIntervalMs - Date.now();
      if (wait <= 0) write();
      else timer = setTimeout(write, wait);
    };
    return {
      report: (progress: RunnerProgress) => {
        latest = progress;
        schedule();
      },
      /** Taken with the next progress (a runner reports its usage before its progress). */
      usage: (total: AgentUsage) => {
        usage = total;
      },
      record: (entry: TranscriptRecord) => {
        entries.push({ ...entry, attempt, at: lifecycle.now().toISOString() });
        schedule();
      },
      flush: async () => {
        if (timer !== undefined) clearTimeout(timer);
        write();
        await writing;
      },
      /** Drops unwritten progress (the attempt is over) but keeps what the agent did. */
      stop: async () => {
        if (timer !== undefined) clearTimeout(timer);
        timer = undefined;
        latest = undefined;
        appendEntries();
        await writing;
      },
    };
  }
}

/** What waits for approval in an agent's run: what its spawn asked, and the connection's rules. */
function approvalsOf(agent: StoredAgent): RunApprovals {
  return {
    plan: agent.spec.options.approval === 'plan' || agent.approvals?.plan === true,
    commands: agent.approvals?.commands ?? [],
  };
}

/**
 * What a failed attempt tells the hub: an {@link AgentFailure}'s first line, never a
 * stack; for any other error (a host path, an engine's answer) one generic reason.
 */
function reasonOf(error: unknown): string {
  if (!(error instanceof AgentFailure)) return UNEXPLAINED_FAILURE;
  return (error.message.split('\n')[0] ?? '').slice(0, 500) || UNEXPLAINED_FAILURE;
}
