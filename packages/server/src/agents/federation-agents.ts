// The hub's side of agents: spawn on a peer, list, status (cached or refreshed), kill, the
// answer to an approval,
// the transcript and the bundle of commits read from the peer,
// and the status events peers send back, applied once per sequence and fanned out to
// event streams.
import {
  AgentBundleResponseSchema,
  AgentKillResponseSchema,
  AgentRespondResponseSchema,
  AgentSpawnResponseSchema,
  AgentStatusChangedPayloadSchema,
  AgentStatusSchema,
  AgentsStatusResponseSchema,
  agentsStatusAnswer,
  AgentTranscriptResponseSchema,
  FederationError,
  HubSpawnPayloadSchema,
  assembleBundle,
  canonicalJson,
  isFederationError,
  isTerminalState,
  spawningStatus,
  type AgentBundleRef,
  type AgentKillResponse,
  type AgentOwner,
  type AgentRespondResponse,
  type ApprovalAnswer,
  type AgentSpawnPayload,
  type DeliveryRequest,
  type HubSpawnPayloadInput,
  type AgentSpawnResponse,
  type AgentStatus,
  type AgentsStatusResponse,
  type AgentTranscriptResponse,
  type AuditActor,
  type AuditEntry,
  type ErrorCode,
} from '@mosaic-fed/core';
import { agentAccess, type Principal } from '../auth/principal.js';
import type { EventBus } from '../replicas/event-bus.js';
import type { PeerMessenger } from '../peers/messenger.js';
import type { MessageRouter } from '../messages/router.js';
import { BackgroundLoop } from '../lib/background.js';
import { sha256HexOfText } from '../lib/encoding.js';
import { describeError, type Logger } from '../logger.js';
import type { A2ARemoteAgents } from '../a2a/remote-agents.js';
import type { A2AAgentRecord, ConnectionRecord, FederationStores, RemoteAgentListQuery, RemoteAgentRecord, SpawnRequestRecord } from '../stores/types.js';

export interface FederationAgentServiceOptions {
  stores: FederationStores;
  messenger: PeerMessenger;
  events: EventBus;
  now: () => Date;
  generateId: () => string;
  logger: Logger;
  /** How long a spawn goes unanswered before it is sent again, in milliseconds. Default 30,000. */
  resendAfterMs?: number | undefined;
  /** Time between passes over unanswered spawns, in milliseconds. Default 15,000. */
  resendIntervalMs?: number | undefined;
  /** Whether this instance can deliver branches (`options.deliver`); spawns asking for it are refused otherwise. */
  canDeliver?: boolean | undefined;
  /** Told when an agent's status turns terminal here (a delivery may be due). */
  onTerminal?: ((agentId: string) => void) | undefined;
  /** A2A agents elsewhere: spawn targets beside the connections (docs/protocol.md, "A2A"). */
  a2a?: A2ARemoteAgents | undefined;
}

/** Where a spawn goes: the peer of a connection, or an A2A agent. */
type SpawnTarget = { connection: ConnectionRecord } | { a2a: A2AAgentRecord };

/** The target as the agent's record names it: a connection's peer, or the A2A agent's id twice. */
function targetIds(target: SpawnTarget): { connectionId: string; peerInstanceId: string } {
  return 'connection' in target
    ? { connectionId: target.connection.id, peerInstanceId: target.connection.peerInstanceId }
    : { connectionId: target.a2a.id, peerInstanceId: target.a2a.id };
}

/** Options of {@link FederationAgentService.spawn}. */
export interface SpawnOptions {
  /** PROTOCOL 6: the same key returns the same agent and starts nothing twice. Default: a new key. */
  idempotencyKey?: string | undefined;
  /** The user and workspace it is for (sent to the peer as `actor`); none: the instance's own. */
  owner?: AgentOwner | undefined;
  /** Stops waiting for the peer; the request stays recorded and is sent again later. */
  signal?: AbortSignal | undefined;
}

/** A peer keeps a message's jti for a day (PROTOCOL 2); a spawn is sent again within it. */
const SPAWN_RESEND_WINDOW_MS = 23 * 60 * 60 * 1000;

/**
 * Answers that say the peer started nothing: it refused the spawn, or could not run it
 * now (ORCHESTRATOR_UNAVAILABLE). Any other failure leaves the outcome open, and the
 * spawn is sent again until the peer's answer settles it.
 */
const SPAWN_REFUSALS: ReadonlySet<ErrorCode> = new Set<ErrorCode>([
  'ORCHESTRATOR_UNAVAILABLE',
  'VALIDATION_FAILED',
  'UNAUTHORIZED',
  'FORBIDDEN',
  'UNKNOWN_INSTANCE',
  'UNKNOWN_KEY',
  'CONNECTION_NOT_ACTIVE',
  'CAPABILITY_DISABLED',
  'RATE_LIMITED',
  'CONCURRENCY_LIMIT',
  'BUDGET_EXHAUSTED',
  'PAYLOAD_TOO_LARGE',
]);

/** Of what a spawn asks for: tells a retry from another request under the same key. */
function spawnRequestHash(connectionId: string, payload: AgentSpawnPayload, deliver: DeliveryRequest | undefined, owner: AgentOwner | null): Promise<string> {
  // The owner is part of the request: one user's key never answers another's spawn.
  const request = { connectionId, payload, ...(deliver === undefined ? {} : { deliver }), ...(owner === null ? {} : { owner }) };
  return sha256HexOfText(canonicalJson(request));
}

export class FederationAgentService {
  readonly #o: FederationAgentServiceOptions;
  readonly #resendAfterMs: number;
  readonly #resender: BackgroundLoop<number>;
  /** Passes since {@link start}. */
  #sinceStart = 1;

  constructor(options: FederationAgentServiceOptions) {
    this.#o = options;
    this.#resendAfterMs = options.resendAfterMs ?? 30_000;
    this.#resender = new BackgroundLoop(() => this.#resendPass(), {
      intervalMs: options.resendIntervalMs ?? 15_000,
      onError: (error) => options.logger.warn('could not send unanswered spawns again; will try again', describeError(error)),
    });
  }

  /** Registers the agent events peers send this instance. */
  register(router: MessageRouter): void {
    router.register({
        kind: 'EVENT',
        type: 'agent.status.changed',
        payload: AgentStatusChangedPayloadSchema,
        // Applied once per sequence, so a copy changes nothing. Not claimed before it runs:
        // a claim left unanswered by a store outage would hold the agent's later events,
        // which go out in order (PROTOCOL 5), for the claim's whole lease.
        safeToRepeat: true,
        handle: async (event, { message }) => {
          const agent = await this.#o.stores.remoteAgents.get(event.agentId);
          if (agent === undefined || agent.peerInstanceId !== message.iss) {
            throw new FederationError('NOT_FOUND', 'this instance did not spawn that agent there');
          }
          // PROTOCOL 5: a sequence at or below the one held is ignored; a terminal status,
          // its result included, never changes.
          const outcome = await this.#o.stores.remoteAgents.applyEvent(event.agentId, event);
          if (outcome === 'terminal') {
            const current = await this.get(event.agentId);
            throw new FederationError('AGENT_ALREADY_TERMINAL', `the agent is ${current.status.status} already`, { data: current.status });
          }
          if (outcome === 'applied') {
            await this.#o.events.publish(event.agentId, event);
            if (isTerminalState(event.status)) this.#o.onTerminal?.(event.agentId);
          }
          return { applied: outcome === 'applied' };
        },
      });
  }

  /**
   * Sends `agent.spawn` to the peer of an ACTIVE connection and records the agent. The
   * request is recorded first, under its `Idempotency-Key` (PROTOCOL 6) and with the `jti`
   * it goes out with: the same key returns the same agent, and a request whose answer was
   * lost (the peer did not answer in time, this process died) is sent again with that
   * `jti` until the peer's answer, from its message log, says which agent it is.
   */
  async spawn(connectionId: string, input: HubSpawnPayloadInput, actor: AuditActor, options: SpawnOptions = {}): Promise<AgentSpawnResponse> {
    const target = await this.#target(connectionId);
    // `options.deliver` is this instance's to act on: the peer's agent.spawn never carries it.
    const {
      options: { deliver, ...agentOptions },
      ...rest
    } = HubSpawnPayloadSchema.parse(input);
    const payload: AgentSpawnPayload = { ...rest, options: agentOptions };
    if (deliver !== undefined && this.#o.canDeliver !== true) {
      throw new FederationError('CAPABILITY_DISABLED', 'this instance cannot deliver branches: it has no deliverer (the Node entry has one)');
    }
    const owner = options.owner ?? null;
    const requestHash = await spawnRequestHash(connectionId, payload, deliver, owner);
    const request = await this.#o.stores.spawnRequests.begin({
      idempotencyKey: options.idempotencyKey ?? this.#o.generateId(),
      jti: this.#o.generateId(),
      connectionId,
      payload,
      deliver: deliver ?? null,
      requestHash,
      actor,
      owner,
      createdAt: this.#o.now().toISOString(),
      response: null,
    });
    if (request.requestHash !== requestHash) {
      throw new FederationError('MESSAGE_ID_CONFLICT', 'this Idempotency-Key was used for another spawn');
    }
    if (request.response !== null) return request.response;
    try {
      return await this.#send(request, target, options.signal);
    } catch (error) {
      if (isFederationError(error)) throw error;
      // Aborted, or no answer in time: the request stays recorded and is sent again.
      throw new FederationError('PEER_UNAVAILABLE', 'the peer did not answer in time; retry with the same Idempotency-Key', {
        retryAfter: 1,
        cause: error,
      });
    }
  }

  /**
   * Sends every recorded spawn that has had no answer for a while again, with its `jti`, so
   * each agent a peer runs for this instance ends known here. Answers how many were resolved.
   */
  resendUnanswered(): Promise<number> {
    return this.#resender.runNow();
  }

  /**
   * Starts sending unanswered spawns again in the background. The first pass takes every
   * spawn recorded before it: none of them is in flight in this process, and one in flight
   * elsewhere is answered once all the same (the peer knows its jti).
   */
  start(): void {
    this.#sinceStart = 0;
    this.#resender.start();
  }

  stop(): Promise<void> {
    return this.#resender.stop();
  }

  async #resendPass(): Promise<number> {
    const now = this.#o.now().getTime();
    const before = this.#sinceStart++ === 0 ? now : now - this.#resendAfterMs;
    const due = await this.#o.stores.spawnRequests.unanswered(new Date(before).toISOString(), 50);
    let resolved = 0;
    for (const request of due) {
      if (this.#resender.stopping) break;
      // A peer keeps a message's jti for a day (PROTOCOL 2): sent later, it would be new.
      if (Date.parse(request.createdAt) < now - SPAWN_RESEND_WINDOW_MS) {
        this.#o.logger.warn('gave up a spawn the peer never answered', { connectionId: request.connectionId, jti: request.jti });
        await this.#o.stores.spawnRequests.forget(request.idempotencyKey);
        continue;
      }
      const target = await this.#target(request.connectionId).catch(() => undefined);
      if (target === undefined) continue;
      try {
        const { agentId } = await this.#send(request, target);
        resolved += 1;
        if ('connection' in target) await this.#catchUp(agentId, target.connection);
      } catch (error) {
        this.#o.logger.info('a spawn is still unanswered; will send it again', { connectionId: request.connectionId, ...describeError(error) });
      }
    }
    return resolved;
  }

  /**
   * The status of an agent learned late: its first events may have come while this
   * instance did not know it. A status still in progress is stored; a terminal one is
   * left to its events, which the spoke keeps sending until they arrive, so the agent's
   * history here stays whole (a stored terminal status takes no event before it).
   */
  async #catchUp(agentId: string, connection: ConnectionRecord): Promise<void> {
    try {
      const status = await this.#askStatus(connection, agentId);
      if (!isTerminalState(status.status)) await this.#o.stores.remoteAgents.refreshStatuses([status]);
    } catch {
      // Its events bring it, as for any agent.
    }
  }

  /** `agent.status` of the peer that runs the agent. */
  async #askStatus(connection: ConnectionRecord, agentId: string, onBehalfOf?: AgentOwner): Promise<AgentStatus> {
    return AgentStatusSchema.parse(
      await this.#o.messenger.send(this.#o.messenger.target(connection), {
        kind: 'COMMAND',
        commandType: 'agent.status',
        payload: { agentId },
        ...actorOf(onBehalfOf),
      }),
    );
  }

  /** Sends a recorded spawn; records the agent it names, or forgets a refused request. */
  async #send(request: SpawnRequestRecord, target: SpawnTarget, signal?: AbortSignal): Promise<AgentSpawnResponse> {
    let response: AgentSpawnResponse;
    try {
      response =
        'a2a' in target
          ? await this.#a2a().spawn(target.a2a, request)
          : AgentSpawnResponseSchema.parse(
              await this.#o.messenger.send(
                this.#o.messenger.target(target.connection),
                { kind: 'COMMAND', commandType: 'agent.spawn', payload: request.payload, ...actorOf(request.owner ?? undefined) },
                { jti: request.jti, ...(signal === undefined ? {} : { signal }) },
              ),
            );
    } catch (error) {
      // The peer said no before running anything: the key may be used again.
      if (isFederationError(error) && SPAWN_REFUSALS.has(error.code)) await this.#o.stores.spawnRequests.forget(request.idempotencyKey);
      throw error;
    }
    await this.#record(request, targetIds(target), response);
    return response;
  }

  async #record(request: SpawnRequestRecord, target: { connectionId: string; peerInstanceId: string }, response: AgentSpawnResponse): Promise<void> {
    const { payload } = request;
    if ((await this.#o.stores.remoteAgents.get(response.agentId)) === undefined) {
      const at = this.#o.now().toISOString();
      if (request.deliver !== null) {
        // Before the agent: a delivery is never missing for an agent known here.
        await this.#o.stores.deliveries.create({
          agentId: response.agentId,
          request: request.deliver,
          repository: payload.context.repository,
          baseBranch: payload.context.branch,
          taskId: payload.taskId,
          state: 'waiting',
          attempts: 0,
          nextAttemptAt: 0,
          commit: null,
          pullRequest: null,
          error: null,
          createdAt: at,
          updatedAt: at,
        });
      }
      await this.#o.stores.remoteAgents.create({
        agentId: response.agentId,
        ...target,
        ...(request.owner === null ? {} : { owner: request.owner }),
        taskId: payload.taskId,
        agentType: payload.agentType,
        status: spawningStatus({ agentId: response.agentId, taskId: payload.taskId, agentType: payload.agentType, spawnedAt: response.spawnedAt }),
        sequence: 0,
        createdAt: at,
      });
      await this.#o.stores.audit.append({
        id: this.#o.generateId(),
        at,
        actor: request.actor,
        action: 'agent.spawn',
        target: `agent:${response.agentId}`,
        before: null,
        after: { ...target, taskId: payload.taskId, agentType: payload.agentType },
      });
    }
    await this.#o.stores.spawnRequests.answer(request.idempotencyKey, response);
  }

  /** Agents this instance spawned elsewhere, oldest first. */
  list(query: RemoteAgentListQuery) {
    return this.#o.stores.remoteAgents.list(query);
  }

  /**
   * The latest known status; with `refresh`, asked from the peer first. `as`, here and in
   * the other calls about an agent: who asks; a user sees the agents of their workspaces
   * only (`NOT_FOUND` for others), and the peer is told whom the instance acts for.
   */
  async status(agentId: string, refresh: boolean, as?: Principal): Promise<AgentStatus> {
    const { agent, onBehalfOf } = await this.#asked(agentId, as, 'see');
    if (!refresh) return agent.status;
    if (await this.#runsOnA2A(agentId)) return this.#a2a().refresh(agentId);
    const status = await this.#askStatus(await this.#activeConnection(agent.connectionId), agentId, onBehalfOf);
    await this.#o.stores.remoteAgents.refreshStatuses([status]);
    return status;
  }

  /**
   * The statuses of up to 500 agents this instance sent, asked from the peers that run them
   * in one `agents.status` per peer (and per workspace the instance acts for there): what
   * a refresh of many agents costs is one signed message per peer, not one per agent. Each
   * status is stored as a refresh is. Agents `as` may not see, or unknown here, are in
   * `notFound`; so are those the peer no longer knows. Agents on A2A agents are asked one
   * by one (A2A has no such query).
   */
  async statuses(agentIds: readonly string[], as?: Principal): Promise<AgentsStatusResponse> {
    // One read for them all; what `as` may not see is as unknown.
    const asked = (await this.#o.stores.remoteAgents.getMany(agentIds)).map((agent) => {
      try {
        return { agent, onBehalfOf: as === undefined ? undefined : agentAccess(as, agent, 'see') };
      } catch (error) {
        return notFoundOrThrow(error);
      }
    });
    const groups = new Map<string, { connectionId: string; onBehalfOf: AgentOwner | undefined; agentIds: string[] }>();
    for (const entry of asked) {
      if (entry === undefined) continue;
      const { agent, onBehalfOf } = entry;
      const key = `${agent.connectionId}\n${onBehalfOf?.workspaceId ?? ''}\n${onBehalfOf?.userId ?? ''}`;
      const group = groups.get(key) ?? { connectionId: agent.connectionId, onBehalfOf, agentIds: [] };
      group.agentIds.push(agent.agentId);
      groups.set(key, group);
    }
    const found = new Map<string, AgentStatus>();
    await Promise.all(
      [...groups.values()].map(async ({ connectionId, onBehalfOf, agentIds: ids }) => {
        // One look per group: the agents of one connection id all run on a peer, or all on an A2A agent.
        if (await this.#runsOnA2A(ids[0] ?? '')) {
          for (const agentId of ids) found.set(agentId, await this.#a2a().refresh(agentId));
          return;
        }
        const asked = new Set(ids);
        const answer = AgentsStatusResponseSchema.parse(
          await this.#o.messenger.send(this.#o.messenger.target(await this.#activeConnection(connectionId)), {
            kind: 'QUERY',
            queryType: 'agents.status',
            payload: { agentIds: ids },
            ...actorOf(onBehalfOf),
          }),
        );
        const answered = answer.agents.filter((status) => asked.has(status.agentId));
        await this.#o.stores.remoteAgents.refreshStatuses(answered);
        for (const status of answered) found.set(status.agentId, status);
      }),
    );
    return agentsStatusAnswer(agentIds, found);
  }

  /** A page of the agent's transcript, asked from the peer that runs it (`agent.transcript`). */
  async transcript(agentId: string, page: { cursor?: string | undefined; limit?: number | undefined } = {}, as?: Principal): Promise<AgentTranscriptResponse> {
    const { agent, onBehalfOf } = await this.#asked(agentId, as, 'see');
    if (await this.#runsOnA2A(agentId)) throw new FederationError('NOT_FOUND', 'an A2A agent shows no transcript of its steps');
    const connection = await this.#activeConnection(agent.connectionId);
    return AgentTranscriptResponseSchema.parse(
      await this.#o.messenger.send(this.#o.messenger.target(connection), {
        kind: 'QUERY',
        queryType: 'agent.transcript',
        payload: { agentId, ...(page.cursor === undefined ? {} : { cursor: page.cursor }), ...(page.limit === undefined ? {} : { limit: page.limit }) },
        ...actorOf(onBehalfOf),
      }),
    );
  }

  /**
   * The git bundle of a completed agent's commits, read from the peer in chunks
   * (`agent.bundle`) and checked against the digest and size in its status: whole and
   * verified, or an error. `NOT_FOUND` when its status names no bundle.
   */
  async bundle(agentId: string, as?: Principal): Promise<{ ref: AgentBundleRef; data: Uint8Array<ArrayBuffer> }> {
    const { agent, onBehalfOf } = await this.#asked(agentId, as, 'see');
    const ref = agent.status.status === 'completed' ? agent.status.result?.bundle : undefined;
    if (ref === undefined) throw new FederationError('NOT_FOUND', 'the agent left no bundle');
    const target = this.#o.messenger.target(await this.#activeConnection(agent.connectionId));
    const data = await assembleBundle(ref, async (offset) =>
      AgentBundleResponseSchema.parse(
        await this.#o.messenger.send(target, { kind: 'QUERY', queryType: 'agent.bundle', payload: { agentId, offset }, ...actorOf(onBehalfOf) }),
      ),
    );
    return { ref, data };
  }

  /** Sends `agent.kill` to the peer that runs the agent. */
  async kill(agentId: string, actor: AuditActor, as?: Principal): Promise<AgentKillResponse> {
    const { agent, onBehalfOf } = await this.#asked(agentId, as, 'act');
    const response = (await this.#runsOnA2A(agentId))
      ? await this.#a2a()
          .cancel(agentId)
          .then((): AgentKillResponse => ({ agentId, status: 'killed', killedAt: this.#o.now().toISOString() }))
      : AgentKillResponseSchema.parse(await this.#commandOnPeer(agent, onBehalfOf, 'agent.kill', { agentId }));
    await this.#o.stores.audit.append(agentKillAudit(this.#o, actor, agentId, { status: agent.status.status }));
    return response;
  }

  /**
   * Sends `agent.respond` to the peer that runs the agent: a person's answer to what it
   * waits for (PROTOCOL 5, Approvals). Answering takes the same right as stopping it.
   */
  async respond(agentId: string, answer: ApprovalAnswer, actor: AuditActor, as?: Principal): Promise<AgentRespondResponse> {
    const { agent, onBehalfOf } = await this.#asked(agentId, as, 'act');
    const response = (await this.#runsOnA2A(agentId))
      ? await this.#a2a().respond(agentId, answer)
      : AgentRespondResponseSchema.parse(await this.#commandOnPeer(agent, onBehalfOf, 'agent.respond', { agentId, ...answer }));
    await this.#o.stores.audit.append({
      id: this.#o.generateId(),
      at: this.#o.now().toISOString(),
      actor,
      action: 'agent.respond',
      target: `agent:${agentId}`,
      before: agent.status.pendingApproval === undefined ? null : { approvalId: agent.status.pendingApproval.id, kind: agent.status.pendingApproval.kind },
      after: { approvalId: answer.approvalId, decision: answer.decision },
    });
    return response;
  }

  /** `NOT_FOUND` for an agent this instance did not spawn, or one `as` may not see. */
  async get(agentId: string, as?: Principal): Promise<RemoteAgentRecord> {
    return (await this.#asked(agentId, as, 'see')).agent;
  }

  /**
   * The agent a call is about, checked for who asks (`need`: to see it, or to stop it), and
   * the user the instance acts for in its message to the peer (none: it acts for itself).
   */
  async #asked(agentId: string, as: Principal | undefined, need: 'see' | 'act'): Promise<{ agent: RemoteAgentRecord; onBehalfOf: AgentOwner | undefined }> {
    const agent = await this.#o.stores.remoteAgents.get(agentId);
    if (agent === undefined) throw new FederationError('NOT_FOUND', 'there is no such agent');
    return { agent, onBehalfOf: as === undefined ? undefined : agentAccess(as, agent, need) };
  }

  /** Sends a command about an agent to the peer that runs it, for whom the instance acts; the answer's data. */
  async #commandOnPeer(agent: RemoteAgentRecord, onBehalfOf: AgentOwner | undefined, commandType: 'agent.kill' | 'agent.respond', payload: unknown): Promise<unknown> {
    const connection = await this.#activeConnection(agent.connectionId);
    return this.#o.messenger.send(this.#o.messenger.target(connection), { kind: 'COMMAND', commandType, payload, ...actorOf(onBehalfOf) });
  }

  /** The peer of an ACTIVE connection, or else an A2A agent with that id; `NOT_FOUND` when neither. */
  async #target(connectionId: string): Promise<SpawnTarget> {
    const connection = await this.#o.stores.connections.get(connectionId);
    const agent = connection === undefined ? await this.#o.a2a?.agent(connectionId) : undefined;
    return agent === undefined ? { connection: activeOrRefused(connection) } : { a2a: agent };
  }

  async #runsOnA2A(agentId: string): Promise<boolean> {
    return this.#o.a2a !== undefined && (await this.#o.a2a.runs(agentId));
  }

  #a2a(): A2ARemoteAgents {
    if (this.#o.a2a === undefined) throw new FederationError('NOT_FOUND', 'this instance uses no A2A agents');
    return this.#o.a2a;
  }

  async #activeConnection(connectionId: string): Promise<ConnectionRecord> {
    return activeOrRefused(await this.#o.stores.connections.get(connectionId));
  }
}

/** `undefined` for `NOT_FOUND` (one answer for missing and not yours); any other error is thrown. */
function notFoundOrThrow(error: unknown): undefined {
  if (isFederationError(error) && error.code === 'NOT_FOUND') return undefined;
  throw error;
}

/** The connection, if it is ACTIVE: `NOT_FOUND` for none, `CONNECTION_NOT_ACTIVE` for another state. */
function activeOrRefused(connection: ConnectionRecord | undefined): ConnectionRecord {
  if (connection === undefined) throw new FederationError('NOT_FOUND', 'there is no such connection');
  if (connection.status !== 'ACTIVE') throw new FederationError('CONNECTION_NOT_ACTIVE', `the connection is ${connection.status}`);
  return connection;
}

/** A message's `actor`: the user the instance acts for, or nothing when it acts for itself. */
function actorOf(owner: AgentOwner | undefined): { actor: AgentOwner } | Record<never, never> {
  return owner === undefined ? {} : { actor: owner };
}

/** The audit entry of an agent stopped by an admin, here or on the peer that runs it. */
export function agentKillAudit(
  clock: { now: () => Date; generateId: () => string },
  actor: AuditActor,
  agentId: string,
  before: Record<string, string>,
): AuditEntry {
  return { id: clock.generateId(), at: clock.now().toISOString(), actor, action: 'agent.kill', target: `agent:${agentId}`, before, after: { status: 'killed' } };
}
