// The agents this instance runs for peers, in PostgreSQL.
import type { AgentStatus, AuditEntry } from '@mosaic-fed/core';
import { batchPerTurn, distinctRounds } from '@mosaic-fed/core/util';
import { and, eq, inArray, sql, type SQL } from 'drizzle-orm';
import { ACTIVE_STATES, afterCursor, auditColumns, creationOrder, hostedAgentFilter, pageOf, toHosted } from '../sql-shared.js';
import type { HostedAgentFilter, HostedAgentListQuery, HostedAgentRecord, HostedAgentStore, OutboxEntry, ReserveLimits } from '../types.js';
import { OUTBOX_COLUMNS, OUTBOX_RECORD, outboxRow } from './outbox.js';
import { hostedAgentsTable } from './schema.js';
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
      // The record, and its audit entry only if it went in.
      const entry = audit === undefined ? undefined : auditColumns(audit);
      const { rows } = await tx.execute<{ agent_id: string }>(sql`
        WITH reserved AS (
          INSERT INTO hosted_agents (agent_id, connection_id, owner_instance_id, actor_user_id, actor_workspace_id, via, task_id, state, status, sequence, created_at)
          SELECT ${record.agentId}, ${record.connectionId}, ${record.ownerInstanceId}, ${record.actor?.userId ?? null}, ${workspace}, ${record.via ?? null},
                 ${record.status.taskId}, ${record.status.status}, ${JSON.stringify(record.status)}::jsonb, ${record.sequence}::integer, ${record.createdAt}
          WHERE (${live}) < ${limits.connection}
            AND (${limits.workspace ?? null}::integer IS NULL OR (${liveInWorkspace}) < ${limits.workspace ?? null}::integer)
          ON CONFLICT (agent_id) DO NOTHING
          RETURNING agent_id
        ), audited AS (
          INSERT INTO audit_log (id, at, actor, action, target, before, after)
          SELECT ${entry?.id ?? null}, ${entry?.at ?? null}, ${entry?.actor ?? null}::jsonb, ${entry?.action ?? null}, ${entry?.target ?? null},
                 ${entry?.before ?? null}::jsonb, ${entry?.after ?? null}::jsonb
          FROM reserved WHERE ${entry !== undefined}
        )
        SELECT agent_id FROM reserved`);
      return rows.length === 1;
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
   * The status updates of one turn of the event loop (agents' events come in crowds), in
   * one statement: each status written if it is newer than the stored one, and an update's
   * outbox entries with it, or none of them. One statement per round when one agent has
   * several updates in the turn, so they apply in their order.
   */
  readonly #updates = batchPerTurn(async (updates: StatusUpdate[]) => {
    const written = new Set<StatusUpdate>();
    for (const round of distinctRounds(updates, (update) => update.agentId)) {
      const rows = round.map(({ agentId, status, sequence }, i) => ({ i, agent_id: agentId, status, state: status.status, sequence }));
      const told = round.flatMap(({ tell }, i) => tell.map((entry) => ({ i, ...outboxRow(entry) }))).map((row, n) => ({ ...row, n }));
      const { rows: applied } = await this.db.execute<{ i: number }>(sql`
        WITH input AS (
          SELECT * FROM jsonb_to_recordset(${JSON.stringify(rows)}::jsonb) AS x(i int, agent_id text, status jsonb, state text, sequence int)
        ), updated AS (
          UPDATE hosted_agents SET status = input.status, state = input.state, sequence = input.sequence
          FROM input WHERE hosted_agents.agent_id = input.agent_id AND hosted_agents.sequence < input.sequence
          RETURNING input.i
        ), told AS (
          INSERT INTO outbox (${OUTBOX_COLUMNS})
          SELECT ${OUTBOX_COLUMNS} FROM jsonb_to_recordset(${JSON.stringify(told)}::jsonb) AS t(${OUTBOX_RECORD})
          WHERE t.i IN (SELECT i FROM updated)
          -- In the order given: the outbox hands an order's entries out in the order stored.
          ORDER BY t.n
        )
        SELECT i FROM updated`);
      for (const { i } of applied) {
        const update = round[i];
        if (update !== undefined) written.add(update);
      }
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
  return hostedAgentFilter(hostedAgentsTable, query, (agentType) => sql`${hostedAgentsTable.status}->>'agentType' = ${agentType}`);
}
