// FederationClient: an app that holds an instance identity talks straight to a peer that
// has an ACTIVE connection with that identity: spawn, status, kill, list, watch, and read
// an agent's transcript and bundle.
import {
  assembleBundle,
  COMMAND_SCHEMAS,
  FederationError,
  isTerminalState,
  parseOrThrow,
  QUERY_SCHEMAS,
  type Actor,
  type AgentBundlePayload,
  type AgentBundleResponse,
  type AgentRespondResponse,
  type ApprovalAnswer,
  type CommandType,
  type AgentKillResponse,
  type AgentSpawnPayloadInput,
  type AgentSpawnResponse,
  type AgentStatus,
  type AgentsListPayload,
  type AgentsListResponse,
  type AgentsStatusResponse,
  type AgentTranscriptPayload,
  type AgentTranscriptResponse,
  type KeyResolver,
  type PublicJwk,
  type QueryType,
  type SigningKey,
} from '@mosaic-fed/core';
import { sleep } from './lib/sleep.js';
import type { z } from 'zod';
import { parseAnswer } from './lib/parse.js';
import { pinnedKeys, sendMessage, type RetryOptions } from './transport.js';

/** The peer as pinned on the connection. */
export interface PeerIdentity {
  instanceId: string;
  url: string;
  /** The peer's public keys (from its instance document when the connection was made). */
  keys: readonly PublicJwk[];
}

/** Options for {@link FederationClient.create}. */
export interface FederationClientOptions extends RetryOptions {
  /** The sending instance's id (`iss`). */
  instanceId: string;
  /** The sending instance's current key, imported once. */
  signingKey: SigningKey;
  peer: PeerIdentity;
  /** The user on whose behalf the app acts, sent as `actor`. */
  actor?: Actor;
  fetch?: typeof fetch;
  now?: () => Date;
  /** Per-attempt timeout in milliseconds. Default 15,000. */
  timeoutMs?: number;
  /** Overrides how the peer's RESPONSE keys are chosen (for rotation-aware callers). */
  resolveKey?: KeyResolver;
}

/** Per-call options. */
export interface CallOptions {
  /** Reuse this jti: the call is then the same logical message as an earlier one. */
  jti?: string;
  signal?: AbortSignal;
}

/** Options for {@link FederationClient.watch}. */
export interface WatchOptions {
  /** How often to ask, in milliseconds. Default 1,000. */
  intervalMs?: number;
  signal?: AbortSignal;
}

/**
 * Sends signed agent commands to one peer and verifies its signed answers. Every method
 * throws a `FederationError` whose `code` is the protocol's (`NOT_FOUND`, `FORBIDDEN`,
 * `AGENT_ALREADY_TERMINAL`, ...). Calls are retried on a lost answer with the same jti,
 * so a retried spawn never creates a second agent.
 *
 * @example
 * ```ts
 * const client = await FederationClient.create({ instanceId, signingKey, peer });
 * const { agentId } = await client.spawn({ taskId: 't-1', agentType: 'worker', context });
 * for await (const status of client.watch(agentId)) console.log(status.status);
 * ```
 */
export class FederationClient {
  readonly #options: FederationClientOptions;
  readonly #resolveKey: KeyResolver;

  private constructor(options: FederationClientOptions, resolveKey: KeyResolver) {
    this.#options = options;
    this.#resolveKey = resolveKey;
  }

  /** Creates a client; the peer's keys are imported here, once. */
  static async create(options: FederationClientOptions): Promise<FederationClient> {
    if (options.peer.keys.length === 0 && options.resolveKey === undefined) {
      throw new TypeError('the peer needs at least one pinned key');
    }
    return new FederationClient(
      options,
      options.resolveKey ?? (await pinnedKeys(options.peer.instanceId, options.peer.keys)),
    );
  }

  /** `agent.spawn`: starts an agent on the peer. */
  spawn(payload: AgentSpawnPayloadInput, options: CallOptions = {}): Promise<AgentSpawnResponse> {
    return this.command('agent.spawn', payload, options);
  }

  /** `agent.status`: the agent's current status. `NOT_FOUND` for an agent that is not ours. */
  status(agentId: string, options: CallOptions = {}): Promise<AgentStatus> {
    return this.command('agent.status', { agentId }, options);
  }

  /** `agent.kill`: stops the agent. Killing a killed agent answers the same again. */
  kill(agentId: string, options: CallOptions = {}): Promise<AgentKillResponse> {
    return this.command('agent.kill', { agentId }, options);
  }

  /**
   * `agent.respond`: answers the approval the agent waits for (its status's
   * `pendingApproval`); the agent goes on once it reads the answer.
   */
  respond(agentId: string, answer: ApprovalAnswer, options: CallOptions = {}): Promise<AgentRespondResponse> {
    return this.command('agent.respond', { agentId, ...answer }, options);
  }

  /**
   * `agents.status`: the statuses of up to 500 of this instance's agents on the peer in one
   * signed message; the ids that are not ours (or do not exist) come back in `notFound`.
   */
  statuses(agentIds: readonly string[], options: CallOptions = {}): Promise<AgentsStatusResponse> {
    return this.query('agents.status', { agentIds: [...agentIds] }, options);
  }

  /** `agents.list`: this instance's agents on the peer, a page at a time. */
  list(query: AgentsListPayload = {}, options: CallOptions = {}): Promise<AgentsListResponse> {
    return this.query('agents.list', query, options);
  }

  /** `agent.transcript`: a page of the agent's transcript; `NOT_FOUND` for an agent that is not ours. */
  transcript(agentId: string, page: Omit<AgentTranscriptPayload, 'agentId'> = {}, options: CallOptions = {}): Promise<AgentTranscriptResponse> {
    return this.query('agent.transcript', { agentId, ...page }, options);
  }

  /** `agent.bundle`: one chunk of a completed agent's bundle, from `range.offset`. */
  bundleChunk(agentId: string, range: Omit<AgentBundlePayload, 'agentId'>, options: CallOptions = {}): Promise<AgentBundleResponse> {
    return this.query('agent.bundle', { agentId, ...range }, options);
  }

  /**
   * The whole git bundle of a completed agent's commits, read chunk by chunk and checked
   * against the digest and size in its status (`result.bundle`). `NOT_FOUND` when it left none.
   */
  async bundle(agentId: string, options: CallOptions = {}): Promise<Uint8Array> {
    const status = await this.status(agentId, options);
    const ref = status.status === 'completed' ? status.result?.bundle : undefined;
    if (ref === undefined) throw new FederationError('NOT_FOUND', 'the agent left no bundle');
    return assembleBundle(ref, (offset) => this.bundleChunk(agentId, { offset }, options));
  }

  /**
   * Yields the agent's status each time it changes, ending after a terminal status.
   * Asks the peer every `intervalMs`.
   */
  async *watch(agentId: string, options: WatchOptions = {}): AsyncGenerator<AgentStatus, void, undefined> {
    const interval = options.intervalMs ?? 1_000;
    let previous: string | undefined;
    while (options.signal?.aborted !== true) {
      const status = await this.status(agentId, options.signal === undefined ? {} : { signal: options.signal });
      const fingerprint = JSON.stringify(status);
      if (fingerprint !== previous) {
        previous = fingerprint;
        yield status;
      }
      if (isTerminalState(status.status)) return;
      await sleep(interval, options.signal).catch(() => undefined);
    }
  }

  /** Sends any registered command type; the payload and answer are checked with its schemas. */
  async command<T extends CommandType>(
    type: T,
    payload: z.input<(typeof COMMAND_SCHEMAS)[T]['payload']>,
    options: CallOptions = {},
  ): Promise<z.output<(typeof COMMAND_SCHEMAS)[T]['response']>> {
    const schemas = COMMAND_SCHEMAS[type];
    const data = await this.#send(
      { kind: 'COMMAND', commandType: type, payload: parseOrThrow(schemas.payload, payload, `${type} payload`) },
      options,
    );
    return parseAnswer(schemas.response, data, type) as z.output<(typeof COMMAND_SCHEMAS)[T]['response']>;
  }

  /** Sends any registered query type. */
  async query<T extends QueryType>(
    type: T,
    payload: z.input<(typeof QUERY_SCHEMAS)[T]['payload']>,
    options: CallOptions = {},
  ): Promise<z.output<(typeof QUERY_SCHEMAS)[T]['response']>> {
    const schemas = QUERY_SCHEMAS[type];
    const data = await this.#send(
      { kind: 'QUERY', queryType: type, payload: parseOrThrow(schemas.payload, payload, `${type} payload`) },
      options,
    );
    return parseAnswer(schemas.response, data, type) as z.output<(typeof QUERY_SCHEMAS)[T]['response']>;
  }

  #send(
    body: { kind: 'COMMAND'; commandType: string; payload: unknown } | { kind: 'QUERY'; queryType: string; payload: unknown },
    options: CallOptions,
  ): Promise<unknown> {
    const o = this.#options;
    return sendMessage(
      {
        ...body,
        iss: o.instanceId,
        aud: o.peer.instanceId,
        ...(o.actor === undefined ? {} : { actor: o.actor }),
        ...(options.jti === undefined ? {} : { jti: options.jti }),
      },
      {
        url: o.peer.url,
        selfId: o.instanceId,
        signingKey: o.signingKey,
        resolveKey: this.#resolveKey,
        ...(o.fetch === undefined ? {} : { fetch: o.fetch }),
        ...(o.now === undefined ? {} : { now: o.now }),
        ...(o.timeoutMs === undefined ? {} : { timeoutMs: o.timeoutMs }),
        ...(o.retries === undefined ? {} : { retries: o.retries }),
        ...(o.backoffMs === undefined ? {} : { backoffMs: o.backoffMs }),
        ...(options.signal === undefined ? {} : { signal: options.signal }),
      },
    );
  }
}
