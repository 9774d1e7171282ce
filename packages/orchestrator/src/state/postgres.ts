// Agent state in PostgreSQL through drizzle's node-postgres driver: for many machines
// sharing one database. Its migrations are drizzle-kit's, embedded (postgres-migrations.ts),
// with a ledger of their own beside the server's stores.
import { TERMINAL_STATES, type AgentStatus, type AgentStatusChangedPayload, type TranscriptEntry } from '@mosaic-fed/core';
import { applyPostgresMigrations, batchPerTurn, distinctRounds } from '@mosaic-fed/core/util';
import { and, asc, eq, gt, inArray, notInArray, sql } from 'drizzle-orm';
import { drizzle, type NodePgDatabase } from 'drizzle-orm/node-postgres';
import type { Pool } from 'pg';
import { MIGRATIONS } from './postgres-migrations.js';
import { agentsTable, answersTable, bundlesTable, eventsTable, schema, transcriptTable } from './postgres-schema.js';
import { inAskedOrder, jsonOrNull, toAgent } from './sql-rows.js';
import type { AgentStateStore, NewTranscriptEntry, StoredAgent, StoredAnswer } from './types.js';

/** The orchestrator's migration ledger: the server's stores may share the database. */
export const ORCHESTRATOR_MIGRATION_LEDGER = '__drizzle_migrations_orchestrator';

/** Options for {@link createPostgresAgentStateStore}. */
export interface PostgresAgentStateOptions {
  /** End the pool when the store closes. Default: true. */
  closePool?: boolean;
}

/**
 * Creates the store on a `pg` pool, applying pending migrations first.
 *
 * @example
 * ```ts
 * const store = await createPostgresAgentStateStore(new pg.Pool({ connectionString: process.env.MOSAIC_FED_DATABASE_URL }));
 * ```
 */
export async function createPostgresAgentStateStore(pool: Pool, options: PostgresAgentStateOptions = {}): Promise<AgentStateStore> {
  await applyPostgresMigrations(pool, MIGRATIONS, ORCHESTRATOR_MIGRATION_LEDGER);
  return new PostgresAgentStateStore(drizzle(pool, { schema }), options.closePool ?? true ? () => pool.end() : async () => undefined);
}

interface Move {
  agentId: string;
  expectedSequence: number;
  status: AgentStatus;
}

class PostgresAgentStateStore implements AgentStateStore {
  readonly #db: NodePgDatabase<typeof schema>;
  readonly #close: () => Promise<void>;

  constructor(db: NodePgDatabase<typeof schema>, close: () => Promise<void>) {
    this.#db = db;
    this.#close = close;
  }

  async create(agent: StoredAgent): Promise<'created' | 'exists'> {
    // One statement: the agent, and its first event only if the agent was new.
    const { rows } = await this.#db.execute<{ agent_id: string }>(sql`
      WITH inserted AS (
        INSERT INTO orchestrator_agents (agent_id, owner_instance_id, spec, egress, max_tokens, approvals, traceparent, status, state, sequence)
        VALUES (${agent.agentId}, ${agent.ownerInstanceId}, ${jsonOrNull(agent.spec)}::jsonb, ${jsonOrNull(agent.egress)}::jsonb, ${agent.maxTokens ?? null}::integer,
                ${jsonOrNull(agent.approvals)}::jsonb, ${agent.traceparent ?? null}, ${jsonOrNull(agent.status)}::jsonb, ${agent.status.status}, ${agent.sequence}::integer)
        ON CONFLICT (agent_id) DO NOTHING
        RETURNING agent_id
      )
      INSERT INTO orchestrator_events (agent_id, sequence, payload)
      SELECT agent_id, ${agent.sequence}::integer, ${jsonOrNull({ ...agent.status, sequence: agent.sequence })}::jsonb FROM inserted
      RETURNING agent_id`);
    return rows.length === 1 ? 'created' : 'exists';
  }

  async get(agentId: string): Promise<StoredAgent | undefined> {
    const [row] = await this.#db.select().from(agentsTable).where(eq(agentsTable.agentId, agentId)).limit(1);
    return row === undefined ? undefined : toAgent(row);
  }

  async statuses(agentIds: readonly string[]): Promise<(AgentStatus | undefined)[]> {
    const distinct = [...new Set(agentIds)];
    if (distinct.length === 0) return [];
    const rows = await this.#db
      .select({ agentId: agentsTable.agentId, status: sql<string>`${agentsTable.status}::text` })
      .from(agentsTable)
      .where(inArray(agentsTable.agentId, distinct));
    return inAskedOrder(agentIds, rows);
  }

  update(agentId: string, expectedSequence: number, status: AgentStatus): Promise<AgentStatusChangedPayload | undefined> {
    return this.#updates({ agentId, expectedSequence, status });
  }

  /**
   * The moves of one turn of the event loop (agents move in crowds) in one statement: each
   * its own compare-and-set, its event written only if it moved. One statement per round
   * when one agent moves more than once in the turn, so its moves apply in their order.
   */
  readonly #updates = batchPerTurn(async (moves: Move[]) => {
    const moved = new Map<Move, AgentStatusChangedPayload>();
    for (const round of distinctRounds(moves, (move) => move.agentId)) {
      const rows = round.map(({ agentId, expectedSequence, status }, i) => ({ i, agent_id: agentId, expected: expectedSequence, event: { ...status, sequence: expectedSequence + 1 } }));
      const { rows: applied } = await this.#db.execute<{ i: number }>(sql`
        WITH input AS (
          SELECT * FROM jsonb_to_recordset(${JSON.stringify(rows)}::jsonb) AS x(i int, agent_id text, expected int, event jsonb)
        ), moved AS (
          UPDATE orchestrator_agents SET status = input.event - 'sequence', state = input.event->>'status', sequence = input.expected + 1
          FROM input WHERE orchestrator_agents.agent_id = input.agent_id AND orchestrator_agents.sequence = input.expected
          RETURNING input.i, input.agent_id, input.expected + 1 AS sequence, input.event
        ), events AS (
          INSERT INTO orchestrator_events (agent_id, sequence, payload) SELECT agent_id, sequence, event FROM moved
        )
        SELECT i FROM moved`);
      for (const { i } of applied) {
        const row = rows[i];
        const move = round[i];
        if (row !== undefined && move !== undefined) moved.set(move, row.event);
      }
    }
    return moves.map((move) => moved.get(move));
  });

  async events(agentId: string, afterSequence: number): Promise<AgentStatusChangedPayload[]> {
    const rows = await this.#db
      .select({ payload: eventsTable.payload })
      .from(eventsTable)
      .where(and(eq(eventsTable.agentId, agentId), gt(eventsTable.sequence, afterSequence)))
      .orderBy(asc(eventsTable.sequence));
    return rows.map((row) => row.payload);
  }

  async listActive(): Promise<StoredAgent[]> {
    const rows = await this.#db.select().from(agentsTable).where(notInArray(agentsTable.state, [...TERMINAL_STATES]));
    return rows.map(toAgent);
  }

  async appendTranscript(agentId: string, entries: readonly NewTranscriptEntry[]): Promise<void> {
    if (entries.length === 0) return;
    await this.#db.transaction(async (tx) => {
      // Appends to one transcript number their entries one after another.
      await tx.execute(sql`SELECT pg_advisory_xact_lock(hashtextextended(${`mosaic-fed:transcript:${agentId}`}, 0))`);
      const [last] = await tx
        .select({ index: sql<number | null>`max(${transcriptTable.index})` })
        .from(transcriptTable)
        .where(eq(transcriptTable.agentId, agentId));
      const after = last?.index ?? 0;
      await tx.insert(transcriptTable).values(entries.map((entry, i) => ({ agentId, index: after + i + 1, entry })));
    });
  }

  async transcript(agentId: string, after: number, limit: number): Promise<TranscriptEntry[]> {
    const rows = await this.#db
      .select()
      .from(transcriptTable)
      .where(and(eq(transcriptTable.agentId, agentId), gt(transcriptTable.index, after)))
      .orderBy(asc(transcriptTable.index))
      .limit(limit);
    return rows.map((row) => ({ ...row.entry, index: row.index }));
  }

  async putBundle(agentId: string, bundle: Uint8Array): Promise<void> {
    await this.#db.insert(bundlesTable).values({ agentId, data: bundle }).onConflictDoUpdate({ target: bundlesTable.agentId, set: { data: bundle } });
  }

  async readBundle(agentId: string, offset: number, length: number): Promise<Uint8Array | undefined> {
    // substring counts a bytea's bytes from 1: only the range leaves the database.
    const [row] = await this.#db
      .select({ range: sql<Uint8Array>`substring(${bundlesTable.data} from ${offset + 1}::integer for ${length}::integer)` })
      .from(bundlesTable)
      .where(eq(bundlesTable.agentId, agentId));
    if (row === undefined) return undefined;
    return new Uint8Array(row.range.buffer, row.range.byteOffset, row.range.byteLength);
  }

  async putAnswer(agentId: string, answer: StoredAnswer): Promise<boolean> {
    const inserted = await this.#db
      .insert(answersTable)
      .values({ agentId, approvalId: answer.approvalId, answer })
      .onConflictDoNothing()
      .returning({ agentId: answersTable.agentId });
    return inserted.length === 1;
  }

  async answer(agentId: string, approvalId: string): Promise<StoredAnswer | undefined> {
    const [row] = await this.#db
      .select({ answer: answersTable.answer })
      .from(answersTable)
      .where(and(eq(answersTable.agentId, agentId), eq(answersTable.approvalId, approvalId)))
      .limit(1);
    return row?.answer;
  }

  close(): Promise<void> {
    return this.#close();
  }
}
