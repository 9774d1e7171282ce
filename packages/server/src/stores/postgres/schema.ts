// The PostgreSQL schema, in drizzle: the libSQL schema's tables, columns and indexes, in
// PostgreSQL's types (JSON as jsonb, times in milliseconds as bigint, flags as boolean).
// After a change here, `pnpm --filter @mosaic-fed/server db:generate` has drizzle-kit write
// the migration to `drizzle-postgres/` and embeds it in migrations.ts.
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
import { bigint, boolean, check, customType, index, integer, jsonb, pgTable, primaryKey } from 'drizzle-orm/pg-core';

/**
 * Text compared byte by byte, as SQLite compares it: ids, ISO times and the cursors made of
 * them sort the same whatever locale the database was created with.
 */
const text = customType<{ data: string; driverData: string }>({ dataType: () => 'text COLLATE "C"' });

/** The instance's own record: exactly one row, `id = 1`. */
export const instanceTable = pgTable(
  'instance',
  {
    id: integer('id').primaryKey(),
    instanceId: text('instance_id').notNull(),
    name: text('name').notNull(),
    url: text('url').notNull(),
    capabilities: jsonb('capabilities').$type<Capabilities>().notNull(),
    metadata: jsonb('metadata').$type<Metadata>().notNull(),
    keys: jsonb('keys').$type<InstanceKey[]>().notNull(),
    keyRotations: jsonb('key_rotations').$type<string[]>().notNull(),
    encryptedPrivateKey: text('encrypted_private_key').notNull(),
    version: integer('version').notNull(),
    createdAt: text('created_at').notNull(),
    updatedAt: text('updated_at').notNull(),
  },
  (table) => [check('instance_one_row', sql`${table.id} = 1`)],
);

/** The audit log. `seq` orders it and makes the pagination cursor. */
export const auditTable = pgTable('audit_log', {
  seq: bigint('seq', { mode: 'number' }).primaryKey().generatedAlwaysAsIdentity(),
  id: text('id').notNull().unique(),
  at: text('at').notNull(),
  actor: jsonb('actor').$type<AuditActor>().notNull(),
  action: text('action').notNull(),
  target: text('target'),
  before: jsonb('before').$type<AuditEntry['before']>(),
  after: jsonb('after').$type<AuditEntry['after']>(),
});

export const adminTokensTable = pgTable('admin_tokens', {
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
export const a2aClientsTable = pgTable('a2a_clients', {
  id: text('id').primaryKey(),
  name: text('name').notNull(),
  tokenHash: text('token_hash').notNull().unique(),
  grants: jsonb('grants').$type<Grants>().notNull(),
  /** The `sub` of the OIDC access tokens that sign it in; one client per subject. */
  oidcSubject: text('oidc_subject').unique(),
  createdAt: text('created_at').notNull(),
  lastUsedAt: text('last_used_at'),
  revokedAt: text('revoked_at'),
});

/** Where A2A clients asked to be told of their tasks' changes; the secrets sealed. */
export const a2aPushConfigsTable = pgTable(
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
export const a2aAgentsTable = pgTable('a2a_agents', {
  id: text('id').primaryKey(),
  name: text('name').notNull(),
  cardUrl: text('card_url').notNull(),
  endpoint: text('endpoint').notNull(),
  binding: text('binding').$type<'JSONRPC' | 'HTTP+JSON'>().notNull(),
  sealedToken: text('sealed_token'),
  createdAt: text('created_at').notNull(),
});

/** Tasks this instance started on A2A agents, by the agent id they have here. */
export const a2aTasksTable = pgTable(
  'a2a_tasks',
  {
    agentId: text('agent_id').primaryKey(),
    a2aAgentId: text('a2a_agent_id').notNull(),
    remoteTaskId: text('remote_task_id').notNull(),
    done: boolean('done').notNull(),
    createdAt: text('created_at').notNull(),
  },
  (table) => [index('a2a_tasks_active').on(table.done, table.createdAt)],
);

/** The instance's users (docs/protocol.md, "Acting for users"). */
export const usersTable = pgTable('users', {
  id: text('id').primaryKey(),
  name: text('name').notNull(),
  /** The `sub` of their OIDC access tokens; one user per subject. */
  oidcSubject: text('oidc_subject').unique(),
  createdAt: text('created_at').notNull(),
});

/** Its workspaces; `connection_ids` null: every ACTIVE connection. */
export const workspacesTable = pgTable('workspaces', {
  id: text('id').primaryKey(),
  name: text('name').notNull(),
  connectionIds: jsonb('connection_ids').$type<string[]>(),
  createdAt: text('created_at').notNull(),
});

/** Who is in which workspace, with what role. */
export const membershipsTable = pgTable(
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
export const connectionsTable = pgTable('connections', {
  id: text('id').primaryKey(),
  peerInstanceId: text('peer_instance_id').notNull().unique(),
  peerUrl: text('peer_url').notNull(),
  peerName: text('peer_name').notNull(),
  status: text('status').$type<ConnectionStatus>().notNull(),
  direction: text('direction').$type<ConnectionDirection>().notNull(),
  grants: jsonb('grants').$type<Grants>().notNull(),
  peerCapabilities: jsonb('peer_capabilities').$type<Capabilities>().notNull(),
  peerMetadata: jsonb('peer_metadata').$type<Metadata>().notNull(),
  peerKeys: jsonb('peer_keys').$type<PublicJwk[]>().notNull(),
  replacedPeerKeys: jsonb('replaced_peer_keys').$type<ReplacedKey[]>().notNull().default([]),
  peerUrlVouches: boolean('peer_url_vouches').notNull().default(false),
  peerPausedAt: text('peer_paused_at'),
  peerSeenAt: text('peer_seen_at'),
  createdAt: text('created_at').notNull(),
  updatedAt: text('updated_at').notNull(),
  version: integer('version').notNull(),
});

/** The message log (PROTOCOL 2): one row per accepted `(issuer, jti)`. */
export const messageLogTable = pgTable(
  'message_log',
  {
    issuer: text('issuer').notNull(),
    jti: text('jti').notNull(),
    hash: text('hash').notNull(),
    /** Milliseconds since the epoch; an expired row may be claimed again. */
    expiresAt: bigint('expires_at', { mode: 'number' }).notNull(),
    reply: jsonb('reply').$type<StoredReply>(),
  },
  (table) => [primaryKey({ columns: [table.issuer, table.jti] }), index('message_log_expires_at').on(table.expiresAt)],
);

/** Agents this instance runs for peers. `state` repeats `status.status` for filtering. */
export const hostedAgentsTable = pgTable(
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
    status: jsonb('status').$type<AgentStatus>().notNull(),
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
export const remoteAgentsTable = pgTable(
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
    status: jsonb('status').$type<AgentStatus>().notNull(),
    sequence: integer('sequence').notNull(),
    createdAt: text('created_at').notNull(),
  },
  (table) => [
    index('remote_agents_created').on(table.createdAt, table.agentId),
    index('remote_agents_workspace').on(table.ownerWorkspaceId, table.createdAt, table.agentId),
  ],
);

/** Status events of remote agents, for resumable event streams. */
export const agentEventsTable = pgTable(
  'agent_events',
  {
    agentId: text('agent_id').notNull(),
    sequence: integer('sequence').notNull(),
    payload: jsonb('payload').$type<AgentStatusChangedPayload>().notNull(),
  },
  (table) => [primaryKey({ columns: [table.agentId, table.sequence] })],
);

/** Spawns this instance asks peers for, recorded before they are sent (PROTOCOL 6). */
export const spawnRequestsTable = pgTable(
  'spawn_requests',
  {
    idempotencyKey: text('idempotency_key').primaryKey(),
    jti: text('jti').notNull(),
    connectionId: text('connection_id').notNull(),
    payload: jsonb('payload').$type<AgentSpawnPayload>().notNull(),
    deliver: jsonb('deliver').$type<DeliveryRequest>(),
    requestHash: text('request_hash').notNull(),
    actor: jsonb('actor').$type<AuditActor>().notNull(),
    /** The user and workspace it is for, sent as the message's `actor`. */
    owner: jsonb('owner').$type<AgentOwner>(),
    createdAt: text('created_at').notNull(),
    response: jsonb('response').$type<AgentSpawnResponse>(),
  },
  (table) => [index('spawn_requests_created').on(table.createdAt)],
);

/** Branches delivered from agents' bundles. `next_attempt_at` in milliseconds since the epoch. */
export const deliveriesTable = pgTable(
  'deliveries',
  {
    agentId: text('agent_id').primaryKey(),
    request: jsonb('request').$type<DeliveryRequest>().notNull(),
    repository: text('repository').notNull(),
    baseBranch: text('base_branch').notNull(),
    taskId: text('task_id').notNull(),
    state: text('state').$type<DeliveryState>().notNull(),
    attempts: integer('attempts').notNull(),
    nextAttemptAt: bigint('next_attempt_at', { mode: 'number' }).notNull(),
    commit: text('commit'),
    pullRequest: jsonb('pull_request').$type<OpenedPullRequest>(),
    error: text('error'),
    createdAt: text('created_at').notNull(),
    updatedAt: text('updated_at').notNull(),
  },
  (table) => [index('deliveries_due').on(table.state, table.nextAttemptAt)],
);

/**
 * Events waiting to reach peers. Times in milliseconds since the epoch; `seq` keeps the
 * order they were stored in within a millisecond (SQLite's rowid does it there).
 */
export const outboxTable = pgTable(
  'outbox',
  {
    id: text('id').primaryKey(),
    seq: bigint('seq', { mode: 'number' }).generatedAlwaysAsIdentity(),
    connectionId: text('connection_id').notNull(),
    peerInstanceId: text('peer_instance_id').notNull(),
    orderKey: text('order_key'),
    eventType: text('event_type').notNull(),
    payload: jsonb('payload').$type<unknown>().notNull(),
    attempts: integer('attempts').notNull(),
    nextAttemptAt: bigint('next_attempt_at', { mode: 'number' }).notNull(),
    giveUpAt: bigint('give_up_at', { mode: 'number' }).notNull(),
    createdAt: bigint('created_at', { mode: 'number' }).notNull(),
    deliveredAt: bigint('delivered_at', { mode: 'number' }),
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
