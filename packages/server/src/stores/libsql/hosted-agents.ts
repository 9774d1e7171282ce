// The agents this instance runs for peers, in libSQL.
import type { AgentState, AgentStatus, AuditEntry } from '@mosaic-fed/core';
import type { InStatement, InValue, Row, Value } from '@libsql/client';
import { batchPerTurn, distinctRounds, rowsStatement } from '@mosaic-fed/core/util';
import { and, eq, inArray, sql, type SQL } from 'drizzle-orm';
import type { HostedAgentFilter, HostedAgentListQuery, HostedAgentRecord, HostedAgentStore, OutboxEntry, ReserveLimits } from '../types.js';
import { hostedAgentsTable } from './schema.js';
import { auditIfChanged, builtOnce, sqliteDialect, type Database } from './shared.js';
import { ACTIVE_STATES, afterCursor, creationOrder, hostedAgentFilter, pageOf, toHosted } from '../sql-shared.js';

interface Reservation {
  record: HostedAgentRecord;
  limits: ReserveLimits;
  audit: AuditEntry | undefined;
}

/** The connection's agents that count against its limit. */
const liveOf = (connectionId: unknown) =>
  sql`SELECT count(*) FROM hosted_agents WHERE connection_id = ${connectionId} AND state IN ('spawning', 'running', 'waiting')`;

/**
 * A reservation, built once: one statement counts the connection's (and the workspace's)
 * live agents and inserts only under the limits.
 */
const reserveOnce = (() => {
  const v = (name: string) => sql.placeholder(name);
  const live = liveOf(v('connectionId'));
  return builtOnce<Record<'agentId' | 'connectionId' | 'ownerInstanceId' | 'userId' | 'workspaceId' | 'via' | 'taskId' | 'state' | 'status' | 'sequence' | 'createdAt' | 'connectionLimit' | 'workspaceLimit', unknown>>(
    sqliteDialect.sqlToQuery(sql`
      INSERT INTO hosted_agents (agent_id, connection_id, owner_instance_id, actor_user_id, actor_workspace_id, via, task_id, state, status, sequence, created_at)
      SELECT ${v('agentId')}, ${v('connectionId')}, ${v('ownerInstanceId')}, ${v('userId')}, ${v('workspaceId')}, ${v('via')},
             ${v('taskId')}, ${v('state')}, ${v('status')}, ${v('sequence')}, ${v('createdAt')}
      WHERE (${live}) < ${v('connectionLimit')}
        AND (${v('workspaceLimit')} IS NULL OR (${live} AND actor_workspace_id IS ${v('workspaceId')}) < ${v('workspaceLimit')})
      ON CONFLICT (agent_id) DO NOTHING`),
  );
})();

interface StatusUpdate {
  agentId: string;
  status: AgentStatus;
  sequence: number;
  tell: readonly OutboxEntry[];
}

/**
 * Outbox entries, a row each: the agent and sequence of the status update that tells of
 * it, then the entry's columns. Each goes in only if its update's status is newer than the
 * one stored. Run just before {@link updateStatuses} in its transaction, on rows that statement
 * has not changed yet: an update's entries go in exactly when it writes.
 */
const tellIfNewer = rowsStatement(
  14,
  (values) => `INSERT INTO outbox (id, connection_id, peer_instance_id, order_key, event_type, payload, attempts, next_attempt_at, give_up_at, created_at, delivered_at, last_error)
    SELECT t.column3, t.column4, t.column5, t.column6, t.column7, t.column8, t.column9, t.column10, t.column11, t.column12, t.column13, t.column14
    FROM (VALUES ${values}) AS t
    JOIN hosted_agents ON hosted_agents.agent_id = t.column1 AND hosted_agents.sequence < t.column2`,
);

/**
 * Status updates of distinct agents, a row each (id, status as JSON text, state,
 * sequence), each only if newer than the status stored: the ids it wrote come back.
 */
const updateStatuses = rowsStatement(
  4,
  (values) => `UPDATE hosted_agents SET status = u.column2, state = u.column3, sequence = u.column4
    FROM (VALUES ${values}) AS u
    WHERE hosted_agents.agent_id = u.column1 AND hosted_agents.sequence < u.column4
    RETURNING hosted_agents.agent_id`,
);

/** A status update's outbox entries as rows of {@link tellIfNewer}. */
const tellRows = ({ agentId, sequence, tell }: StatusUpdate): InValue[][] =>
  tell.map((entry) => [
    agentId,
    sequence,
    entry.id,
    entry.connectionId,
    entry.peerInstanceId,
    entry.orderKey,
    entry.eventType,
    JSON.stringify(entry.payload),
    entry.attempts,
    entry.nextAttemptAt,
    entry.giveUpAt,
    entry.createdAt,
    entry.deliveredAt,
    entry.lastError,
  ]);

export class LibsqlHostedAgentStore implements HostedAgentStore {
  constructor(private readonly db: Database) {}

  async reserve(record: HostedAgentRecord, limits: ReserveLimits, audit?: AuditEntry): Promise<'reserved' | 'exists' | 'limit' | 'workspace-limit'> {
    if (await this.#reserve({ record, limits, audit })) return 'reserved';
    if ((await this.get(record.agentId)) !== undefined) return 'exists';
    // Not inserted, and not there: which limit it met.
    const [{ count } = { count: 0 }] = await this.db.all<{ count: number }>(sql`SELECT (${liveOf(record.connectionId)}) AS count`);
    return count >= limits.connection ? 'limit' : 'workspace-limit';
  }

  /**
   * The reservations of one turn of the event loop in one transaction (a group commit:
   * spawns come in crowds), each with its audit entry. One statement counts the
   * connection's (and the workspace's) live agents and inserts only under the limits,
   * seeing the reservations before it in the batch, so concurrent spawns can never
   * overshoot them.
   */
  readonly #reserve = batchPerTurn(async (reservations: Reservation[]) => {
    const statements = reservations.flatMap(({ record, limits, audit }) => {
      const insert = reserveOnce({
        agentId: record.agentId,
        connectionId: record.connectionId,
        ownerInstanceId: record.ownerInstanceId,
        userId: record.actor?.userId ?? null,
        workspaceId: record.actor?.workspaceId ?? null,
        via: record.via ?? null,
        taskId: record.status.taskId,
        state: record.status.status,
        status: JSON.stringify(record.status),
        sequence: record.sequence,
        createdAt: record.createdAt,
        connectionLimit: limits.connection,
        workspaceLimit: limits.workspace ?? null,
      });
      return audit === undefined ? [insert] : [insert, auditIfChanged(audit)];
    });
    const results = statements.length === 0 ? [] : await this.db.$client.batch(statements);
    // Each reservation's own result comes first, its audit entry after it.
    let next = 0;
    return reservations.map(({ audit }) => {
      const reserved = results[next]?.rowsAffected === 1;
      next += audit === undefined ? 1 : 2;
      return reserved;
    });
  });

  async get(agentId: string): Promise<HostedAgentRecord | undefined> {
    const [row] = await this.db.select().from(hostedAgentsTable).where(eq(hostedAgentsTable.agentId, agentId)).limit(1);
    return row === undefined ? undefined : toHosted(row);
  }

  async getMany(agentIds: readonly string[]): Promise<HostedAgentRecord[]> {
    if (agentIds.length === 0) return [];
    const { rows } = await this.db.$client.execute({ sql: GET_MANY, args: [JSON.stringify(agentIds)] });
    return rows.map(hostedOfRow);
  }

  async remove(agentId: string): Promise<void> {
    await this.db.delete(hostedAgentsTable).where(eq(hostedAgentsTable.agentId, agentId));
  }

  async updateStatus(agentId: string, status: AgentStatus, sequence: number, tell: readonly OutboxEntry[] = []): Promise<boolean> {
    return this.#updates({ agentId, status, sequence, tell });
  }

  /**
   * The status updates of one turn of the event loop, one transaction for them all (a
   * group commit: agents' events come in crowds): two statements, the updates' outbox
   * entries and the updates, for all agents at once; two per round when one agent has more
   * than one update in the turn, so they apply in their order.
   */
  readonly #updates = batchPerTurn(async (updates: StatusUpdate[]) => {
    const rounds = distinctRounds(updates, (update) => update.agentId);
    const statements: InStatement[] = [];
    const planned = rounds.map((round) => {
      const tell = round.flatMap(tellRows);
      if (tell.length > 0) statements.push({ sql: tellIfNewer(tell.length), args: tell.flat() });
      const args = round.flatMap(({ agentId, status, sequence }) => [agentId, JSON.stringify(status), status.status, sequence]);
      return { round, updatesAt: statements.push({ sql: updateStatuses(round.length), args }) - 1 };
    });
    const results = await this.db.$client.batch(statements);
    const written = new Set<StatusUpdate>();
    for (const { round, updatesAt } of planned) {
      const ids = new Set(results[updatesAt]?.rows.map((row) => String(row.agent_id)));
      for (const update of round) if (ids.has(update.agentId)) written.add(update);
    }
    return updates.map((update) => written.has(update));
  });

  async list(query: HostedAgentListQuery) {
    const after = afterCursor(hostedAgentsTable.createdAt, hostedAgentsTable.agentId, query.cursor, query.newestFirst);
    if (after === false) return { agents: [], nextCursor: null };
    const rows = await this.db
      .select()
      .from(hostedAgentsTable)
      .where(and(filtered(query), after))
      .orderBy(...creationOrder(hostedAgentsTable.createdAt, hostedAgentsTable.agentId, query.newestFirst))
      .limit(query.limit + 1);
    return pageOf(rows.map(toHosted), query.limit);
  }

  async count(query: HostedAgentFilter): Promise<number> {
    return this.db.$count(hostedAgentsTable, filtered(query));
  }

  async listActive(): Promise<HostedAgentRecord[]> {
    const rows = await this.db.select().from(hostedAgentsTable).where(inArray(hostedAgentsTable.state, [...ACTIVE_STATES]));
    return rows.map(toHosted);
  }
}

/**
 * The records among a JSON array of ids: one statement for any number of them, its rows
 * mapped here rather than by drizzle, whose row mapping was a sixth of the CPU of a
 * 100-id `agents.status` (BENCHMARKS.md, 2026-12-08).
 */
const GET_MANY = `SELECT agent_id, connection_id, owner_instance_id, actor_user_id, actor_workspace_id, via, task_id, state, status, sequence, created_at
  FROM hosted_agents WHERE agent_id IN (SELECT value FROM json_each(?))`;

const textOf = (value: Value | undefined): string => String(value);
const textOrNull = (value: Value | undefined): string | null => (value === null || value === undefined ? null : String(value));

/** A row of {@link GET_MANY} as drizzle would map it, then as a record. */
function hostedOfRow(row: Row): HostedAgentRecord {
  return toHosted({
    agentId: textOf(row.agent_id),
    connectionId: textOf(row.connection_id),
    ownerInstanceId: textOf(row.owner_instance_id),
    actorUserId: textOrNull(row.actor_user_id),
    actorWorkspaceId: textOrNull(row.actor_workspace_id),
    via: textOrNull(row.via) as 'a2a' | null,
    taskId: textOf(row.task_id),
    state: textOf(row.state) as AgentState,
    status: JSON.parse(textOf(row.status)) as AgentStatus,
    sequence: Number(row.sequence),
    createdAt: textOf(row.created_at),
  });
}

/** The conditions of a list's filters. */
function filtered(query: HostedAgentFilter): SQL | undefined {
  return hostedAgentFilter(hostedAgentsTable, query, (agentType) => sql`json_extract(${hostedAgentsTable.status}, '$.agentType') = ${agentType}`);
}
