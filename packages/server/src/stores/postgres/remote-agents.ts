// The agents this instance spawned on peers, and their events, in PostgreSQL.
import { TERMINAL_STATES, type AgentStatus, type AgentStatusChangedPayload } from '@mosaic-fed/core';
import { and, asc, eq, gt, inArray, lt, notInArray, sql } from 'drizzle-orm';
import { afterCursor, creationOrder, pageOf, toRemoteAgent } from '../sql-shared.js';
import type { RemoteAgentListQuery, RemoteAgentRecord, RemoteAgentStore } from '../types.js';
import { agentEventsTable, remoteAgentsTable } from './schema.js';
import type { Database } from './shared.js';

const storedState = sql`${remoteAgentsTable.status}->>'status'`;
/** A remote agent whose stored status is not terminal (PROTOCOL 5: a terminal one never changes). */
const notTerminal = notInArray(storedState, [...TERMINAL_STATES]);

export class PostgresRemoteAgentStore implements RemoteAgentStore {
  constructor(private readonly db: Database) {}

  async create(record: RemoteAgentRecord): Promise<void> {
    const { owner, ...rest } = record;
    await this.db
      .insert(remoteAgentsTable)
      .values({ ...rest, ownerUserId: owner?.userId ?? null, ownerWorkspaceId: owner?.workspaceId ?? null })
      .onConflictDoNothing();
  }

  async get(agentId: string): Promise<RemoteAgentRecord | undefined> {
    const [row] = await this.db.select().from(remoteAgentsTable).where(eq(remoteAgentsTable.agentId, agentId)).limit(1);
    return row === undefined ? undefined : toRemoteAgent(row);
  }

  async list(query: RemoteAgentListQuery) {
    const { workspaceIds } = query;
    if (workspaceIds?.length === 0) return { agents: [], nextCursor: null };
    const after = afterCursor(remoteAgentsTable.createdAt, remoteAgentsTable.agentId, query.cursor, query.newestFirst);
    if (after === false) return { agents: [], nextCursor: null };
    const rows = await this.db
      .select()
      .from(remoteAgentsTable)
      .where(
        and(
          query.connectionId === undefined ? undefined : eq(remoteAgentsTable.connectionId, query.connectionId),
          query.status === undefined ? undefined : sql`${storedState} = ${query.status}`,
          query.taskId === undefined ? undefined : eq(remoteAgentsTable.taskId, query.taskId),
          query.agentType === undefined ? undefined : eq(remoteAgentsTable.agentType, query.agentType),
          workspaceIds === undefined ? undefined : inArray(remoteAgentsTable.ownerWorkspaceId, [...workspaceIds]),
          after,
        ),
      )
      .orderBy(...creationOrder(remoteAgentsTable.createdAt, remoteAgentsTable.agentId, query.newestFirst))
      .limit(query.limit + 1);
    return pageOf(rows.map(toRemoteAgent), query.limit);
  }

  async applyEvent(agentId: string, event: AgentStatusChangedPayload): Promise<'applied' | 'stale' | 'terminal'> {
    const { sequence, ...status } = event;
    // One statement: the status if it is newer and the stored one not terminal, and its event only then.
    const { rows } = await this.db.execute<{ agent_id: string }>(sql`
      WITH updated AS (
        UPDATE remote_agents SET status = ${JSON.stringify(status)}::jsonb, sequence = ${sequence}::integer
        WHERE ${and(eq(remoteAgentsTable.agentId, agentId), lt(remoteAgentsTable.sequence, sequence), notTerminal)}
        RETURNING agent_id
      )
      INSERT INTO agent_events (agent_id, sequence, payload) SELECT agent_id, ${sequence}::integer, ${JSON.stringify(event)}::jsonb FROM updated
      RETURNING agent_id`);
    if (rows.length === 1) return 'applied';
    // Not applied: only now is it worth a read to say why.
    const [row] = await this.db.select({ sequence: remoteAgentsTable.sequence }).from(remoteAgentsTable).where(eq(remoteAgentsTable.agentId, agentId)).limit(1);
    return row === undefined || row.sequence >= sequence ? 'stale' : 'terminal';
  }

  async getMany(agentIds: readonly string[]): Promise<RemoteAgentRecord[]> {
    if (agentIds.length === 0) return [];
    const rows = await this.db.select().from(remoteAgentsTable).where(inArray(remoteAgentsTable.agentId, [...new Set(agentIds)]));
    return rows.map(toRemoteAgent);
  }

  async refreshStatuses(statuses: readonly AgentStatus[]): Promise<void> {
    if (statuses.length === 0) return;
    await this.db.transaction(async (tx) => {
      for (const status of statuses) {
        await tx.update(remoteAgentsTable).set({ status }).where(and(eq(remoteAgentsTable.agentId, status.agentId), notTerminal));
      }
    });
  }

  async events(agentId: string, afterSequence: number): Promise<AgentStatusChangedPayload[]> {
    const rows = await this.db
      .select({ payload: agentEventsTable.payload })
      .from(agentEventsTable)
      .where(and(eq(agentEventsTable.agentId, agentId), gt(agentEventsTable.sequence, afterSequence)))
      .orderBy(asc(agentEventsTable.sequence));
    return rows.map((row) => row.payload);
  }
}
