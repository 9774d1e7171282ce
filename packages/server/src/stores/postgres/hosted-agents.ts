// The agents this instance runs for peers, in PostgreSQL.
import type { AgentStatus, AuditEntry } from '@mosaic-fed/core';
import { batchPerTurn } from '@mosaic-fed/core/util';
import { and, eq, inArray, lt, sql, type SQL } from 'drizzle-orm';
import { ACTIVE_STATES, afterCursor, creationOrder, pageOf, toHosted } from '../sql-shared.js';
import type { HostedAgentFilter, HostedAgentListQuery, HostedAgentRecord, HostedAgentStore, OutboxEntry, ReserveLimits } from '../types.js';
import { auditTable, hostedAgentsTable, outboxTable } from './schema.js';
import type { Database } from './shared.js';

interface StatusUpdate {
  agentId: string;
  status: AgentStatus;
  sequence: number;
  tell: readonly OutboxEntry[];
}

export class PostgresHostedAgentStore implements HostedAgentStore {
  constructor(private readonly db: Database) {}

  async reserve(record: HostedAgentRecord, limits: ReserveLimits, audit?: AuditEntry): Promise<'reserved' | 'exists' | 'limit' | 'workspace-limit'> {
    const workspace = record.actor?.workspaceId ?? null;
    const live = sql`SELECT count(*) FROM hosted_agents WHERE connection_id = ${record.connectionId} AND state IN ('spawning', 'running', 'waiting')`;
    const liveInWorkspace = sql`${live} AND actor_workspace_id IS NOT DISTINCT FROM ${workspace}`;
    const reserved = await this.db.transaction(async (tx) => {
      // Concurrent spawns on one connection count and insert one after another (SQLite
      // has one writer; here a lock per connection, held to the end of the transaction),
      // so they can never overshoot the limits.
      await tx.execute(sql`SELECT pg_advisory_xact_lock(hashtextextended(${`mosaic-fed:hosted:${record.connectionId}`}, 0))`);
      const { rowCount } = await tx.execute(sql`
        INSERT INTO hosted_agents (agent_id, connection_id, owner_instance_id, actor_user_id, actor_workspace_id, via, task_id, state, status, sequence, created_at)
        SELECT ${record.agentId}, ${record.connectionId}, ${record.ownerInstanceId}, ${record.actor?.userId ?? null}, ${workspace}, ${record.via ?? null},
               ${record.status.taskId}, ${record.status.status}, ${JSON.stringify(record.status)}::jsonb, ${record.sequence}, ${record.createdAt}
        WHERE (${live}) < ${limits.connection}
          AND (${limits.workspace ?? null}::integer IS NULL OR (${liveInWorkspace}) < ${limits.workspace ?? null}::integer)
        ON CONFLICT (agent_id) DO NOTHING`);
      if (rowCount !== 1) return false;
      if (audit !== undefined) await tx.insert(auditTable).values(audit);
      return true;
    });
    if (reserved) return 'reserved';
    if ((await this.get(record.agentId)) !== undefined) return 'exists';
    // Not inserted, and not there: which limit it met.
    const { rows } = await this.db.execute<{ count: string }>(sql`SELECT (${live}) AS count`);
    return Number(rows[0]?.count ?? 0) >= limits.connection ? 'limit' : 'workspace-limit';
  }

  async get(agentId: string): Promise<HostedAgentRecord | undefined> {
    const [row] = await this.db.select().from(hostedAgentsTable).where(eq(hostedAgentsTable.agentId, agentId)).limit(1);
    return row === undefined ? undefined : toHosted(row);
  }

  async getMany(agentIds: readonly string[]): Promise<HostedAgentRecord[]> {
    if (agentIds.length === 0) return [];
    const rows = await this.db.select().from(hostedAgentsTable).where(inArray(hostedAgentsTable.agentId, [...new Set(agentIds)]));
    return rows.map(toHosted);
  }

  async remove(agentId: string): Promise<void> {
    await this.db.delete(hostedAgentsTable).where(eq(hostedAgentsTable.agentId, agentId));
  }

  updateStatus(agentId: string, status: AgentStatus, sequence: number, tell: readonly OutboxEntry[] = []): Promise<boolean> {
    return this.#updates({ agentId, status, sequence, tell });
  }

  /**
   * The status updates of one turn of the event loop, one transaction for them all (a
   * group commit: agents' events come in crowds). An update's outbox entries go in only
   * if its status did: all of them with it, or none.
   */
  readonly #updates = batchPerTurn((updates: StatusUpdate[]) =>
    this.db.transaction(async (tx) => {
      const written: boolean[] = [];
      for (const { agentId, status, sequence, tell } of updates) {
        const updated = await tx
          .update(hostedAgentsTable)
          .set({ status, state: status.status, sequence })
          .where(and(eq(hostedAgentsTable.agentId, agentId), lt(hostedAgentsTable.sequence, sequence)))
          .returning({ agentId: hostedAgentsTable.agentId });
        written.push(updated.length === 1);
        if (updated.length === 1 && tell.length > 0) await tx.insert(outboxTable).values([...tell]);
      }
      return written;
    }),
  );

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

  count(query: HostedAgentFilter): Promise<number> {
    return this.db.$count(hostedAgentsTable, filtered(query));
  }

  async listActive(): Promise<HostedAgentRecord[]> {
    const rows = await this.db.select().from(hostedAgentsTable).where(inArray(hostedAgentsTable.state, [...ACTIVE_STATES]));
    return rows.map(toHosted);
  }
}

/** The conditions of a list's filters. */
function filtered(query: HostedAgentFilter): SQL | undefined {
  return and(
    query.ownerInstanceId === undefined ? undefined : eq(hostedAgentsTable.ownerInstanceId, query.ownerInstanceId),
    query.workspaceId === undefined ? undefined : eq(hostedAgentsTable.actorWorkspaceId, query.workspaceId),
    query.connectionId === undefined ? undefined : eq(hostedAgentsTable.connectionId, query.connectionId),
    query.status === undefined ? undefined : eq(hostedAgentsTable.state, query.status),
    query.taskId === undefined ? undefined : eq(hostedAgentsTable.taskId, query.taskId),
    query.agentType === undefined ? undefined : sql`${hostedAgentsTable.status}->>'agentType' = ${query.agentType}`,
  );
}
