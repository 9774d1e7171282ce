// What the SQL stores (libSQL and PostgreSQL) share whatever the dialect: keyset paging by
// (createdAt, id) and the mapping of rows to records. Both schemas infer the same row types.
import type { AuditEntry, User } from '@mosaic-fed/core';
import { and, asc, desc, eq, gt, lt, or, type AnyColumn, type SQL } from 'drizzle-orm';
import { decodeCursor, encodeCursor } from './lib-cursor.js';
import type {
  adminTokensTable,
  a2aClientsTable,
  auditTable,
  connectionsTable,
  hostedAgentsTable,
  instanceTable,
  remoteAgentsTable,
  usersTable,
} from './libsql/schema.js';
import type { A2AClientRecord, AdminTokenRecord, ConnectionRecord, HostedAgentFilter, HostedAgentRecord, InstanceRecord, RemoteAgentRecord } from './types.js';

export const ACTIVE_STATES = ['spawning', 'running', 'waiting'] as const;

/**
 * `WHERE (createdAt, id) > cursor` (or `<` with `newestFirst`), or nothing for the first
 * page; `false` for a bad cursor.
 */
export function afterCursor(createdAt: AnyColumn, id: AnyColumn, cursor: string | undefined, newestFirst = false): SQL | undefined | false {
  if (cursor === undefined) return undefined;
  const after = decodeCursor(cursor);
  if (after === undefined) return false;
  const beyond = newestFirst ? lt : gt;
  return or(beyond(createdAt, after.createdAt), and(eq(createdAt, after.createdAt), beyond(id, after.id)));
}

/** The order of a page by (createdAt, id): oldest first, or newest first. */
export function creationOrder(createdAt: AnyColumn, id: AnyColumn, newestFirst = false): SQL[] {
  return newestFirst ? [desc(createdAt), desc(id)] : [asc(createdAt), asc(id)];
}

export function pageOf<T extends { createdAt: string; agentId: string }>(rows: T[], limit: number) {
  const agents = rows.slice(0, limit);
  const last = agents.at(-1);
  return { agents, nextCursor: rows.length > limit && last !== undefined ? encodeCursor(last.createdAt, last.agentId) : null };
}

export function toInstanceRecord(row: typeof instanceTable.$inferSelect): InstanceRecord {
  const { id: _id, ...record } = row;
  return record;
}

/** An audit entry's values as its columns take them in SQL of one's own: JSON as text. */
export function auditColumns(entry: AuditEntry): Record<'id' | 'at' | 'actor' | 'action' | 'target' | 'before' | 'after', string | null> {
  const json = (value: unknown) => (value === null ? null : JSON.stringify(value));
  return { id: entry.id, at: entry.at, actor: JSON.stringify(entry.actor), action: entry.action, target: entry.target, before: json(entry.before), after: json(entry.after) };
}

export function toAuditEntry(row: typeof auditTable.$inferSelect): AuditEntry {
  const { seq: _seq, ...entry } = row;
  return entry;
}

/** A row as a record: `userId` only on a user's token. */
export function toAdminToken(row: typeof adminTokensTable.$inferSelect): AdminTokenRecord {
  const { userId, ...record } = row;
  return userId === null ? record : { ...record, userId };
}

/** A row as a record: `oidcSubject` only where one is set. */
export function toA2AClient(row: typeof a2aClientsTable.$inferSelect): A2AClientRecord {
  const { oidcSubject, ...record } = row;
  return oidcSubject === null ? record : { ...record, oidcSubject };
}

/** A row as a user: `oidcSubject` only when one is linked. */
export function toUser(row: typeof usersTable.$inferSelect): User {
  const { oidcSubject, ...user } = row;
  return oidcSubject === null ? user : { ...user, oidcSubject };
}

/** A row as a record: `peerPausedAt` only while the peer refuses messages, `peerSeenAt` once it was heard from. */
export function toConnection(row: typeof connectionsTable.$inferSelect): ConnectionRecord {
  const { peerPausedAt, peerSeenAt, ...record } = row;
  return {
    ...record,
    ...(peerPausedAt === null ? {} : { peerPausedAt }),
    ...(peerSeenAt === null ? {} : { peerSeenAt }),
  };
}

export function toHosted(row: typeof hostedAgentsTable.$inferSelect): HostedAgentRecord {
  const { state: _state, taskId: _taskId, actorUserId, actorWorkspaceId, via, ...rest } = row;
  const record: HostedAgentRecord = via === null ? rest : { ...rest, via };
  if (actorUserId === null) return record;
  return { ...record, actor: actorWorkspaceId === null ? { userId: actorUserId } : { userId: actorUserId, workspaceId: actorWorkspaceId } };
}

/** A row as a record: `owner` only for an agent spawned for a user. */
export function toRemoteAgent(row: typeof remoteAgentsTable.$inferSelect): RemoteAgentRecord {
  const { ownerUserId, ownerWorkspaceId, ...record } = row;
  return ownerUserId === null || ownerWorkspaceId === null ? record : { ...record, owner: { userId: ownerUserId, workspaceId: ownerWorkspaceId } };
}

/**
 * The conditions of a hosted-agent list's filters, on either dialect's table; `agentTypeIs`
 * reads the agent type from the status JSON in the dialect's own way.
 */
export function hostedAgentFilter(
  table: Record<'ownerInstanceId' | 'actorWorkspaceId' | 'connectionId' | 'state' | 'taskId', AnyColumn>,
  query: HostedAgentFilter,
  agentTypeIs: (agentType: string) => SQL,
): SQL | undefined {
  return and(
    query.ownerInstanceId === undefined ? undefined : eq(table.ownerInstanceId, query.ownerInstanceId),
    query.workspaceId === undefined ? undefined : eq(table.actorWorkspaceId, query.workspaceId),
    query.connectionId === undefined ? undefined : eq(table.connectionId, query.connectionId),
    query.status === undefined ? undefined : eq(table.state, query.status),
    query.taskId === undefined ? undefined : eq(table.taskId, query.taskId),
    query.agentType === undefined ? undefined : agentTypeIs(query.agentType),
  );
}
