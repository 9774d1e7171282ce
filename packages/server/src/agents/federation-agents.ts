// The hub's side of agents: spawn on a peer, list, status (cached or refreshed), kill,
// and the status events peers send back, applied once per sequence and fanned out to
// event streams.
import {
  AgentKillResponseSchema,
  AgentSpawnResponseSchema,
  AgentStatusChangedPayloadSchema,
  AgentStatusSchema,
  FederationError,
  KeysRotatedPayloadSchema,
  type AgentKillResponse,
  type AgentSpawnPayloadInput,
  type AgentSpawnResponse,
  type AgentStatus,
  type AuditActor,
} from '@mosaic-fed/core';
import type { EventBus } from '../events/bus.js';
import type { PeerKeyring } from '../federation/keyring.js';
import type { PeerMessenger } from '../federation/messenger.js';
import type { MessageRouter } from '../federation/router.js';
import type { FederationStores, RemoteAgentRecord } from '../stores/types.js';

export interface FederationAgentServiceOptions {
  stores: FederationStores;
  messenger: PeerMessenger;
  keyring: PeerKeyring;
  events: EventBus;
  now: () => Date;
  generateId: () => string;
}

export class FederationAgentService {
  readonly #o: FederationAgentServiceOptions;

  constructor(options: FederationAgentServiceOptions) {
    this.#o = options;
  }

  /** Registers the events peers send this instance. */
  register(router: MessageRouter): void {
    router
      .register({
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
          if (outcome === 'applied') await this.#o.events.publish(event.agentId, event);
          return { applied: outcome === 'applied' };
        },
      })
      .register({
        kind: 'EVENT',
        type: 'federation.keys.rotated',
        payload: KeysRotatedPayloadSchema,
        handle: async ({ certificate }, { connection }) => {
          const updated = await this.#o.keyring.pinCertificate(connection, certificate);
          return { pinnedKids: updated.peerKeys.map((key) => key.kid) };
        },
      });
  }

  /** Sends `agent.spawn` to the peer of an ACTIVE connection and records the agent. */
  async spawn(connectionId: string, payload: AgentSpawnPayloadInput, actor: AuditActor): Promise<AgentSpawnResponse> {
    const connection = await this.#activeConnection(connectionId);
    const response = AgentSpawnResponseSchema.parse(
      await this.#o.messenger.send(this.#o.messenger.target(connection), {
        kind: 'COMMAND',
        commandType: 'agent.spawn',
        payload,
      }),
    );
    const at = this.#o.now().toISOString();
    const record: RemoteAgentRecord = {
      agentId: response.agentId,
      connectionId,
      peerInstanceId: connection.peerInstanceId,
      taskId: payload.taskId,
      agentType: payload.agentType,
      status: {
        agentId: response.agentId,
        taskId: payload.taskId,
        agentType: payload.agentType,
        status: 'spawning',
        attempt: 1,
        spawnedAt: response.spawnedAt,
        startedAt: null,
        completedAt: null,
        progress: null,
        result: null,
        error: null,
      },
      sequence: 0,
      createdAt: at,
    };
    await this.#o.stores.remoteAgents.create(record);
    await this.#o.stores.audit.append({
      id: this.#o.generateId(),
      at,
      actor,
      action: 'agent.spawn',
      target: `agent:${response.agentId}`,
      before: null,
      after: { connectionId, peerInstanceId: connection.peerInstanceId, taskId: payload.taskId, agentType: payload.agentType },
    });
    return response;
  }

  /** Agents this instance spawned elsewhere, oldest first. */
  list(query: { limit: number; cursor?: string | undefined }) {
    return this.#o.stores.remoteAgents.list(query);
  }

  /** The latest known status; with `refresh`, asked from the peer first. */
  async status(agentId: string, refresh: boolean): Promise<AgentStatus> {
    const agent = await this.get(agentId);
    if (!refresh) return agent.status;
    const connection = await this.#activeConnection(agent.connectionId);
    const status = AgentStatusSchema.parse(
      await this.#o.messenger.send(this.#o.messenger.target(connection), {
        kind: 'COMMAND',
        commandType: 'agent.status',
        payload: { agentId },
      }),
    );
    await this.#o.stores.remoteAgents.refreshStatus(agentId, status);
    return status;
  }

  /** Sends `agent.kill` to the peer that runs the agent. */
  async kill(agentId: string, actor: AuditActor): Promise<AgentKillResponse> {
    const agent = await this.get(agentId);
    const connection = await this.#activeConnection(agent.connectionId);
    const response = AgentKillResponseSchema.parse(
      await this.#o.messenger.send(this.#o.messenger.target(connection), {
        kind: 'COMMAND',
        commandType: 'agent.kill',
        payload: { agentId },
      }),
    );
    await this.#o.stores.audit.append({
      id: this.#o.generateId(),
      at: this.#o.now().toISOString(),
      actor,
      action: 'agent.kill',
      target: `agent:${agentId}`,
      before: { status: agent.status.status },
      after: { status: 'killed' },
    });
    return response;
  }

  /** `NOT_FOUND` for an agent this instance did not spawn. */
  async get(agentId: string): Promise<RemoteAgentRecord> {
    const agent = await this.#o.stores.remoteAgents.get(agentId);
    if (agent === undefined) throw new FederationError('NOT_FOUND', 'there is no such agent');
    return agent;
  }

  async #activeConnection(connectionId: string) {
    const connection = await this.#o.stores.connections.get(connectionId);
    if (connection === undefined) throw new FederationError('NOT_FOUND', 'there is no such connection');
    if (connection.status !== 'ACTIVE') {
      throw new FederationError('CONNECTION_NOT_ACTIVE', `the connection is ${connection.status}`);
    }
    return connection;
  }
}
