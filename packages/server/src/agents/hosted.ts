// The spoke's side of agents (PROTOCOL 5): agent.spawn, agent.status, agent.kill,
// agent.respond, agents.list, and the agent.transcript and agent.bundle reads from peers; ownership, by
// the peer and by the peer's workspace; the per-connection (and per-workspace)
// concurrency and spawn-rate limits; and watching each agent so its status changes reach
// the hub through the outbox.
// Watching is shared work: one replica at a time holds an agent's lease and renews it
// while it watches; when a replica dies, its leases lapse and the others take its agents.
import {
  addUsage,
  AgentBundlePayloadSchema,
  AgentRefPayloadSchema,
  AgentRespondPayloadSchema,
  AgentSpawnPayloadSchema,
  AgentsListPayloadSchema,
  AgentsStatusPayloadSchema,
  agentsStatusAnswer,
  AgentTranscriptPayloadSchema,
  backoffMs,
  FederationError,
  isFederationError,
  isTerminalState,
  LIMITS,
  mergeEgressRules,
  repositoryAllowed,
  spawningStatus,
  tokensOf,
  usageOf,
  type Actor,
  type AgentKillResponse,
  type AgentsStatusResponse,
  type AgentRespondResponse,
  type AgentSpawnPayload,
  type AgentStatus,
  type AgentStatusChangedPayload,
  type ApprovalAnswer,
  type Grants,
  type AgentSpawnResponse,
  type AgentTranscriptResponse,
  type AgentUsage,
  type AuditActor,
  type EstimatedCost,
  type OrchestratorAdapter,
  type WorkspaceGrants,
} from '@mosaic-fed/core';
import { sha256 } from '@mosaic-fed/core/util';
import type { Outbox } from '../jobs/outbox.js';
import { agentKillAudit } from './federation-agents.js';
import type { RateLimiter } from '../replicas/rate-limiter.js';
import type { MessageRouter } from '../messages/router.js';
import type { InstanceService } from '../instance/service.js';
import type { Leases } from '../replicas/leases.js';
import { BackgroundLoop, setBackgroundTimeout } from '../lib/background.js';
import { describeError, type Logger } from '../logger.js';
import type { AgentListQuery, ConnectionRecord, FederationStores, HostedAgentRecord, OutboxEntry } from '../stores/types.js';

export interface HostedAgentsOptions {
  stores: FederationStores;
  instance: InstanceService;
  orchestrator: OrchestratorAdapter | undefined;
  outbox: Outbox;
  rateLimiter: RateLimiter;
  now: () => Date;
  generateId: () => string;
  logger: Logger;
  /** The instance's repository patterns, for connections whose grants name none. */
  repositories: readonly string[];
  /** The instance's egress rules, which every connection's `egress` grant adds to. */
  egress: readonly string[];
  /** Who watches which agent; in memory for one process, on Valkey for replicas. */
  leases: Leases;
  /** This replica, as a holder of leases. */
  holder: string;
  /** The push notifications of a new status of an A2A client's agent: outbox entries, stored with the status as a peer's event is. */
  a2aNotifications?: ((event: AgentStatusChangedPayload) => Promise<OutboxEntry[]>) | undefined;
  /** How long a watch lease lasts unrenewed, in milliseconds. Default 10,000. */
  leaseMs?: number | undefined;
  /** Time between passes that renew leases and take unwatched agents, in milliseconds. Default 3,000. */
  claimIntervalMs?: number | undefined;
}

/**
 * The agent id of a spawn: derived from the sender and the message id (a UUIDv8 of their
 * SHA-256), so the same logical spawn names the same agent however often it arrives, and
 * the orchestrator's idempotency by agent id does the rest.
 */
export function deriveAgentId(issuer: string, jti: string): string {
  // In place: WebCrypto's digest is a trip to the thread pool that costs more than these few bytes.
  const bytes = sha256(new TextEncoder().encode(`${issuer}\n${jti}`)).slice(0, 16);
  bytes[6] = ((bytes[6] ?? 0) & 0x0f) | 0x80;
  bytes[8] = ((bytes[8] ?? 0) & 0x3f) | 0x80;
  const hex = Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** What grants narrow for one of the peer's workspaces, if they name it. */
function workspaceGrants(grants: Grants, workspaceId: string | undefined): WorkspaceGrants | undefined {
  const workspaces = grants.workspaces;
  return workspaceId === undefined || workspaces === undefined || !Object.hasOwn(workspaces, workspaceId) ? undefined : workspaces[workspaceId];
}

/** The peer as the audit log names it: its instance, its name here, and the user it acted for. */
function peerActor(connection: ConnectionRecord, message: { actor?: Actor | undefined }): AuditActor {
  return {
    type: 'peer',
    id: connection.peerInstanceId,
    label: connection.peerName,
    ...(message.actor === undefined ? {} : { onBehalfOf: message.actor }),
  };
}

/** Who a hosted agent runs for: a peer on its connection, or an A2A client (docs/protocol.md, "A2A"). */
export interface HostedPrincipal {
  /** The connection, or the A2A client: whose grants, limits and budgets the agent counts against. */
  id: string;
  /** Who alone may see and stop the agent: the peer's instance id, or the A2A client's id. */
  ownerId: string;
  grants: Grants;
  /** As the audit log names it. */
  auditActor: AuditActor;
  /** The peer's user (and workspace) the agent is for. */
  actor?: Actor | undefined;
  via?: 'a2a' | undefined;
}

/** Who asks about an agent: its owner's id (a peer's `iss`) and, for a peer's workspace, the actor. */
export interface AgentOwnerRef {
  iss: string;
  actor?: Actor | undefined;
}

/** The lease of watching one agent. */
const leaseOf = (agentId: string) => `watch:${agentId}`;

/** How many of a connection's newest agents its day's usage is read from. */
const USAGE_WINDOW = 500;

/** How many agents' owners {@link HostedAgents} remembers. */
const OWNERS_REMEMBERED = 4_096;

export class HostedAgents {
  readonly #o: HostedAgentsOptions;
  readonly #watching = new Map<string, AbortController>();
  readonly #retries = new Map<string, ReturnType<typeof setTimeout>>();
  /** Agent id to owner (and the owner's workspace), for the agents asked about most recently (oldest dropped first). */
  readonly #owners = new Map<string, { instanceId: string; workspaceId: string | undefined }>();
  readonly #leaseMs: number;
  readonly #claimer: BackgroundLoop<void>;

  constructor(options: HostedAgentsOptions) {
    this.#o = options;
    this.#leaseMs = options.leaseMs ?? 10_000;
    this.#claimer = new BackgroundLoop(() => this.#claimPass(), {
      intervalMs: options.claimIntervalMs ?? 3_000,
      onError: (error) => options.logger.warn('could not renew or take agents to watch; will try again', describeError(error)),
    });
  }

  /** Registers the agent commands and the agents.list query on the router. */
  register(router: MessageRouter): void {
    router
      .register({
        kind: 'COMMAND',
        type: 'agent.spawn',
        payload: AgentSpawnPayloadSchema,
        capability: 'supportsAgentSpawn',
        handle: async (spec, { message, connection }) =>
          this.spawn(
            {
              id: connection.id,
              ownerId: message.iss,
              grants: connection.grants,
              auditActor: peerActor(connection, message),
              ...(message.actor === undefined ? {} : { actor: message.actor }),
            },
            spec,
            deriveAgentId(message.iss, message.jti),
          ),
      })
      .register({
        kind: 'COMMAND',
        type: 'agent.status',
        payload: AgentRefPayloadSchema,
        safeToRepeat: true,
        handle: async ({ agentId }, { message }) => this.status(agentId, message),
      })
      .register({
        kind: 'COMMAND',
        type: 'agent.kill',
        payload: AgentRefPayloadSchema,
        handle: async ({ agentId }, { message, connection }) => this.kill(agentId, message, peerActor(connection, message)),
      })
      .register({
        kind: 'COMMAND',
        type: 'agent.respond',
        payload: AgentRespondPayloadSchema,
        // A peer that may start an agent answers what it asks (docs/protocol.md, "Approvals").
        grant: 'agent.spawn',
        handle: async ({ agentId, ...answer }, { message, connection }) => this.respond(agentId, answer, message, peerActor(connection, message)),
      })
      .register({
        kind: 'QUERY',
        type: 'agents.status',
        payload: AgentsStatusPayloadSchema,
        // Reading one's own agents, as agent.status does, and allowed with it.
        grant: 'agent.status',
        safeToRepeat: true,
        // Up to 500 statuses are too large to log for every query; a copy reads them again.
        answerNotKept: true,
        handle: async ({ agentIds }, { message }) => this.statuses(agentIds, message),
      })
      .register({
        kind: 'QUERY',
        type: 'agent.transcript',
        payload: AgentTranscriptPayloadSchema,
        // Reading one's own agent's record, as agent.status does, and allowed with it.
        grant: 'agent.status',
        handle: async ({ agentId, cursor, limit }, { message }) => {
          await this.#owned(agentId, message);
          const pageSize = limit ?? LIMITS.listLimitDefault;
          const entries = await this.#orchestrator().transcript(agentId, { after: Number(cursor ?? 0), limit: pageSize });
          const last = entries.at(-1);
          return { agentId, entries, nextCursor: entries.length === pageSize && last !== undefined ? String(last.index) : null };
        },
      })
      .register({
        kind: 'QUERY',
        type: 'agent.bundle',
        payload: AgentBundlePayloadSchema,
        grant: 'agent.status',
        // A completed agent's bundle never changes; its chunks are too large to log.
        answerNotKept: true,
        handle: async ({ agentId, offset, length }, { message }) => {
          await this.#owned(agentId, message);
          return this.#orchestrator().bundle(agentId, { offset, length });
        },
      })
      .register({
        kind: 'QUERY',
        type: 'agents.list',
        payload: AgentsListPayloadSchema,
        handle: async (query, { message }) => {
          const page = await this.#o.stores.hostedAgents.list({
            ownerInstanceId: message.iss,
            // For one of its workspaces, that workspace's agents alone.
            workspaceId: message.actor?.workspaceId,
            status: query.status,
            taskId: query.taskId,
            limit: query.limit ?? LIMITS.listLimitDefault,
            cursor: query.cursor,
          });
          return { agents: page.agents.map((agent) => agent.status), nextCursor: page.nextCursor };
        },
      });
  }

  /**
   * Starts an agent for a peer or an A2A client, within its grants: agent type, repository,
   * the instance's capabilities, spawn rate, budget and concurrency (the workspace's too, for a
   * peer's workspace). The same `agentId` again (a retried spawn) names the same agent.
   */
  async spawn(principal: HostedPrincipal, spec: AgentSpawnPayload, agentId: string): Promise<AgentSpawnResponse> {
    const orchestrator = this.#orchestrator();
    const { grants } = principal;
    const noun = principal.via === 'a2a' ? 'the A2A client' : 'the connection';
    // The workspace the peer spawns for narrows the connection's grants (docs/protocol.md, "Acting for users").
    const workspace = principal.actor?.workspaceId;
    const narrowed = workspaceGrants(grants, workspace);
    const whose = narrowed === undefined ? `${noun}'s grants` : `${noun}'s grants for workspace ${workspace ?? ''}`;
    if (!grants.allowedAgentTypes.includes(spec.agentType) || narrowed?.allowedAgentTypes?.includes(spec.agentType) === false) {
      throw new FederationError('FORBIDDEN', `${whose} do not allow ${spec.agentType} agents`);
    }
    if (
      !repositoryAllowed(grants.repositories ?? this.#o.repositories, spec.context.repository) ||
      (narrowed?.repositories !== undefined && !repositoryAllowed(narrowed.repositories, spec.context.repository))
    ) {
      throw new FederationError('FORBIDDEN', `${whose} do not allow this repository`);
    }
    const { capabilities } = await this.#o.instance.load();
    if (!capabilities.agentTypes.includes(spec.agentType)) {
      throw new FederationError('CAPABILITY_DISABLED', `this instance does not run ${spec.agentType} agents`);
    }
    const rate = await this.#o.rateLimiter.hit(`spawn:${principal.id}`, grants.spawnPerMinute, this.#o.now());
    if (!rate.allowed) {
      throw new FederationError('RATE_LIMITED', `${noun} spawned its allowance for this minute`, { retryAfter: rate.retryAfter });
    }
    await this.#withinBudget(principal.id, grants, noun);
    const at = this.#o.now().toISOString();
    const record: HostedAgentRecord = {
      agentId,
      connectionId: principal.id,
      ownerInstanceId: principal.ownerId,
      ...(principal.actor === undefined ? {} : { actor: principal.actor }),
      ...(principal.via === undefined ? {} : { via: principal.via }),
      status: spawningStatus({ agentId, taskId: spec.taskId, agentType: spec.agentType, spawnedAt: at }),
      sequence: 0,
      createdAt: at,
    };
    const reservation = await this.#o.stores.hostedAgents.reserve(
      record,
      { connection: grants.maxConcurrentAgents, workspace: narrowed?.maxConcurrentAgents },
      // Written with the reservation, in one step: every agent recorded here has its entry.
      {
        id: this.#o.generateId(),
        at,
        actor: principal.auditActor,
        action: 'agent.spawn',
        target: `agent:${agentId}`,
        before: null,
        after: { taskId: spec.taskId, agentType: spec.agentType, repository: spec.context.repository, branch: spec.context.branch },
      },
    );
    if (reservation === 'limit') {
      throw new FederationError('CONCURRENCY_LIMIT', `${noun} already has ${grants.maxConcurrentAgents} agents running`);
    }
    if (reservation === 'workspace-limit') {
      throw new FederationError(
        'CONCURRENCY_LIMIT',
        `workspace ${workspace ?? ''} already has ${narrowed?.maxConcurrentAgents ?? 0} agents running on the connection`,
      );
    }
    let response: AgentSpawnResponse;
    try {
      const egress = mergeEgressRules(this.#o.egress, grants.egress);
      response = await orchestrator.spawn({
        agentId,
        ownerInstanceId: principal.ownerId,
        spec,
        ...(principal.actor === undefined ? {} : { actor: principal.actor }),
        ...(egress.length === 0 ? {} : { egress }),
        ...(grants.maxTokensPerAgent === undefined ? {} : { maxTokens: grants.maxTokensPerAgent }),
        ...(grants.approvals === undefined ? {} : { approvals: grants.approvals }),
      });
      this.watch(agentId, 0, reservation === 'reserved' ? record : undefined);
    } catch (error) {
      // Nothing runs: give the place back so the numbers stay true, and say so after the spawn's entry.
      if (reservation === 'reserved') {
        this.#owners.delete(agentId);
        await this.#o.stores.hostedAgents.remove(agentId);
        await this.#o.stores.audit
          .append({
            id: this.#o.generateId(),
            at: this.#o.now().toISOString(),
            actor: principal.auditActor,
            action: 'agent.spawn.undone',
            target: `agent:${agentId}`,
            before: null,
            after: { reason: isFederationError(error) ? error.code : 'INTERNAL' },
          })
          .catch((failure: unknown) => this.#o.logger.error('could not write an undone spawn to the audit log', { agentId, ...describeError(failure) }));
      }
      throw error;
    }
    return response;
  }

  /** The owner's agent's status, from the orchestrator; `NOT_FOUND` for another's (PROTOCOL 5). */
  async status(agentId: string, owner: AgentOwnerRef): Promise<AgentStatus> {
    await this.#owned(agentId, owner);
    return this.#orchestrator().getStatus(agentId);
  }

  /**
   * The owner's agents' statuses among `agentIds`, as stored from their latest events, in
   * one read: the ids asked that are not the owner's (or not its workspace's) are
   * `notFound`, as missing ones are (PROTOCOL 5).
   */
  async statuses(agentIds: readonly string[], owner: AgentOwnerRef): Promise<AgentsStatusResponse> {
    const scope = owner.actor?.workspaceId;
    const found = new Map(
      (await this.#o.stores.hostedAgents.getMany(agentIds))
        .filter((record) => record.ownerInstanceId === owner.iss && (scope === undefined || record.actor?.workspaceId === scope))
        .map((record) => [record.agentId, record.status]),
    );
    return agentsStatusAnswer(agentIds, found);
  }

  /** The owner's agent's status events after `afterSequence`, as the orchestrator sends them. */
  async follow(agentId: string, owner: AgentOwnerRef, afterSequence: number, signal: AbortSignal): Promise<AsyncIterable<AgentStatusChangedPayload>> {
    await this.#owned(agentId, owner);
    return this.#orchestrator().watch(agentId, { afterSequence, signal });
  }

  /** Stops the owner's agent, audited as `actor`; `NOT_FOUND` for another's. */
  async kill(agentId: string, owner: AgentOwnerRef, actor: AuditActor): Promise<AgentKillResponse> {
    await this.#owned(agentId, owner);
    const response = await this.#orchestrator().kill(agentId);
    await this.#o.stores.audit.append(agentKillAudit(this.#o, actor, agentId, { ownerInstanceId: owner.iss }));
    return response;
  }

  /** Answers what the owner's agent waits for (PROTOCOL 5, Approvals), audited as `actor`. */
  async respond(agentId: string, answer: ApprovalAnswer, owner: AgentOwnerRef, actor: AuditActor): Promise<AgentRespondResponse> {
    await this.#owned(agentId, owner);
    const response = await this.#orchestrator().respond(agentId, answer);
    await this.#o.stores.audit
      .append({
        id: this.#o.generateId(),
        at: response.answeredAt,
        actor,
        action: 'agent.respond',
        target: `agent:${agentId}`,
        before: null,
        after: { approvalId: answer.approvalId, decision: answer.decision },
      })
      .catch((error: unknown) => this.#o.logger.error('could not write an answer to the audit log', { agentId, ...describeError(error) }));
    return response;
  }

  /**
   * What a connection's agents here used today (UTC): model tokens (cache tokens included)
   * of the agents that run now and of those that ended today, as their statuses last said
   * (their progress, turn by turn, while they run), with what the price table makes of them
   * when the orchestrator has one; minutes of running within today; and how many run now.
   * Read from the connection's 500 newest agents.
   */
  async usageToday(connectionId: string): Promise<{ tokens: number; agentMinutes: number; running: number; estimatedCost?: EstimatedCost }> {
    const now = this.#o.now();
    const today = `${now.toISOString().slice(0, 10)}T00:00:00.000Z`;
    const { agents } = await this.#o.stores.hostedAgents.list({ connectionId, newestFirst: true, limit: USAGE_WINDOW });
    let total: AgentUsage | undefined;
    let milliseconds = 0;
    let running = 0;
    for (const { status } of agents) {
      if (!isTerminalState(status.status)) running++;
      const usage = usageOf(status);
      if (usage !== undefined && (status.completedAt === null || status.completedAt >= today)) total = addUsage(total, usage);
      if (status.startedAt === null) continue;
      const from = Math.max(Date.parse(status.startedAt), Date.parse(today));
      const to = status.completedAt === null ? now.getTime() : Date.parse(status.completedAt);
      milliseconds += Math.max(0, to - from);
    }
    return {
      tokens: total === undefined ? 0 : tokensOf(total),
      agentMinutes: Math.floor(milliseconds / 60_000),
      running,
      ...(total?.estimatedCost === undefined ? {} : { estimatedCost: total.estimatedCost }),
    };
  }

  /** PROTOCOL 3's budgets: a spawn once the day's tokens or agent minutes are used up waits for midnight UTC. */
  async #withinBudget(id: string, grants: Grants, noun: string): Promise<void> {
    const { tokensPerDay, agentMinutesPerDay } = grants;
    if (tokensPerDay === undefined && agentMinutesPerDay === undefined) return;
    const used = await this.usageToday(id);
    const spent =
      tokensPerDay !== undefined && used.tokens >= tokensPerDay
        ? `its ${tokensPerDay.toLocaleString('en')} model tokens`
        : agentMinutesPerDay !== undefined && used.agentMinutes >= agentMinutesPerDay
          ? `its ${agentMinutesPerDay.toLocaleString('en')} agent minutes`
          : undefined;
    if (spent === undefined) return;
    const now = this.#o.now();
    const midnight = Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate() + 1);
    throw new FederationError('BUDGET_EXHAUSTED', `${noun} used ${spent} for today (UTC)`, {
      retryAfter: Math.max(1, Math.ceil((midnight - now.getTime()) / 1000)),
    });
  }

  /**
   * An agent this instance runs for a peer, as this instance's admin sees it: with the
   * orchestrator's latest status where it answers, the stored one otherwise.
   */
  async get(agentId: string): Promise<HostedAgentRecord> {
    const record = await this.#o.stores.hostedAgents.get(agentId);
    if (record === undefined) throw new FederationError('NOT_FOUND', 'there is no such agent');
    if (isTerminalState(record.status.status) || this.#o.orchestrator === undefined) return record;
    const status = await this.#o.orchestrator.getStatus(agentId).catch(() => undefined);
    return status === undefined ? record : { ...record, status };
  }

  /** The first steps of an agent this instance runs for a peer, for this instance's admin. */
  async transcript(agentId: string, limit: number): Promise<AgentTranscriptResponse> {
    await this.get(agentId);
    const entries = await this.#orchestrator().transcript(agentId, { after: 0, limit });
    const last = entries.at(-1);
    return { agentId, entries, nextCursor: entries.length === limit && last !== undefined ? String(last.index) : null };
  }

  /**
   * Stops an agent this instance runs for a peer, by this instance's admin: the machine is
   * theirs. The peer hears of it as of any other end, through the agent's status events.
   */
  async stopAgent(agentId: string, actor: AuditActor): Promise<AgentKillResponse> {
    const record = await this.get(agentId);
    const response = await this.#orchestrator().kill(agentId);
    await this.#o.stores.audit.append(agentKillAudit(this.#o, actor, agentId, { status: record.status.status, ownerInstanceId: record.ownerInstanceId }));
    return response;
  }

  /** Agents this instance runs for peers, as the stores' `list` orders and filters them. */
  list(query: AgentListQuery) {
    return this.#o.stores.hostedAgents.list(query);
  }

  /**
   * Follows an agent's status changes: each newer status is stored and queued for the
   * owner as `agent.status.changed`. Idempotent per agent. A lost stream (the
   * orchestrator restarting, say) is followed again after a growing pause.
   */
  watch(agentId: string, failures = 0, known?: HostedAgentRecord): void {
    const orchestrator = this.#o.orchestrator;
    if (orchestrator === undefined || this.#watching.has(agentId)) return;
    const controller = new AbortController();
    this.#watching.set(agentId, controller);
    void (async () => {
      let retry = false;
      let done = false;
      try {
        // Another replica watches it: nothing to do here.
        if (!(await this.#o.leases.hold(leaseOf(agentId), this.#o.holder, this.#leaseMs))) return;
        // Just recorded by this replica's spawn, or as stored.
        const record = known ?? (await this.#o.stores.hostedAgents.get(agentId));
        if (record === undefined) {
          done = true;
          return;
        }
        for await (const event of orchestrator.watch(agentId, { afterSequence: record.sequence, signal: controller.signal })) {
          failures = 0;
          const { sequence, ...status } = event;
          // What tells of the change goes in with it, or neither does: a process dying
          // between the two must not keep a status whose event never leaves.
          const tell = await this.#tell(record, event);
          if ((await this.#o.stores.hostedAgents.updateStatus(agentId, status, sequence, tell)) && tell.length > 0) this.#o.outbox.wake();
          if (isTerminalState(status.status)) {
            done = true;
            break;
          }
        }
      } catch (error) {
        if (!controller.signal.aborted) {
          retry = !(isFederationError(error) && error.code === 'NOT_FOUND');
          done = !retry;
          this.#o.logger.warn('lost the status of an agent', { agentId, willRetry: retry, ...describeError(error) });
        }
      } finally {
        if (this.#watching.get(agentId) === controller) this.#watching.delete(agentId);
        if (done) await this.#o.leases.release(leaseOf(agentId), this.#o.holder).catch(() => undefined);
        if (retry) this.#retryWatch(agentId, failures + 1);
      }
    })();
  }

  /**
   * The outbox entries that tell of an agent's new status: the event for its hub (in
   * sequence order, PROTOCOL 5), or an A2A client's push notifications (its client may
   * also stream or poll).
   */
  async #tell(record: HostedAgentRecord, event: AgentStatusChangedPayload): Promise<OutboxEntry[]> {
    if (record.via === 'a2a') return (await this.#o.a2aNotifications?.(event)) ?? [];
    const hub = { connectionId: record.connectionId, peerInstanceId: record.ownerInstanceId };
    return [this.#o.outbox.entry(hub, 'agent.status.changed', event, `agent:${record.agentId}`)];
  }

  #retryWatch(agentId: string, failures: number): void {
    const timer = setBackgroundTimeout(() => {
      this.#retries.delete(agentId);
      this.watch(agentId, failures);
    }, backoffMs(failures, { initialMs: 1_000, maxMs: 60_000 }));
    this.#retries.set(agentId, timer);
  }

  /**
   * One pass of the shared watching: renews the leases of the agents watched here (and
   * stops watching one whose lease another replica took), then watches every agent that
   * is not terminal and whose lease is free: one a dead replica watched, say.
   */
  async #claimPass(): Promise<void> {
    for (const [agentId, controller] of [...this.#watching]) {
      if (!(await this.#o.leases.hold(leaseOf(agentId), this.#o.holder, this.#leaseMs))) {
        controller.abort();
        this.#watching.delete(agentId);
      }
    }
    if (this.#o.orchestrator === undefined) return;
    for (const agent of await this.#o.stores.hostedAgents.listActive()) {
      if (this.#claimer.stopping) return;
      if (!this.#watching.has(agent.agentId) && !this.#retries.has(agent.agentId)) this.watch(agent.agentId);
    }
  }

  /** Starts the shared watching: at once, then every interval (after a restart too). */
  async resume(): Promise<void> {
    this.#claimer.start();
    await this.#claimer.runNow().catch(() => undefined);
  }

  /** Stops watching here, and gives the leases up so another replica takes them at once. */
  async stop(): Promise<void> {
    await this.#claimer.stop();
    const watched = [...this.#watching];
    for (const [, controller] of watched) controller.abort();
    this.#watching.clear();
    for (const timer of this.#retries.values()) clearTimeout(timer);
    this.#retries.clear();
    await Promise.all(watched.map(([agentId]) => this.#o.leases.release(leaseOf(agentId), this.#o.holder).catch(() => undefined)));
  }

  #orchestrator(): OrchestratorAdapter {
    if (this.#o.orchestrator === undefined) {
      throw new FederationError('ORCHESTRATOR_UNAVAILABLE', 'this instance has no orchestrator to run agents');
    }
    return this.#o.orchestrator;
  }

  // PROTOCOL 5, "Ownership": another instance's agent is NOT_FOUND, exactly like a missing
  // one. An agent's owner never changes (its id is derived from the owner's spawn), so the
  // owners of recently asked-about agents are remembered instead of read for every message.
  /**
   * Refuses, as if there were no such agent, a message about an agent its sender does not
   * own (PROTOCOL 5), or one sent for a workspace other than the agent's.
   */
  async #owned(agentId: string, message: AgentOwnerRef): Promise<void> {
    let owner = this.#owners.get(agentId);
    if (owner === undefined) {
      const record = await this.#o.stores.hostedAgents.get(agentId);
      if (record !== undefined) {
        owner = { instanceId: record.ownerInstanceId, workspaceId: record.actor?.workspaceId };
        if (this.#owners.size >= OWNERS_REMEMBERED) this.#owners.delete(this.#owners.keys().next().value ?? '');
        this.#owners.set(agentId, owner);
      }
    }
    const scope = message.actor?.workspaceId;
    if (owner?.instanceId !== message.iss || (scope !== undefined && owner.workspaceId !== scope)) {
      throw new FederationError('NOT_FOUND', 'there is no such agent');
    }
  }
}
