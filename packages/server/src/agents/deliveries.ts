// Delivery on the hub (docs/protocol.md, "Delivery"): once an agent spawned with
// `options.deliver` completes, its bundle is read from the peer and checked, applied to a
// branch of the repository and pushed with this instance's own credentials, and a pull
// request opened where asked. The spoke never needs push rights. Deliveries are recorded
// with the agent, so a restart loses none; a failed try is tried again after a pause.
import { backoffMs, FederationError, type AgentBundleRef, type AgentDelivery, type OpenedPullRequest } from '@mosaic-fed/core';
import { BackgroundLoop } from '../lib/background.js';
import { describeError, type Logger } from '../logger.js';
import type { Leases } from '../replicas/leases.js';
import type { DeliveryChange, DeliveryRecord, FederationStores } from '../stores/types.js';
import type { FederationAgentService } from './federation-agents.js';

/** One branch to deliver: the agent's bundle, and where it goes. */
export interface BranchDelivery {
  /** The spawn's repository, as the spawn named it. */
  repository: string;
  /** The branch the agent started from; the bundle's base commit is on it. */
  baseBranch: string;
  /** The checked bundle, and what it holds: one ref, `refs/heads/<ref.branch>`, on `ref.base`. */
  bundle: Uint8Array;
  ref: AgentBundleRef;
  /** The branch to push the agent's commits to: created, or moved forward, never forced. */
  branch: string;
  /** The pull request to open from `branch`, if asked. */
  pullRequest?: { title: string; body: string; base: string } | undefined;
}

/**
 * What pushes branches and opens pull requests for this instance (Node:
 * `GitBranchDeliverer` of @mosaic-fed/node). A failure is thrown as an `Error` whose
 * message says what went wrong in words fit for the admin: no credential, no URL with one.
 */
export interface BranchDeliverer {
  deliver(delivery: BranchDelivery): Promise<{ commit: string; pullRequest?: OpenedPullRequest | undefined }>;
}

export interface DeliveryServiceOptions {
  stores: FederationStores;
  agents: FederationAgentService;
  deliverer: BranchDeliverer | undefined;
  leases: Leases;
  holder: string;
  now: () => Date;
  logger: Logger;
  /** Tries before a delivery is given up as `failed`. Default 5. */
  maxAttempts?: number | undefined;
  /** Time between passes, in milliseconds. Default 5,000. */
  intervalMs?: number | undefined;
}

/** How long one try may hold a delivery against the other replicas. */
const DELIVERY_LEASE_MS = 10 * 60 * 1000;

export class DeliveryService {
  readonly #o: DeliveryServiceOptions;
  readonly #loop: BackgroundLoop<number>;
  readonly #maxAttempts: number;

  constructor(options: DeliveryServiceOptions) {
    this.#o = options;
    this.#maxAttempts = options.maxAttempts ?? 5;
    this.#loop = new BackgroundLoop(() => this.#pass(), {
      intervalMs: options.intervalMs ?? 5_000,
      onError: (error) => options.logger.warn('could not deliver branches; will try again', describeError(error)),
    });
  }

  /** True when this instance can deliver: spawns asking for it are refused otherwise. */
  get available(): boolean {
    return this.#o.deliverer !== undefined;
  }

  start(): void {
    if (this.available) this.#loop.start();
  }

  stop(): Promise<void> {
    return this.#loop.stop();
  }

  /** Delivers what is due now (an agent just ended), beside the regular passes. */
  wake(): void {
    if (this.available) this.#loop.runNow().catch(() => undefined);
  }

  /** A pass now: answers how many deliveries it settled or tried. */
  runNow(): Promise<number> {
    return this.#loop.runNow();
  }

  /** Where the agent's delivery stands; `NOT_FOUND` when its spawn asked for none. */
  async get(agentId: string): Promise<AgentDelivery> {
    await this.#o.agents.get(agentId);
    const record = await this.#o.stores.deliveries.get(agentId);
    if (record === undefined) throw new FederationError('NOT_FOUND', 'the spawn of this agent asked for no delivery');
    return viewOf(record);
  }

  async #pass(): Promise<number> {
    const due = await this.#o.stores.deliveries.due(this.#o.now().getTime(), 20);
    let tried = 0;
    for (const record of due) {
      if (this.#loop.stopping) break;
      const key = `delivery:${record.agentId}`;
      if (!(await this.#o.leases.hold(key, this.#o.holder, DELIVERY_LEASE_MS))) continue;
      try {
        await this.#o.stores.deliveries.update(record.agentId, await this.#try(record));
        tried++;
      } finally {
        await this.#o.leases.release(key, this.#o.holder);
      }
    }
    return tried;
  }

  /** One try: the outcome to record. */
  async #try(record: DeliveryRecord): Promise<DeliveryChange> {
    const now = this.#o.now();
    const settled = { attempts: record.attempts, nextAttemptAt: record.nextAttemptAt, commit: null, pullRequest: null, updatedAt: now.toISOString() };
    const { status } = await this.#o.agents.get(record.agentId);
    if (status.status !== 'completed') return { ...settled, state: 'skipped', error: `the agent ended ${status.status}: nothing to deliver` };
    const ref = status.result?.bundle;
    if (ref === undefined) return { ...settled, state: 'skipped', error: 'the agent changed nothing: nothing to deliver' };
    const deliverer = this.#o.deliverer;
    if (deliverer === undefined) throw new Error('no deliverer');
    const attempts = record.attempts + 1;
    try {
      const { data } = await this.#o.agents.bundle(record.agentId);
      const { pullRequest } = record.request;
      const summary = status.result?.summary ?? '';
      const delivered = await deliverer.deliver({
        repository: record.repository,
        baseBranch: record.baseBranch,
        bundle: data,
        ref,
        branch: record.request.branch,
        pullRequest:
          pullRequest === false
            ? undefined
            : {
                title: (pullRequest === true ? undefined : pullRequest.title) ?? titleOf(record.taskId, summary),
                body: (pullRequest === true ? undefined : pullRequest.body) ?? summary,
                base: (pullRequest === true ? undefined : pullRequest.base) ?? record.baseBranch,
              },
      });
      this.#o.logger.info('delivered an agent branch', { agentId: record.agentId, branch: record.request.branch, commit: delivered.commit });
      return { ...settled, attempts, state: 'delivered', commit: delivered.commit, pullRequest: delivered.pullRequest ?? null, error: null };
    } catch (error) {
      const reason = error instanceof Error ? error.message : 'the delivery failed';
      this.#o.logger.warn('an agent branch was not delivered', { agentId: record.agentId, attempts, reason });
      const last = attempts >= this.#maxAttempts;
      return {
        ...settled,
        attempts,
        state: last ? 'failed' : 'waiting',
        nextAttemptAt: now.getTime() + backoffMs(attempts, { initialMs: 5_000, maxMs: 10 * 60 * 1000 }),
        error: reason,
      };
    }
  }
}

/** A pull request's default title: the task, and the summary's first line. */
function titleOf(taskId: string, summary: string): string {
  const first = summary.split('\n').find((line) => line.trim() !== '')?.trim() ?? '';
  return (first === '' ? taskId : `${taskId}: ${first}`).slice(0, 256);
}

function viewOf(record: DeliveryRecord): AgentDelivery {
  return {
    agentId: record.agentId,
    branch: record.request.branch,
    pullRequested: record.request.pullRequest !== false,
    state: record.state,
    attempts: record.attempts,
    commit: record.commit,
    pullRequest: record.pullRequest,
    error: record.error,
    updatedAt: record.updatedAt,
  };
}
