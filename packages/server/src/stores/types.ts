// Store contracts: small interfaces that every implementation (memory, libSQL, and later
// Valkey) satisfies, checked by one shared contract suite (test/store-contract.ts).
import type {
  A2AClient,
  AdminToken,
  AgentOwner,
  Membership,
  User,
  Workspace,
  AgentSpawnPayload,
  DeliveryRequest,
  DeliveryState,
  OpenedPullRequest,
  AgentSpawnResponse,
  AgentState,
  AgentStatus,
  AgentType,
  AgentStatusChangedPayload,
  AuditActor,
  AuditEntry,
  AuditPage,
  Connection,
  ConnectionStatus,
  HostedAgent,
  InstanceConfiguration,
  RemoteAgent,
  ResponseMessage,
} from '@mosaic-fed/core';

/**
 * Everything the instance knows about itself. `encryptedPrivateKey` is the current
 * private key sealed with AES-GCM (see `lib/sealed-key.ts`): the store never sees it in
 * clear. Previous private keys are not kept.
 */
export type InstanceRecord = InstanceConfiguration & {
  encryptedPrivateKey: string;
  /** Grows by one on every update; used to detect a concurrent writer. */
  version: number;
};

export interface InstanceStore {
  get(): Promise<InstanceRecord | undefined>;
  /**
   * Stores the first record, with its audit entry, unless a record exists already.
   * Returns the record that is stored: the given one, or the one that was there first.
   */
  initialise(record: InstanceRecord, audit: AuditEntry): Promise<InstanceRecord>;
  /**
   * Replaces the record and appends the audit entry, atomically, if the stored version is
   * still `expectedVersion`. Returns false, writing nothing, if another writer came first.
   */
  update(record: InstanceRecord, expectedVersion: number, audit: AuditEntry): Promise<boolean>;
}

/** A page of the audit log and its filters; `since` and `until` in UTC ISO 8601 (`toISOString`). */
export interface AuditListOptions {
  limit: number;
  cursor?: string | undefined;
  action?: string | undefined;
  actor?: string | undefined;
  since?: string | undefined;
  until?: string | undefined;
}

/** Whether an entry is one the filters of a list keep: one rule for every store. */
export function auditEntryKept(entry: AuditEntry, filters: Omit<AuditListOptions, 'limit' | 'cursor'>): boolean {
  const { action, actor, since, until } = filters;
  if (action !== undefined && entry.action !== action && !entry.action.startsWith(`${action}.`)) return false;
  if (actor !== undefined && entry.actor.id !== actor && entry.actor.type !== actor) return false;
  if (since !== undefined && entry.at < since) return false;
  return until === undefined || entry.at <= until;
}

export interface AuditStore {
  append(entry: AuditEntry): Promise<void>;
  /** Newest first, only what the filters keep (as `AuditQuery` says). `cursor` is the `nextCursor` of the previous page. */
  list(options: AuditListOptions): Promise<AuditPage>;
}

/** An admin token as stored: the admin view and its SHA-256 hash, never the token. */
export type AdminTokenRecord = AdminToken & { tokenHash: string };

export interface AdminTokenStore {
  /** Stores the token and its audit entry atomically. */
  create(record: AdminTokenRecord, audit: AuditEntry): Promise<void>;
  findByHash(tokenHash: string): Promise<AdminTokenRecord | undefined>;
  get(id: string): Promise<AdminTokenRecord | undefined>;
  /** Every token, revoked ones too, oldest first. */
  list(): Promise<AdminTokenRecord[]>;
  /**
   * Marks the token revoked at `at`, with its audit entry, atomically. False, writing
   * nothing, for an unknown or already revoked token.
   */
  revoke(id: string, at: string, audit: AuditEntry): Promise<boolean>;
  /** Records a use of the token, if its last recorded use is before `at` (or none). */
  recordUse(id: string, at: string): Promise<void>;
}

/** An A2A client as stored: the admin view and the SHA-256 hash of its token, never the token. */
export type A2AClientRecord = A2AClient & { tokenHash: string };

/** What an admin may change of an A2A client: its name, its grants, its OIDC subject (left out: none). */
export type A2AClientChange = Pick<A2AClient, 'name' | 'grants' | 'oidcSubject'>;

export interface A2AClientStore {
  /** Stores the client and its audit entry atomically; throws, storing nothing, for a token hash or OIDC subject taken. */
  create(record: A2AClientRecord, audit: AuditEntry): Promise<void>;
  get(id: string): Promise<A2AClientRecord | undefined>;
  findByHash(tokenHash: string): Promise<A2AClientRecord | undefined>;
  /** The client signed in by OIDC access tokens with this subject. */
  findBySubject(subject: string): Promise<A2AClientRecord | undefined>;
  /** Every client, revoked ones too, oldest first. */
  list(): Promise<A2AClientRecord[]>;
  /**
   * Stores a new name and grants, with the audit entry, atomically. False, writing
   * nothing, for an unknown or revoked client.
   */
  update(id: string, change: A2AClientChange, audit: AuditEntry): Promise<boolean>;
  /** As {@link AdminTokenStore.revoke}. */
  revoke(id: string, at: string, audit: AuditEntry): Promise<boolean>;
  /** As {@link AdminTokenStore.recordUse}. */
  recordUse(id: string, at: string): Promise<void>;
}

/**
 * Where an A2A client asked to be told of its task's changes (docs/protocol.md, "A2A"):
 * the URL, and the token and credentials sent with each notification, sealed at rest.
 */
export interface A2APushConfigRecord {
  id: string;
  /** The task (the agent's id). */
  taskId: string;
  clientId: string;
  url: string;
  /** The `Authorization` scheme the credentials go with; none without credentials. */
  scheme: string | null;
  /** `{ token?, credentials? }`, sealed for this config; none when the client gave neither. */
  sealedSecrets: string | null;
  createdAt: string;
}

export interface A2APushConfigStore {
  /** Stores a config; false, storing nothing, if the task has one with this id already. */
  create(record: A2APushConfigRecord): Promise<boolean>;
  get(taskId: string, id: string): Promise<A2APushConfigRecord | undefined>;
  /** The task's configs, oldest first. */
  list(taskId: string): Promise<A2APushConfigRecord[]>;
  /** False for a config that is not there. */
  delete(taskId: string, id: string): Promise<boolean>;
}

/**
 * An A2A agent elsewhere that this instance starts agents on (docs/protocol.md, "A2A"): its
 * card's name, the interface it is called at, and the token sent to it, sealed at rest.
 */
export interface A2AAgentRecord {
  id: string;
  name: string;
  /** Where its card was read. */
  cardUrl: string;
  /** The interface's URL, and which binding it speaks. */
  endpoint: string;
  binding: 'JSONRPC' | 'HTTP+JSON';
  /** The bearer token sent to it, sealed for this record; none for an agent that asks for none. */
  sealedToken: string | null;
  createdAt: string;
}

/** A task this instance started on an A2A agent: the agent id it is known by here, and the task's id there. */
export interface A2ATaskRecord {
  agentId: string;
  a2aAgentId: string;
  remoteTaskId: string;
  /** Whether its status here is terminal: then it is no longer polled. */
  done: boolean;
  createdAt: string;
}

export interface A2AAgentStore {
  /** Stores an A2A agent with its audit entry, atomically. */
  add(record: A2AAgentRecord, audit: AuditEntry): Promise<void>;
  get(id: string): Promise<A2AAgentRecord | undefined>;
  /** Oldest first. */
  list(): Promise<A2AAgentRecord[]>;
  /** Forgets an A2A agent, with its audit entry; false, writing nothing, for an unknown one. Its tasks stay. */
  remove(id: string, audit: AuditEntry): Promise<boolean>;
  /** Records a task; a second call for the same agent id changes nothing. */
  addTask(record: A2ATaskRecord): Promise<void>;
  task(agentId: string): Promise<A2ATaskRecord | undefined>;
  /** Tasks not done, oldest first. */
  activeTasks(limit: number): Promise<A2ATaskRecord[]>;
  finishTask(agentId: string): Promise<void>;
}

/** How precisely a connection's `peerSeenAt` is kept: a minute, so that busy peers cost one write a minute. */
export const PEER_SEEN_PRECISION_MS = 60_000;

/** The earliest `peerSeenAt` that makes a sighting at `at` not worth writing. */
export function peerSeenThreshold(at: string): string {
  return new Date(Date.parse(at) - PEER_SEEN_PRECISION_MS).toISOString();
}

/** A connection as stored: the admin view plus a version for optimistic updates. */
export interface ConnectionRecord extends Connection {
  version: number;
}

export interface ConnectionStore {
  /** Stores a new connection, with its audit entry. One connection per peer instance. */
  create(record: ConnectionRecord, audit: AuditEntry): Promise<void>;
  get(id: string): Promise<ConnectionRecord | undefined>;
  getByPeer(peerInstanceId: string): Promise<ConnectionRecord | undefined>;
  /** Oldest first. */
  list(filter?: { status?: ConnectionStatus | undefined }): Promise<ConnectionRecord[]>;
  /** As {@link InstanceStore.update}: only from `expectedVersion`, atomically with the audit entry. `peerPausedAt` and `peerSeenAt` are left as they are. */
  update(record: ConnectionRecord, expectedVersion: number, audit: AuditEntry): Promise<boolean>;
  /** Notes that the peer refused a message as not active (`since`), or accepted one again (`null`). No version, no audit entry: an observation. */
  markPeerPaused(id: string, since: string | null): Promise<void>;
  /**
   * Notes that the peer was heard from `at`, unless a time less than {@link PEER_SEEN_PRECISION_MS}
   * before it is noted already (or a later one): at most one write a minute, whatever the traffic.
   * No version, no audit entry: an observation.
   */
  markPeerSeen(id: string, at: string): Promise<void>;
}

/** What a receiver answered a message with: the body of its RESPONSE (PROTOCOL 2). */
export type StoredReply = ReplyOf<ResponseMessage>;
type ReplyOf<M> = M extends unknown ? Pick<M, Extract<keyof M, 'success' | 'data' | 'error' | 'code' | 'details'>> : never;

/** The outcome of claiming a `(iss, jti)` in the message log. */
export type ClaimOutcome =
  | { outcome: 'claimed' }
  /** The same message is executing right now: `MESSAGE_IN_PROGRESS`. */
  | { outcome: 'in-progress' }
  /** Another message had this `jti`: `MESSAGE_ID_CONFLICT`. */
  | { outcome: 'conflict' }
  /** The same message was answered before: send that answer again, execute nothing. */
  | { outcome: 'completed'; reply: StoredReply };

/** A claim of `(issuer, jti)` in the message log. */
export interface MessageClaim {
  issuer: string;
  jti: string;
  /** Of the message's content, without `iat`/`exp` (`messageContentHash`). */
  hash: string;
  now: Date;
  expiresAt: Date;
  /**
   * The answer of a message that changes nothing and ran before its claim: the entry is
   * stored answered at once (`claimed`), with no {@link MessageLogStore.complete} to follow.
   */
  reply?: StoredReply | undefined;
}

/**
 * The message log (PROTOCOL 2): replay protection and idempotency as one mechanism.
 * A `(issuer, jti)` is claimed atomically before its message executes.
 */
export interface MessageLogStore {
  claim(entry: MessageClaim): Promise<ClaimOutcome>;
  /** Records the reply of a claimed message. */
  complete(issuer: string, jti: string, reply: StoredReply): Promise<void>;
  /** Forgets a claim whose message did not execute, so that a retry can run it. */
  release(issuer: string, jti: string): Promise<void>;
  /**
   * Forgets up to `limit` entries whose retention ended by `now`, and answers how many it
   * forgot. An expired entry counts for nothing (its jti can be claimed again), but it
   * takes room until it is pruned.
   */
  prune(now: Date, limit: number): Promise<number>;
}

/** An agent this instance runs for a peer (the spoke's side), with the `sequence` of its latest status. */
export interface HostedAgentRecord extends HostedAgent {
  sequence: number;
}

/** Filters and page of `agents.list` (PROTOCOL 5) and of the admin's agents view. */
export interface AgentListQuery {
  status?: AgentState | undefined;
  taskId?: string | undefined;
  agentType?: AgentType | undefined;
  connectionId?: string | undefined;
  limit: number;
  cursor?: string | undefined;
  /** Newest first (the cursor then names the oldest of the page before); oldest first otherwise. */
  newestFirst?: boolean | undefined;
}

/** A list of hosted agents: as {@link AgentListQuery}, and kept to one owner, or one of its workspaces. */
export interface HostedAgentListQuery extends AgentListQuery {
  ownerInstanceId?: string | undefined;
  workspaceId?: string | undefined;
}

/** The filters of a hosted agent list, without its page. */
export type HostedAgentFilter = Omit<HostedAgentListQuery, 'limit' | 'cursor' | 'newestFirst'>;

/** A list of sent agents: as {@link AgentListQuery}, and kept to some of this instance's workspaces. */
export interface RemoteAgentListQuery extends AgentListQuery {
  workspaceIds?: readonly string[] | undefined;
}

/** Whether an agent's status passes a list's filters (the in-memory stores' `WHERE`). */
export function agentKept(status: AgentStatus, connectionId: string, query: Omit<AgentListQuery, 'limit' | 'cursor' | 'newestFirst'>): boolean {
  return (
    (query.status === undefined || status.status === query.status) &&
    (query.taskId === undefined || status.taskId === query.taskId) &&
    (query.agentType === undefined || status.agentType === query.agentType) &&
    (query.connectionId === undefined || connectionId === query.connectionId)
  );
}

/** How many agents may be live at once when one is reserved: on its connection, and of its peer workspace. */
export interface ReserveLimits {
  connection: number;
  /** Agents of the record's `actor.workspaceId` on the same connection; unlimited when left out. */
  workspace?: number | undefined;
}

export interface HostedAgentStore {
  /**
   * Records a new agent if its connection has fewer than `limits.connection` agents that
   * are not terminal, and its workspace fewer than `limits.workspace`; the counts and the
   * insert are one atomic step. `limit` names the limit that was reached. With `audit`,
   * that entry goes into the audit log in the same step, only when the agent is recorded.
   */
  reserve(record: HostedAgentRecord, limits: ReserveLimits, audit?: AuditEntry): Promise<'reserved' | 'exists' | 'limit' | 'workspace-limit'>;
  get(agentId: string): Promise<HostedAgentRecord | undefined>;
  /** Those of the agents that exist, in one read (in no particular order). */
  getMany(agentIds: readonly string[]): Promise<HostedAgentRecord[]>;
  /** Drops a reservation whose agent never started. */
  remove(agentId: string): Promise<void>;
  /**
   * Stores a newer status; a status with a sequence at or below the stored one is ignored.
   * `tell`: outbox entries about it (the event for its hub), stored in the same step only
   * when the status is, so a status is never kept without what tells of it.
   */
  updateStatus(agentId: string, status: AgentStatus, sequence: number, tell?: readonly OutboxEntry[]): Promise<boolean>;
  /** Agents, oldest first: the owner's only when `ownerInstanceId` is given, and of one of its workspaces with `workspaceId`. */
  list(query: HostedAgentListQuery): Promise<{ agents: HostedAgentRecord[]; nextCursor: string | null }>;
  /** How many agents `list` would list with these filters, over every page. */
  count(query: HostedAgentFilter): Promise<number>;
  /** Every agent that is not terminal, to resume watching after a restart. */
  listActive(): Promise<HostedAgentRecord[]>;
}

/** An agent this instance asked a peer to run (the hub's side). */
export type RemoteAgentRecord = RemoteAgent;

export interface RemoteAgentStore {
  /** Records an agent; a second call for the same agent changes nothing. */
  create(record: RemoteAgentRecord): Promise<void>;
  get(agentId: string): Promise<RemoteAgentRecord | undefined>;
  /** Those of the agents that exist, in one read (in no particular order). */
  getMany(agentIds: readonly string[]): Promise<RemoteAgentRecord[]>;
  /** In the order of creation (see `newestFirst`), only what the filters keep: with `workspaceIds`, only agents owned in one of them. */
  list(query: RemoteAgentListQuery): Promise<{ agents: RemoteAgentRecord[]; nextCursor: string | null }>;
  /**
   * Applies a status event if its sequence is above the stored one and the stored status
   * is not terminal, and keeps it for event streams (PROTOCOL 5). Nothing is written for
   * a duplicate or stale event (`stale`, also for an unknown agent), nor for a later event
   * of an agent whose status is terminal (`terminal`): a terminal status never changes.
   */
  applyEvent(agentId: string, event: AgentStatusChangedPayload): Promise<'applied' | 'stale' | 'terminal'>;
  /**
   * Stores statuses fetched from the peers without an event (a refresh), each unless its
   * agent's stored status is terminal already; in one step.
   */
  refreshStatuses(statuses: readonly AgentStatus[]): Promise<void>;
  /** Events of an agent with a sequence above `afterSequence`, in order. */
  events(agentId: string, afterSequence: number): Promise<AgentStatusChangedPayload[]>;
}

/**
 * A spawn this instance asks a peer for (PROTOCOL 6, `Idempotency-Key`), recorded before
 * `agent.spawn` is sent, so the agent is never unknown here: a request whose answer was
 * lost is sent again with the same `jti`, and the peer answers it from its message log.
 */
export interface SpawnRequestRecord {
  idempotencyKey: string;
  /** The `jti` the `agent.spawn` goes out with, every time. */
  jti: string;
  connectionId: string;
  /** The payload as sent, defaults filled in: a resend must carry the same content. */
  payload: AgentSpawnPayload;
  /** What the hub delivers once the agent completes (`options.deliver`); never sent to the peer. */
  deliver: DeliveryRequest | null;
  /** Of the connection and the payload: tells a retry from another request under the same key. */
  requestHash: string;
  actor: AuditActor;
  /** The user and workspace it is for, sent as the message's `actor`; `null` for the instance's own. */
  owner: AgentOwner | null;
  createdAt: string;
  /** The peer's answer, once it came. */
  response: AgentSpawnResponse | null;
}

export interface SpawnRequestStore {
  /** Records a request unless its key is known. Returns the stored one: the given, or the earlier. */
  begin(record: SpawnRequestRecord): Promise<SpawnRequestRecord>;
  /** Stores the peer's answer. */
  answer(idempotencyKey: string, response: AgentSpawnResponse): Promise<void>;
  /** Forgets a request the peer refused, so that its key can be used again. */
  forget(idempotencyKey: string): Promise<void>;
  /** Requests without an answer created before `before` (ISO 8601), oldest first. */
  unanswered(before: string, limit: number): Promise<SpawnRequestRecord[]>;
  /** Removes up to `limit` requests created before `before`; answers how many. */
  prune(before: string, limit: number): Promise<number>;
}

/** An event waiting to reach a peer (PROTOCOL 5, "Events back to the hub"). */
export interface OutboxEntry {
  /** Also the EVENT's `jti`: every attempt is the same logical message. */
  id: string;
  connectionId: string;
  peerInstanceId: string;
  /**
   * Entries with the same key go out in the order they were stored: one is not handed
   * out while an earlier one is neither delivered nor given up (PROTOCOL 5: an agent's
   * events in `sequence` order). Null: no order to keep.
   */
  orderKey: string | null;
  eventType: string;
  payload: unknown;
  attempts: number;
  /** Milliseconds since the epoch. */
  nextAttemptAt: number;
  /** After this, delivery stops (at least 24 hours after creation). */
  giveUpAt: number;
  createdAt: number;
  deliveredAt: number | null;
  lastError: string | null;
}

/** What waits in the outbox: events neither delivered nor given up, how many of them failed at least once, and the oldest's creation (milliseconds). */
export interface OutboxBacklog {
  pending: number;
  retrying: number;
  oldestCreatedAt: number | null;
}

export interface OutboxStore {
  enqueue(entry: OutboxEntry): Promise<void>;
  /** The backlog at `now` (milliseconds): for the instance's health, not for delivery. */
  backlog(now: number): Promise<OutboxBacklog>;
  /**
   * Undelivered entries due at `now` and not given up, oldest first, each the earliest
   * pending entry of its `orderKey`.
   */
  due(now: number, limit: number): Promise<OutboxEntry[]>;
  markDelivered(id: string, at: number): Promise<void>;
  /** Sets the next attempt; with `giveUpAt`, also when delivery stops (`now`: it stops at once). */
  reschedule(id: string, attempts: number, nextAttemptAt: number, lastError: string, giveUpAt?: number): Promise<void>;
  /**
   * Removes up to `limit` entries that are done with: delivered, or given up by `now`
   * (milliseconds). Answers how many it removed.
   */
  prune(now: number, limit: number): Promise<number>;
}

/**
 * A branch this instance delivers from an agent's bundle (docs/protocol.md, "Delivery"):
 * recorded with the agent, tried once the agent's stored status is terminal, and again
 * after a pause while tries fail.
 */
export interface DeliveryRecord {
  agentId: string;
  request: DeliveryRequest;
  /** The spawn's repository and branch: where the branch goes, and what it starts from. */
  repository: string;
  baseBranch: string;
  taskId: string;
  state: DeliveryState;
  attempts: number;
  /** When the next try may run, in milliseconds since the epoch. */
  nextAttemptAt: number;
  commit: string | null;
  pullRequest: OpenedPullRequest | null;
  error: string | null;
  createdAt: string;
  updatedAt: string;
}

/** The outcome of one try at a delivery. */
export type DeliveryChange = Pick<DeliveryRecord, 'state' | 'attempts' | 'nextAttemptAt' | 'commit' | 'pullRequest' | 'error' | 'updatedAt'>;

export interface DeliveryStore {
  /** Records a delivery; a second call for the same agent changes nothing. */
  create(record: DeliveryRecord): Promise<void>;
  get(agentId: string): Promise<DeliveryRecord | undefined>;
  /** Up to `limit` deliveries `waiting` and due by `now` whose agent's stored status is terminal, the longest due first. */
  due(now: number, limit: number): Promise<DeliveryRecord[]>;
  /** Writes the outcome of a try, if the delivery is still `waiting`; true when written. */
  update(agentId: string, change: DeliveryChange): Promise<boolean>;
}

/** The stores one federation server uses. */
/**
 * The instance's users, workspaces and memberships (docs/protocol.md, "Acting for users").
 * Every change is written atomically with its audit entry.
 */
export interface PeopleStore {
  /** False, writing nothing, when a user with the id (or the OIDC subject) exists. */
  createUser(user: User, audit: AuditEntry): Promise<boolean>;
  getUser(id: string): Promise<User | undefined>;
  /** The user an OIDC subject signs in. */
  findUserByOidcSubject(subject: string): Promise<User | undefined>;
  /** By id. */
  listUsers(): Promise<User[]>;
  /** False, writing nothing, when a workspace with the id exists. */
  createWorkspace(workspace: Workspace, audit: AuditEntry): Promise<boolean>;
  getWorkspace(id: string): Promise<Workspace | undefined>;
  /** By id. */
  listWorkspaces(): Promise<Workspace[]>;
  /** False, writing nothing, for an unknown workspace. */
  updateWorkspace(workspace: Workspace, audit: AuditEntry): Promise<boolean>;
  /** Adds the user to the workspace, or changes their role there (keeping when they joined). */
  setMembership(membership: Membership, audit: AuditEntry): Promise<void>;
  /** False, writing nothing, when the user is not in the workspace. */
  removeMembership(workspaceId: string, userId: string, audit: AuditEntry): Promise<boolean>;
  /** A user's workspaces, by workspace id. */
  membershipsOf(userId: string): Promise<Membership[]>;
  /** A workspace's members, by user id. */
  membersOf(workspaceId: string): Promise<Membership[]>;
}

export interface FederationStores {
  instance: InstanceStore;
  audit: AuditStore;
  adminTokens: AdminTokenStore;
  a2aClients: A2AClientStore;
  a2aPushConfigs: A2APushConfigStore;
  a2aAgents: A2AAgentStore;
  people: PeopleStore;
  connections: ConnectionStore;
  messageLog: MessageLogStore;
  hostedAgents: HostedAgentStore;
  remoteAgents: RemoteAgentStore;
  spawnRequests: SpawnRequestStore;
  deliveries: DeliveryStore;
  outbox: OutboxStore;
  /** Releases connections; the stores are unusable afterwards. */
  close?(): Promise<void>;
}
