// The spoke's side of agents (PROTOCOL 5): agent.spawn, agent.status, agent.kill and
// agents.list from peers, ownership, the per-connection concurrency and spawn-rate
// limits, and watching each agent so its status changes reach the hub through the outbox.
import {
  AgentRefPayloadSchema,
  AgentSpawnPayloadSchema,
  AgentsListPayloadSchema,
  FederationError,
  isFederationError,
  isTerminalState,
  LIMITS,
  repositoryAllowed,
  type OrchestratorAdapter,
} from '@mosaic-fed/core';
import type { Outbox } from '../federation/outbox.js';
import type { RateLimiter } from '../federation/rate-limiter.js';
import type { MessageRouter } from '../federation/router.js';
import type { InstanceService } from '../instance/service.js';
import { describeError, type Logger } from '../logger.js';
import type { FederationStores, HostedAgentRecord } from '../stores/types.js';

export interface HostedAgentsOptions {
  stores: FederationStores;
  instance: InstanceService;
  orchestrator: OrchestratorAdapter | undefined;
  outbox: Outbox;
  rateLimiter: RateLimiter;
  now: () => Date;
  logger: Logger;
  /** The instance's repository patterns, for connections whose grants name none. */
  repositories: readonly string[];
}

/**
 * The agent id of a spawn: derived from the sender and the message id (a UUIDv8 of their
 * SHA-256), so the same logical spawn names the same agent however often it arrives, and
 * the orchestrator's idempotency by agent id does the rest.
 */
export async function deriveAgentId(issuer: string, jti: string): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(`${issuer}\n${jti}`)));
  const bytes = digest.slice(0, 16);
  bytes[6] = ((bytes[6] ?? 0) & 0x0f) | 0x80;
  bytes[8] = ((bytes[8] ?? 0) & 0x3f) | 0x80;
  const hex = Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** How many agents' owners {@link HostedAgents} remembers. */
const OWNERS_REMEMBERED = 4_096;

export class HostedAgents {
  readonly #o: HostedAgentsOptions;
  readonly #watching = new Map<string, AbortController>();
  readonly #retries = new Set<ReturnType<typeof setTimeout>>();
  /** Agent id to owner, for the agents asked about most recently (oldest dropped first). */
  readonly #owners = new Map<string, string>();

  constructor(options: HostedAgentsOptions) {
    this.#o = options;
  }

  /** Registers the agent commands and the agents.list query on the router. */
  register(router: MessageRouter): void {
    router
      .register({
        kind: 'COMMAND',
        type: 'agent.spawn',
        payload: AgentSpawnPayloadSchema,
        capability: 'supportsAgentSpawn',
        handle: async (spec, { message, connection }) => {
          const orchestrator = this.#orchestrator();
          if (!connection.grants.allowedAgentTypes.includes(spec.agentType)) {
            throw new FederationError('FORBIDDEN', `the connection's grants do not allow ${spec.agentType} agents`);
          }
          if (!repositoryAllowed(connection.grants.repositories ?? this.#o.repositories, spec.context.repository)) {
            throw new FederationError('FORBIDDEN', "the connection's grants do not allow this repository");
          }
          const { capabilities } = await this.#o.instance.load();
          if (!capabilities.agentTypes.includes(spec.agentType)) {
            throw new FederationError('CAPABILITY_DISABLED', `this instance does not run ${spec.agentType} agents`);
          }
          const rate = await this.#o.rateLimiter.hit(`spawn:${connection.id}`, connection.grants.spawnPerMinute, this.#o.now());
          if (!rate.allowed) {
            throw new FederationError('RATE_LIMITED', 'the connection spawned its allowance for this minute', {
              retryAfter: rate.retryAfter,
            });
          }
          const agentId = await deriveAgentId(message.iss, message.jti);
          const at = this.#o.now().toISOString();
          const record: HostedAgentRecord = {
            agentId,
            connectionId: connection.id,
            ownerInstanceId: message.iss,
            status: {
              agentId,
              taskId: spec.taskId,
              agentType: spec.agentType,
              status: 'spawning',
              attempt: 1,
              spawnedAt: at,
              startedAt: null,
              completedAt: null,
              progress: null,
              result: null,
              error: null,
            },
            sequence: 0,
            createdAt: at,
          };
          const reservation = await this.#o.stores.hostedAgents.reserve(record, connection.grants.maxConcurrentAgents);
          if (reservation === 'limit') {
            throw new FederationError(
              'CONCURRENCY_LIMIT',
              `the connection already has ${connection.grants.maxConcurrentAgents} agents running`,
            );
          }
          try {
            const response = await orchestrator.spawn({
              agentId,
              ownerInstanceId: message.iss,
              spec,
              ...(message.actor === undefined ? {} : { actor: message.actor }),
            });
            this.watch(agentId);
            return response;
          } catch (error) {
            // Nothing runs: give the place back so the numbers stay true.
            if (reservation === 'reserved') {
              this.#owners.delete(agentId);
              await this.#o.stores.hostedAgents.remove(agentId);
            }
            throw error;
          }
        },
      })
      .register({
        kind: 'COMMAND',
        type: 'agent.status',
        payload: AgentRefPayloadSchema,
        safeToRepeat: true,
        handle: async ({ agentId }, { message }) => {
          await this.#owned(agentId, message.iss);
          return this.#orchestrator().getStatus(agentId);
        },
      })
      .register({
        kind: 'COMMAND',
        type: 'agent.kill',
        payload: AgentRefPayloadSchema,
        handle: async ({ agentId }, { message }) => {
          await this.#owned(agentId, message.iss);
          return this.#orchestrator().kill(agentId);
        },
      })
      .register({
        kind: 'QUERY',
        type: 'agents.list',
        payload: AgentsListPayloadSchema,
        handle: async (query, { message }) => {
          const page = await this.#o.stores.hostedAgents.list({
            ownerInstanceId: message.iss,
            status: query.status,
            taskId: query.taskId,
            limit: query.limit ?? LIMITS.listLimitDefault,
            cursor: query.cursor,
          });
          return { agents: page.agents.map((agent) => agent.status), nextCursor: page.nextCursor };
        },
      });
  }

  /** Agents this instance runs for peers, oldest first. */
  list(query: { limit: number; cursor?: string | undefined }) {
    return this.#o.stores.hostedAgents.list(query);
  }

  /**
   * Follows an agent's status changes: each newer status is stored and queued for the
   * owner as `agent.status.changed`. Idempotent per agent. A lost stream (the
   * orchestrator restarting, say) is followed again after a growing pause.
   */
  watch(agentId: string, failures = 0): void {
    const orchestrator = this.#o.orchestrator;
    if (orchestrator === undefined || this.#watching.has(agentId)) return;
    const controller = new AbortController();
    this.#watching.set(agentId, controller);
    void (async () => {
      let retry = false;
      try {
        const record = await this.#o.stores.hostedAgents.get(agentId);
        if (record === undefined) return;
        for await (const event of orchestrator.watch(agentId, { afterSequence: record.sequence, signal: controller.signal })) {
          failures = 0;
          const { sequence, ...status } = event;
          if (await this.#o.stores.hostedAgents.updateStatus(agentId, status, sequence)) {
            await this.#o.outbox.enqueue(
              { connectionId: record.connectionId, peerInstanceId: record.ownerInstanceId },
              'agent.status.changed',
              event,
              // PROTOCOL 5: one agent's events reach the hub in sequence order.
              `agent:${agentId}`,
            );
          }
          if (isTerminalState(status.status)) break;
        }
      } catch (error) {
        if (!controller.signal.aborted) {
          retry = !(isFederationError(error) && error.code === 'NOT_FOUND');
          this.#o.logger.warn('lost the status of an agent', { agentId, willRetry: retry, ...describeError(error) });
        }
      } finally {
        this.#watching.delete(agentId);
        if (retry) this.#retryWatch(agentId, failures + 1);
      }
    })();
  }

  #retryWatch(agentId: string, failures: number): void {
    const timer = setTimeout(() => {
      this.#retries.delete(timer);
      this.watch(agentId, failures);
    }, Math.min(1_000 * 2 ** (failures - 1), 60_000));
    this.#retries.add(timer);
  }

  /** Watches every agent that is not terminal again, after a restart. */
  async resume(): Promise<void> {
    for (const agent of await this.#o.stores.hostedAgents.listActive()) this.watch(agent.agentId);
  }

  stop(): void {
    for (const controller of this.#watching.values()) controller.abort();
    this.#watching.clear();
    for (const timer of this.#retries) clearTimeout(timer);
    this.#retries.clear();
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
  async #owned(agentId: string, issuer: string): Promise<void> {
    let owner = this.#owners.get(agentId);
    if (owner === undefined) {
      owner = (await this.#o.stores.hostedAgents.get(agentId))?.ownerInstanceId;
      if (owner !== undefined) {
        if (this.#owners.size >= OWNERS_REMEMBERED) this.#owners.delete(this.#owners.keys().next().value ?? '');
        this.#owners.set(agentId, owner);
      }
    }
    if (owner !== issuer) throw new FederationError('NOT_FOUND', 'there is no such agent');
  }
}
