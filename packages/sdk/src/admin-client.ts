// AdminClient: a typed client of an instance's own API (PROTOCOL 6), for apps and scripts
// that configure an instance, manage its connections and spawn, watch and kill agents
// through it. Every answer is checked against core's schemas.
import {
  AgentsStatusResponseSchema,
  type AgentsStatusResponse,
  A2AAgentSchema,
  type A2AAgent,
  type AddA2AAgentDto,
  A2AClientCreatedSchema,
  A2AClientSchema,
  type A2AClient,
  type A2AClientCreated,
  type CreateA2AClientDto,
  type UpdateA2AClientDto,
  AdminTokenSchema,
  MembershipSchema,
  PrincipalViewSchema,
  UserSchema,
  WorkspaceSchema,
  type AdminToken,
  type CreateUserDto,
  type CreateUserTokenDto,
  type CreateWorkspaceDto,
  type Membership,
  type PrincipalView,
  type UpdateWorkspaceDto,
  type User,
  type Workspace,
  type WorkspaceRole,
  AgentDeliverySchema,
  AgentKillResponseSchema,
  AgentRespondResponseSchema,
  AgentsOverviewSchema,
  HostedAgentSchema,
  AgentSpawnResponseSchema,
  AgentStatusSchema,
  AgentTranscriptResponseSchema,
  AuditPageSchema,
  ConnectionSchema,
  FederationError,
  GitCredentialSchema,
  InstanceConfigurationSchema,
  isFederationError,
  RegenerateKeysResponseSchema,
  sha256Hex,
  type AgentDelivery,
  type AgentKillResponse,
  type AgentRespondResponse,
  type ApprovalAnswer,
  type AgentsOverview,
  type HostedAgent,
  type AgentsOverviewQuery,
  type AgentSpawnResponse,
  type AgentStatus,
  type AgentStatusChangedPayload,
  type AgentTranscriptResponse,
  type AuditPage,
  type Connection,
  type ConnectionStatus,
  type GitCredential,
  type GitCredentialDto,
  type InstanceConfiguration,
  type AuditQuery,
  type RegenerateKeysResponse,
  type SpawnAgentDto,
  type UpdateGrantsDto,
  type UpdateInstanceDto,
} from '@mosaic-fed/core';
import { z } from 'zod';
import { downloadBearerApi, readAgentEvents, requestBearerApi, type BearerApiOptions } from './bearer-api.js';
import { parseAnswer } from './lib/parse.js';
import { sleep } from './lib/sleep.js';


/** Options for {@link AdminClient}. */
export interface AdminClientOptions {
  /** The instance's base URL, such as `https://hub.example.com`. */
  url: string;
  /**
   * An admin token (`mfa_...`), an OIDC access token with the admin claim, or a user's
   * token: a user reaches the agents of their workspaces and `me`, nothing else.
   */
  token: string;
  fetch?: typeof fetch;
  /** Timeout of each call in milliseconds (not of event streams). Default 30,000. */
  timeoutMs?: number;
}

/** Options for {@link AdminClient.events}. */
export interface AgentEventsOptions {
  /** Resume after this event id (a `sequence`): only later events are yielded. */
  lastEventId?: string | number;
  signal?: AbortSignal;
  /** Wait before reconnecting a dropped stream, in milliseconds. Default 1,000, or what the server asks. */
  reconnectDelayMs?: number;
  /** Reconnections in a row without an event before giving up. Default 5. */
  maxReconnects?: number;
}

/** Options for {@link AdminClient.spawn}. */
export interface SpawnCallOptions {
  /** PROTOCOL 6: the same key returns the same agent. Default: a new key for this call (and its retries). */
  idempotencyKey?: string;
  /** Tries after the first when the instance or the peer could not answer. Default 2. */
  retries?: number;
  signal?: AbortSignal;
}

/** Failures after which the same spawn, under the same key, may be sent again. */
const RETRYABLE_SPAWN: ReadonlySet<string> = new Set(['PEER_UNAVAILABLE', 'ORCHESTRATOR_UNAVAILABLE', 'MESSAGE_IN_PROGRESS']);

/** A connection action of PROTOCOL 6 (`POST /connections/:id/<action>`). */
export type ConnectionAction = 'accept' | 'reject' | 'disconnect' | 'suspend' | 'resume';

const ConnectionListSchema = z.array(ConnectionSchema);
const UserListSchema = z.array(UserSchema);
const WorkspaceListSchema = z.array(WorkspaceSchema);
const MembershipListSchema = z.array(MembershipSchema);
const UserTokenSchema = z.strictObject({ token: z.string().min(1), record: AdminTokenSchema });
const GitCredentialListSchema = z.array(GitCredentialSchema);

/**
 * Drives an instance's own API with an admin credential. Failures throw a
 * `FederationError` carrying the protocol `code` (`UNAUTHORIZED`, `VALIDATION_FAILED`
 * with `details`, `NOT_FOUND`, ...).
 *
 * @example
 * ```ts
 * const hub = new AdminClient({ url: 'http://127.0.0.1:4747', token: process.env.MOSAIC_FED_TOKEN! });
 * const connection = await hub.connect('https://spoke.example.com');
 * const { agentId } = await hub.spawn({ connectionId: connection.id, payload });
 * for await (const event of hub.events(agentId)) console.log(event.sequence, event.status);
 * ```
 */
export class AdminClient {
  readonly #api: BearerApiOptions;

  constructor(options: AdminClientOptions) {
    if (!URL.canParse(options.url)) throw new TypeError('AdminClient: `url` must be an absolute URL');
    if (typeof options.token !== 'string' || options.token.length === 0) {
      throw new TypeError('AdminClient: `token` must be a non-empty string');
    }
    this.#api = {
      baseUrl: new URL('/api/v1/federation/', options.url),
      token: options.token,
      fetch: options.fetch ?? ((input, init) => fetch(input, init)),
      timeoutMs: options.timeoutMs ?? 30_000,
      // Not this client's fault and worth another try (a spawn, with the same key).
      unreachable: (cause) => {
        const reason = cause instanceof Error ? cause.message : 'unknown failure';
        return new FederationError('PEER_UNAVAILABLE', `the instance could not be reached: ${reason}`, { cause });
      },
    };
  }

  /** Identity and configuration: the public keys, never the private key. */
  instance(): Promise<InstanceConfiguration> {
    return this.#call('GET', 'instance', InstanceConfigurationSchema);
  }

  /** Changes the name, capabilities or metadata; audit-logged with before and after. */
  updateInstance(dto: UpdateInstanceDto): Promise<InstanceConfiguration> {
    return this.#call('PATCH', 'instance', InstanceConfigurationSchema, dto);
  }

  /** A new keypair and rotation certificate; peers are told, the old key stays for its grace period. */
  regenerateKeys(): Promise<RegenerateKeysResponse> {
    return this.#call('POST', 'instance/regenerate-keys', RegenerateKeysResponseSchema);
  }

  /**
   * The audit log, newest first, kept to an `action` (and those below it), an `actor` (an
   * id or a kind) and a time span; pass the previous page's `nextCursor` for the next.
   */
  audit(query: Partial<AuditQuery> = {}): Promise<AuditPage> {
    return this.#call('GET', `audit${searchOf(query)}`, AuditPageSchema);
  }

  /** Connections, oldest first, optionally of one status. */
  connections(filter: { status?: ConnectionStatus } = {}): Promise<Connection[]> {
    return this.#call('GET', `connections${searchOf(filter)}`, ConnectionListSchema);
  }

  connection(id: string): Promise<Connection> {
    return this.#call('GET', `connections/${encodeURIComponent(id)}`, ConnectionSchema);
  }

  /** Asks the instance at `url` for a connection; it is `PENDING` until the peer accepts. */
  connect(url: string): Promise<Connection> {
    return this.#call('POST', 'connections', ConnectionSchema, { url });
  }

  accept(id: string): Promise<Connection> {
    return this.#connectionAction(id, 'accept');
  }

  reject(id: string): Promise<Connection> {
    return this.#connectionAction(id, 'reject');
  }

  disconnect(id: string): Promise<Connection> {
    return this.#connectionAction(id, 'disconnect');
  }

  suspend(id: string): Promise<Connection> {
    return this.#connectionAction(id, 'suspend');
  }

  resume(id: string): Promise<Connection> {
    return this.#connectionAction(id, 'resume');
  }

  /** Changes what the peer may do here; omitted grants keep their values. */
  updateGrants(id: string, grants: UpdateGrantsDto): Promise<Connection> {
    return this.#call('PATCH', `connections/${encodeURIComponent(id)}`, ConnectionSchema, grants);
  }

  /**
   * Sends `agent.spawn` to the peer of an ACTIVE connection. Safe to retry (PROTOCOL 6):
   * the call carries an `Idempotency-Key` (given, or a new one), and when the instance or
   * the peer could not answer it is sent again with the same key, which returns the same
   * agent and starts nothing twice.
   */
  async spawn(request: SpawnAgentDto, options: SpawnCallOptions = {}): Promise<AgentSpawnResponse> {
    const headers = { 'Idempotency-Key': options.idempotencyKey ?? crypto.randomUUID() };
    const retries = options.retries ?? 2;
    for (let attempt = 0; ; attempt++) {
      try {
        const answer = await requestBearerApi(this.#api, 'POST', 'agents/spawn', request, { headers, signal: options.signal });
        return parseAnswer(AgentSpawnResponseSchema, answer, 'POST agents/spawn');
      } catch (error) {
        if (attempt >= retries || options.signal?.aborted === true || !isFederationError(error) || !RETRYABLE_SPAWN.has(error.code)) throw error;
        await sleep(Math.min(error.retryAfter ?? 1, 5) * 1_000, options.signal);
      }
    }
  }

  /** The git credentials of a Node instance, by host: never a password. */
  gitCredentials(): Promise<GitCredential[]> {
    return this.#call('GET', 'git-credentials', GitCredentialListSchema);
  }

  /**
   * Sets the credential a Node instance's clones answer `host` with (`github.com`, or
   * `host:port`). It stays on that host: no sandbox, prompt or log line gets it.
   */
  setGitCredential(host: string, credential: GitCredentialDto): Promise<GitCredential> {
    return this.#call('PUT', `git-credentials/${encodeURIComponent(host)}`, GitCredentialSchema, credential);
  }

  /** Removes the credential of `host`; `NOT_FOUND` when there is none. */
  async deleteGitCredential(host: string): Promise<void> {
    await this.#call('DELETE', `git-credentials/${encodeURIComponent(host)}`, z.unknown());
  }

  /** Agents this instance sent elsewhere and agents it hosts for peers, each paged. */
  agents(query: Partial<AgentsOverviewQuery> = {}): Promise<AgentsOverview> {
    return this.#call('GET', `agents${searchOf(query)}`, AgentsOverviewSchema);
  }

  /** The latest known status of an agent sent elsewhere; `refresh` asks the peer first. */
  status(agentId: string, options: { refresh?: boolean } = {}): Promise<AgentStatus> {
    const query = options.refresh === true ? '?refresh=true' : '';
    return this.#call('GET', `agents/${encodeURIComponent(agentId)}/status${query}`, AgentStatusSchema);
  }

  /**
   * A page of an agent's transcript (its tool calls, text and the runner's notes),
   * asked from the peer that runs it; pass the answer's `nextCursor` for the next page.
   */
  transcript(agentId: string, page: { cursor?: string; limit?: number } = {}): Promise<AgentTranscriptResponse> {
    return this.#call('GET', `agents/${encodeURIComponent(agentId)}/transcript${searchOf(page)}`, AgentTranscriptResponseSchema);
  }

  /**
   * The git bundle of a completed agent's commits (`result.bundle`), which the instance
   * reads from the peer in chunks and checks; checked here again against its digest.
   * `git fetch <file> <branch>` takes it into a clone that has `result.bundle.base`.
   * `NOT_FOUND` when the agent left none.
   */
  async bundle(agentId: string): Promise<Uint8Array> {
    const path = `agents/${encodeURIComponent(agentId)}/bundle`;
    const { data, headers } = await downloadBearerApi(this.#api, path);
    if (headers.get('x-bundle-sha256') !== (await sha256Hex(data))) {
      throw new FederationError('MALFORMED_MESSAGE', `the answer to GET ${path} does not match its digest`);
    }
    return data;
  }

  /** Where the branch a spawn asked to deliver (`options.deliver`) stands; `NOT_FOUND` when it asked for none. */
  delivery(agentId: string): Promise<AgentDelivery> {
    return this.#call('GET', `agents/${encodeURIComponent(agentId)}/delivery`, AgentDeliverySchema);
  }

  /** Sends `agent.kill` to the peer that runs the agent. */
  kill(agentId: string): Promise<AgentKillResponse> {
    return this.#call('POST', `agents/${encodeURIComponent(agentId)}/kill`, AgentKillResponseSchema);
  }

  /**
   * Answers what the agent waits for (PROTOCOL 5, Approvals): the `id` of its status's
   * `pendingApproval`, and `approve` or `reject`, with a note the agent reads. An approval
   * that is no longer pending is `VALIDATION_FAILED`.
   *
   * @example
   * ```ts
   * const { pendingApproval } = await admin.status(agentId);
   * if (pendingApproval) await admin.respond(agentId, { approvalId: pendingApproval.id, decision: 'approve' });
   * ```
   */
  respond(agentId: string, answer: ApprovalAnswer): Promise<AgentRespondResponse> {
    return this.#call('POST', `agents/${encodeURIComponent(agentId)}/respond`, AgentRespondResponseSchema, answer);
  }

  /** The A2A clients admins issued tokens to, revoked ones too (docs/protocol.md, "A2A"). */
  a2aClients(): Promise<A2AClient[]> {
    return this.#call('GET', 'a2a-clients', z.array(A2AClientSchema));
  }

  /** Issues an A2A client its token (in this answer only) and grants: a new connection's, changed as `grants` says. */
  createA2AClient(client: CreateA2AClientDto): Promise<A2AClientCreated> {
    return this.#call('POST', 'a2a-clients', A2AClientCreatedSchema, client);
  }

  /** Renames an A2A client or changes its grants, as a connection's are changed. */
  updateA2AClient(id: string, changes: UpdateA2AClientDto): Promise<A2AClient> {
    return this.#call('PATCH', `a2a-clients/${encodeURIComponent(id)}`, A2AClientSchema, changes);
  }

  /** Revokes an A2A client's token: its requests are refused from now on, on every replica. */
  revokeA2AClient(id: string): Promise<A2AClient> {
    return this.#call('DELETE', `a2a-clients/${encodeURIComponent(id)}`, A2AClientSchema);
  }

  /**
   * The statuses of up to 500 agents this instance sent, asked from the peers that run
   * them: one signed `agents.status` per peer, not one message per agent. Agents this
   * token may not see, or that are unknown, are in `notFound`.
   */
  statuses(agentIds: readonly string[]): Promise<AgentsStatusResponse> {
    return this.#call('POST', 'agents/statuses', AgentsStatusResponseSchema, { agentIds: [...agentIds] });
  }

  /** The A2A agents elsewhere that this instance starts agents on: spawn on one with its id as `connectionId`. */
  a2aAgents(): Promise<A2AAgent[]> {
    return this.#call('GET', 'a2a-agents', z.array(A2AAgentSchema));
  }

  /** Adds an A2A agent by its card's URL (or its base URL), with the token it issued this instance, if any. */
  addA2AAgent(agent: AddA2AAgentDto): Promise<A2AAgent> {
    return this.#call('POST', 'a2a-agents', A2AAgentSchema, agent);
  }

  /** Forgets an A2A agent; the agents started on it stay in the lists, as they ended. */
  async removeA2AAgent(id: string): Promise<void> {
    await this.#call('DELETE', `a2a-agents/${encodeURIComponent(id)}`, z.null());
  }

  /** Who this client's token signs in: an admin, or a user with their workspaces and roles. */
  me(): Promise<PrincipalView> {
    return this.#call('GET', 'me', PrincipalViewSchema);
  }

  /** The instance's users, by id (admins only). */
  users(): Promise<User[]> {
    return this.#call('GET', 'users', UserListSchema);
  }

  createUser(user: CreateUserDto): Promise<User> {
    return this.#call('POST', 'users', UserSchema, user);
  }

  /** A token that signs the user in, shown only in this answer; revoked as any token is. */
  createUserToken(userId: string, token: CreateUserTokenDto): Promise<{ token: string; record: AdminToken }> {
    return this.#call('POST', `users/${encodeURIComponent(userId)}/tokens`, UserTokenSchema, token);
  }

  /** The instance's workspaces, by id (admins only). */
  workspaces(): Promise<Workspace[]> {
    return this.#call('GET', 'workspaces', WorkspaceListSchema);
  }

  createWorkspace(workspace: CreateWorkspaceDto): Promise<Workspace> {
    return this.#call('POST', 'workspaces', WorkspaceSchema, workspace);
  }

  /** Renames a workspace, or changes the connections its members may spawn on (`null`: all). */
  updateWorkspace(id: string, changes: UpdateWorkspaceDto): Promise<Workspace> {
    return this.#call('PATCH', `workspaces/${encodeURIComponent(id)}`, WorkspaceSchema, changes);
  }

  members(workspaceId: string): Promise<Membership[]> {
    return this.#call('GET', `workspaces/${encodeURIComponent(workspaceId)}/members`, MembershipListSchema);
  }

  /** Adds a user to a workspace, or changes their role there. */
  setMember(workspaceId: string, userId: string, role: WorkspaceRole): Promise<Membership> {
    return this.#call('PUT', `workspaces/${encodeURIComponent(workspaceId)}/members/${encodeURIComponent(userId)}`, MembershipSchema, { role });
  }

  async removeMember(workspaceId: string, userId: string): Promise<void> {
    await this.#call('DELETE', `workspaces/${encodeURIComponent(workspaceId)}/members/${encodeURIComponent(userId)}`, z.null());
  }

  /** An agent this instance runs for a peer, with the orchestrator's latest status. */
  hostedAgent(agentId: string): Promise<HostedAgent> {
    return this.#call('GET', `hosted-agents/${encodeURIComponent(agentId)}`, HostedAgentSchema);
  }

  /** Stops an agent this instance runs for a peer, on this machine; the peer hears of it through the agent's events. */
  stopHostedAgent(agentId: string): Promise<AgentKillResponse> {
    return this.#call('POST', `hosted-agents/${encodeURIComponent(agentId)}/kill`, AgentKillResponseSchema);
  }

  /**
   * Yields an agent's status changes as the instance learns them, in `sequence` order,
   * and ends after a terminal status. A dropped stream is reopened with `Last-Event-ID`,
   * so no event is lost or repeated.
   */
  events(agentId: string, options: AgentEventsOptions = {}): AsyncGenerator<AgentStatusChangedPayload, void, undefined> {
    if (options.lastEventId !== undefined && !/^\d+$/.test(String(options.lastEventId))) {
      throw new TypeError('AdminClient.events: lastEventId is the sequence of an event, a whole number');
    }
    return readAgentEvents({
      ...this.#api,
      path: `agents/${encodeURIComponent(agentId)}/events`,
      lastEventId: options.lastEventId === undefined ? undefined : Number(options.lastEventId),
      signal: options.signal,
      reconnectDelayMs: options.reconnectDelayMs ?? 1_000,
      maxReconnects: options.maxReconnects ?? 5,
    });
  }

  #connectionAction(id: string, action: ConnectionAction): Promise<Connection> {
    return this.#call('POST', `connections/${encodeURIComponent(id)}/${action}`, ConnectionSchema);
  }

  async #call<S extends z.ZodType>(method: string, path: string, schema: S, body?: unknown): Promise<z.output<S>> {
    return parseAnswer(schema, await requestBearerApi(this.#api, method, path, body), `${method} ${path}`);
  }
}

/** A query string from defined values only (`?a=1&b=x`, or empty). */
function searchOf(query: Record<string, string | number | undefined>): string {
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query)) if (value !== undefined) params.set(key, String(value));
  const text = params.toString();
  return text === '' ? '' : `?${text}`;
}
