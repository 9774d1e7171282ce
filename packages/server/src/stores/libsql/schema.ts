// The libSQL schema, in drizzle. After a change here, `pnpm --filter @mosaic-fed/server
// db:generate` has drizzle-kit write the migration to `drizzle/` and embeds it in
// migrations.ts; the store contract suite checks the migrated database against this.
import type {
  AgentOwner,
  AgentSpawnPayload,
  AgentSpawnResponse,
  AgentState,
  AgentStatus,
  AgentStatusChangedPayload,
  AgentType,
  AuditActor,
  AuditEntry,
  Capabilities,
  DeliveryRequest,
  DeliveryState,
  OpenedPullRequest,
  ConnectionDirection,
  ConnectionStatus,
  Grants,
  InstanceKey,
  Metadata,
  PublicJwk,
  ReplacedKey,
  WorkspaceRole,
} from '@mosaic-fed/core';
import type { StoredReply } from '../types.js';
import { sql } from 'drizzle-orm';
import { check, index, integer, primaryKey, sqliteTable, text } from 'drizzle-orm/sqlite-core';

/** The instance's own record: exactly one row, `id = 1`. */
export const instanceTable = sqliteTable(
  'instance',
  {
    id: integer('id').primaryKey(),
    instanceId: text('instance_id').notNull(),
    name: text('name').notNull(),
    url: text('url').notNull(),
    capabilities: text('capabilities', { mode: 'json' }).$type<Capabilities>().notNull(),
    metadata: text('metadata', { mode: 'json' }).$type<Metadata>().notNull(),
    keys: text('keys', { mode: 'json' }).$type<InstanceKey[]>().notNull(),
    keyRotations: text('key_rotations', { mode: 'json' }).$type<string[]>().notNull(),
    encryptedPrivateKey: text('encrypted_private_key').notNull(),
    version: integer('version').notNull(),
    createdAt: text('created_at').notNull(),
    updatedAt: text('updated_at').notNull(),
  },
  (table) => [check('instance_one_row', sql`${table.id} = 1`)],
);

/** The audit log. `seq` orders it and makes the pagination cursor. */
export const auditTable = sqliteTable('audit_log', {
  seq: integer('seq').primaryKey({ autoIncrement: true }),
  id: text('id').notNull().unique(),
  at: text('at').notNull(),
  actor: text('actor', { mode: 'json' }).$type<AuditActor>().notNull(),
  action: text('action').notNull(),
  target: text('target'),
  before: text('before', { mode: 'json' }).$type<AuditEntry['before']>(),
  after: text('after', { mode: 'json' }).$type<AuditEntry['after']>(),
});

export const adminTokensTable = sqliteTable('admin_tokens', {
  id: text('id').primaryKey(),
  label: text('label').notNull(),
  tokenHash: text('token_hash').notNull().unique(),
  createdAt: text('created_at').notNull(),
  expiresAt: text('expires_at'),
  lastUsedAt: text('last_used_at'),
  revokedAt: text('revoked_at'),
  /** A user's token signs that user in; none: an admin token. */
  userId: text('user_id'),
});

/** A2A clients (docs/protocol.md, "A2A"): their grants and the hash of their token. */
export const a2aClientsTable = sqliteTable('a2a_clients', {
  id: text('id').primaryKey(),
  name: text('name').notNull(),
  tokenHash: text('token_hash').notNull().unique(),
  grants: text('grants', { mode: 'json' }).$type<Grants>().notNull(),
  /** The `sub` of the OIDC access tokens that sign it in; one client per subject. */
  oidcSubject: text('oidc_subject').unique(),
  createdAt: text('created_at').notNull(),
  lastUsedAt: text('last_used_at'),
  revokedAt: text('revoked_at'),
});

/** Where A2A clients asked to be told of their tasks' changes; the secrets sealed. */
export const a2aPushConfigsTable = sqliteTable(
  'a2a_push_configs',
  {
    taskId: text('task_id').notNull(),
    id: text('id').notNull(),
    clientId: text('client_id').notNull(),
    url: text('url').notNull(),
    scheme: text('scheme'),
    sealedSecrets: text('sealed_secrets'),
    createdAt: text('created_at').notNull(),
  },
  (table) => [primaryKey({ columns: [table.taskId, table.id] })],
);

/** A2A agents elsewhere that this instance starts agents on. */
export const a2aAgentsTable = sqliteTable('a2a_agents', {
  id: text('id').primaryKey(),
  name: text('name').notNull(),
  cardUrl: text('card_url').notNull(),
  endpoint: text('endpoint').notNull(),
  binding: text('binding').$type<'JSONRPC' | 'HTTP+JSON'>().notNull(),
  sealedToken: text('sealed_token'),
  createdAt: text('created_at').notNull(),
});

/** Tasks this instance started on A2A agents, by the agent id they have here. */
export const a2aTasksTable = sqliteTable(
  'a2a_tasks',
  {
    agentId: text('agent_id').primaryKey(),
    a2aAgentId: text('a2a_agent_id').notNull(),
    remoteTaskId: text('remote_task_id').notNull(),
    done: integer('done', { mode: 'boolean' }).notNull(),
    createdAt: text('created_at').notNull(),
  },
  (table) => [index('a2a_tasks_active').on(table.done, table.createdAt)],
);

/** The instance's users (docs/protocol.md, "Acting for users"). */
export const usersTable = sqliteTable('users', {
  id: text('id').primaryKey(),
  name: text('name').notNull(),
  /** The `sub` of their OIDC access tokens; one user per subject. */
  oidcSubject: text('oidc_subject').unique(),
  createdAt: text('created_at').notNull(),
});

/** Its workspaces; `connection_ids` null: every ACTIVE connection. */
export const workspacesTable = sqliteTable('workspaces', {
  id: text('id').primaryKey(),
  name: text('name').notNull(),
  connectionIds: text('connection_ids', { mode: 'json' }).$type<string[]>(),
  createdAt: text('created_at').notNull(),
});

/** Who is in which workspace, with what role. */
export const membershipsTable = sqliteTable(
  'memberships',
  {
    workspaceId: text('workspace_id').notNull(),
    userId: text('user_id').notNull(),
    role: text('role').$type<WorkspaceRole>().notNull(),
    createdAt: text('created_at').notNull(),
  },
  (table) => [primaryKey({ columns: [table.workspaceId, table.userId] }), index('memberships_user').on(table.userId)],
);

/** Connections to peers: one per peer instance. */
export const connectionsTable = sqliteTable('connections', {
  id: text('id').primaryKey(),
  peerInstanceId: text('peer_instance_id').notNull().unique(),
  peerUrl: text('peer_url').notNull(),
  peerName: text('peer_name').notNull(),
  status: text('status').$type<ConnectionStatus>().notNull(),
  direction: text('direction').$type<ConnectionDirection>().notNull(),
  grants: text('grants', { mode: 'json' }).$type<Grants>().notNull(),
  peerCapabilities: text('peer_capabilities', { mode: 'json' }).$type<Capabilities>().notNull(),
  peerMetadata: text('peer_metadata', { mode: 'json' }).$type<Metadata>().notNull(),
  peerKeys: text('peer_keys', { mode: 'json' }).$type<PublicJwk[]>().notNull(),
  replacedPeerKeys: text('replaced_peer_keys', { mode: 'json' }).$type<ReplacedKey[]>().notNull().default([]),
  peerUrlVouches: integer('peer_url_vouches', { mode: 'boolean' }).notNull().default(false),
  peerPausedAt: text('peer_paused_at'),
  peerSeenAt: text('peer_seen_at'),
  createdAt: text('created_at').notNull(),
  updatedAt: text('updated_at').notNull(),
  version: integer('version').notNull(),
});

/** The message log (PROTOCOL 2): one row per accepted `(issuer, jti)`. */
export const messageLogTable = sqliteTable(
  'message_log',
  {
    issuer: text('issuer').notNull(),
    jti: text('jti').notNull(),
    hash: text('hash').notNull(),
    /** Milliseconds since the epoch; an expired row may be claimed again. */
    expiresAt: integer('expires_at').notNull(),
    reply: text('reply', { mode: 'json' }).$type<StoredReply>(),
  },
  (table) => [primaryKey({ columns: [table.issuer, table.jti] }), index('message_log_expires_at').on(table.expiresAt)],
);

/** Agents this instance runs for peers. `state` repeats `status.status` for filtering. */
export const hostedAgentsTable = sqliteTable(
  'hosted_agents',
  {
    agentId: text('agent_id').primaryKey(),
    connectionId: text('connection_id').notNull(),
    ownerInstanceId: text('owner_instance_id').notNull(),
    /** The owner's user and workspace it was spawned for (`actor`), when the spawn named them. */
    actorUserId: text('actor_user_id'),
    actorWorkspaceId: text('actor_workspace_id'),
    /** `a2a` for an A2A client's agent; none for a peer's. */
    via: text('via').$type<'a2a'>(),
    taskId: text('task_id').notNull(),
    state: text('state').$type<AgentState>().notNull(),
    status: text('status', { mode: 'json' }).$type<AgentStatus>().notNull(),
    sequence: integer('sequence').notNull(),
    createdAt: text('created_at').notNull(),
  },
  (table) => [
    index('hosted_agents_owner').on(table.ownerInstanceId, table.createdAt, table.agentId),
    index('hosted_agents_connection_state').on(table.connectionId, table.state),
    index('hosted_agents_owner_workspace').on(table.ownerInstanceId, table.actorWorkspaceId, table.createdAt, table.agentId),
  ],
);

/** Agents this instance asked peers to run. */
export const remoteAgentsTable = sqliteTable(
  'remote_agents',
  {
    agentId: text('agent_id').primaryKey(),
    connectionId: text('connection_id').notNull(),
    peerInstanceId: text('peer_instance_id').notNull(),
    /** The user and workspace it was spawned for; none for the instance's own. */
    ownerUserId: text('owner_user_id'),
    ownerWorkspaceId: text('owner_workspace_id'),
    taskId: text('task_id').notNull(),
    agentType: text('agent_type').$type<AgentType>().notNull(),
    status: text('status', { mode: 'json' }).$type<AgentStatus>().notNull(),
    sequence: integer('sequence').notNull(),
    createdAt: text('created_at').notNull(),
  },
  (table) => [
    index('remote_agents_created').on(table.createdAt, table.agentId),
    index('remote_agents_workspace').on(table.ownerWorkspaceId, table.createdAt, table.agentId),
  ],
);

/** Status events of remote agents, for resumable event streams. */
export const agentEventsTable = sqliteTable(
  'agent_events',
  {
    agentId: text('agent_id').notNull(),
    sequence: integer('sequence').notNull(),
    payload: text('payload', { mode: 'json' }).$type<AgentStatusChangedPayload>().notNull(),
  },
  (table) => [primaryKey({ columns: [table.agentId, table.sequence] })],
);

/** Spawns this instance asks peers for, recorded before they are sent (PROTOCOL 6). */
export const spawnRequestsTable = sqliteTable(
  'spawn_requests',
  {
    idempotencyKey: text('idempotency_key').primaryKey(),
    jti: text('jti').notNull(),
    connectionId: text('connection_id').notNull(),
    payload: text('payload', { mode: 'json' }).$type<AgentSpawnPayload>().notNull(),
    deliver: text('deliver', { mode: 'json' }).$type<DeliveryRequest>(),
    requestHash: text('request_hash').notNull(),
    actor: text('actor', { mode: 'json' }).$type<AuditActor>().notNull(),
    /** The user and workspace it is for, sent as the message's `actor`. */
    owner: text('owner', { mode: 'json' }).$type<AgentOwner>(),
    createdAt: text('created_at').notNull(),
    response: text('response', { mode: 'json' }).$type<AgentSpawnResponse>(),
  },
  (table) => [index('spawn_requests_created').on(table.createdAt)],
);

/** Branches delivered from agents' bundles. `next_attempt_at` in milliseconds since the epoch. */
export const deliveriesTable = sqliteTable(
  'deliveries',
  {
    agentId: text('agent_id').primaryKey(),
    request: text('request', { mode: 'json' }).$type<DeliveryRequest>().notNull(),
    repository: text('repository').notNull(),
    baseBranch: text('base_branch').notNull(),
    taskId: text('task_id').notNull(),
    state: text('state').$type<DeliveryState>().notNull(),
    attempts: integer('attempts').notNull(),
    nextAttemptAt: integer('next_attempt_at').notNull(),
    commit: text('commit'),
    pullRequest: text('pull_request', { mode: 'json' }).$type<OpenedPullRequest>(),
    error: text('error'),
    createdAt: text('created_at').notNull(),
    updatedAt: text('updated_at').notNull(),
  },
  (table) => [index('deliveries_due').on(table.state, table.nextAttemptAt)],
);

/** Events waiting to reach peers. Times in milliseconds since the epoch. */
export const outboxTable = sqliteTable(
  'outbox',
  {
    id: text('id').primaryKey(),
    connectionId: text('connection_id').notNull(),
    peerInstanceId: text('peer_instance_id').notNull(),
    orderKey: text('order_key'),
    eventType: text('event_type').notNull(),
    payload: text('payload', { mode: 'json' }).$type<unknown>().notNull(),
    attempts: integer('attempts').notNull(),
    nextAttemptAt: integer('next_attempt_at').notNull(),
    giveUpAt: integer('give_up_at').notNull(),
    createdAt: integer('created_at').notNull(),
    deliveredAt: integer('delivered_at'),
    lastError: text('last_error'),
  },
  (table) => [
    index('outbox_due').on(table.deliveredAt, table.nextAttemptAt),
    index('outbox_order').on(table.orderKey, table.deliveredAt, table.giveUpAt),
  ],
);

export const schema = {
  instanceTable,
  auditTable,
  adminTokensTable,
  a2aClientsTable,
  a2aPushConfigsTable,
  a2aAgentsTable,
  a2aTasksTable,
  usersTable,
  workspacesTable,
  membershipsTable,
  connectionsTable,
  messageLogTable,
  hostedAgentsTable,
  remoteAgentsTable,
  agentEventsTable,
  spawnRequestsTable,
  deliveriesTable,
  outboxTable,
};
