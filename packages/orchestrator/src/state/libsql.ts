// Agent state in libSQL through drizzle: a SQLite file for one machine, or a libSQL/Turso
// server by URL. Takes a client the caller created, so it runs wherever @libsql/client
// does; its migrations are drizzle-kit's, embedded (libsql-migrations.ts). What every agent
// runs many times (its creation, its moves, its status read) is SQL of its own, built once
// and run through the client.
import { TERMINAL_STATES, type AgentStatus, type AgentStatusChangedPayload, type TranscriptEntry } from '@mosaic-fed/core';
import { applyMigrations, batchPerTurn, distinctRounds, hasTable, lastAppliedMigration, migrationLedgerRow, rowsStatement } from '@mosaic-fed/core/util';
import type { Client, ResultSet } from '@libsql/client';
import { and, asc, eq, gt, notInArray, sql } from 'drizzle-orm';
import { drizzle } from 'drizzle-orm/libsql/web';
import { MIGRATIONS } from './libsql-migrations.js';
import { agentsTable, answersTable, bundlesTable, eventsTable, schema, transcriptTable } from './libsql-schema.js';
import { inAskedOrder, jsonOrNull, toAgent } from './sql-rows.js';
import type { AgentStateStore, NewTranscriptEntry, StoredAgent, StoredAnswer } from './types.js';

type Database = ReturnType<typeof drizzle<typeof schema>>;

/** Options for {@link createLibsqlAgentStateStore}. */
export interface LibsqlAgentStateOptions {
  /** Close the client when the store closes. Default: false (the caller closes it). */
  closeClient?: boolean;
}

/**
 * Creates the store, applying pending migrations first.
 *
 * @example
 * ```ts
 * const store = await createLibsqlAgentStateStore(createClient({ url: 'file:./data/orchestrator.db' }));
 * ```
 */
export async function createLibsqlAgentStateStore(client: Client, options: LibsqlAgentStateOptions = {}): Promise<AgentStateStore> {
  await adoptUnrecordedSchema(client);
  await applyMigrations(client, MIGRATIONS);
  return new LibsqlAgentStateStore(drizzle(client, { schema }), options.closeClient === true ? () => client.close() : () => undefined);
}

/**
 * Before drizzle-kit, the schema was made with `CREATE TABLE IF NOT EXISTS` and no
 * ledger. Those tables are the first migration's: it is recorded as applied, not run.
 */
async function adoptUnrecordedSchema(client: Client): Promise<void> {
  const [first] = MIGRATIONS;
  if (first === undefined || (await lastAppliedMigration(client)) > 0) return;
  if (await hasTable(client, 'orchestrator_agents')) await client.execute(migrationLedgerRow(first));
}

interface Move {
  agentId: string;
  expectedSequence: number;
  status: AgentStatus;
}

/**
 * The statuses among a JSON array of ids: one statement built once for any number of them,
 * each status kept as text for {@link inAskedOrder} (read by every watcher's poll and every
 * status message, batched per turn).
 */
const STATUSES = 'SELECT agent_id, status FROM orchestrator_agents WHERE agent_id IN (SELECT value FROM json_each(?))';

/**
 * New agents, a row each (JSON columns as JSON text), unless an id is known: the ids it
 * inserted come back. Of an id twice in one statement, the first goes in.
 */
const create = rowsStatement(
  10,
  (values) => `INSERT INTO orchestrator_agents (agent_id, owner_instance_id, spec, egress, max_tokens, approvals, traceparent, status, state, sequence)
    VALUES ${values}
    ON CONFLICT (agent_id) DO NOTHING
    RETURNING agent_id`,
);

/**
 * Moves of distinct agents, a row each (id, the sequence it read, status as JSON text,
 * state), each a compare-and-set on the sequence it read: the ids it moved come back.
 */
const move = rowsStatement(
  4,
  (values) => `UPDATE orchestrator_agents SET status = m.column3, state = m.column4, sequence = m.column2 + 1
    FROM (VALUES ${values}) AS m
    WHERE orchestrator_agents.agent_id = m.column1 AND orchestrator_agents.sequence = m.column2
    RETURNING orchestrator_agents.agent_id`,
);

/** The ids of the rows a statement's RETURNING gave back. */
const returnedIds = (result: ResultSet | undefined): Set<string> => new Set(result?.rows.map((row) => String(row.agent_id)));

class LibsqlAgentStateStore implements AgentStateStore {
  readonly #db: Database;
  readonly #close: () => void;

  constructor(db: Database, close: () => void) {
    this.#db = db;
    this.#close = close;
  }

  async create(agent: StoredAgent): Promise<'created' | 'exists'> {
    return this.#creates(agent);
  }

  /**
   * The new agents of one turn of the event loop in one statement (a group commit). Each
   * new agent's first event is written by the database with it (migration 0007's trigger).
   */
  readonly #creates = batchPerTurn(async (agents: StoredAgent[]) => {
    const args = agents.flatMap((agent) => [
      agent.agentId,
      agent.ownerInstanceId,
      JSON.stringify(agent.spec),
      jsonOrNull(agent.egress),
      agent.maxTokens ?? null,
      jsonOrNull(agent.approvals),
      agent.traceparent ?? null,
      JSON.stringify(agent.status),
      agent.status.status,
      agent.sequence,
    ]);
    const created = returnedIds(await this.#db.$client.execute({ sql: create(agents.length), args }));
    // Of an id asked for twice, only the first was new.
    return agents.map((agent): 'created' | 'exists' => (created.delete(agent.agentId) ? 'created' : 'exists'));
  });

  async get(agentId: string): Promise<StoredAgent | undefined> {
    const [row] = await this.#db.select().from(agentsTable).where(eq(agentsTable.agentId, agentId)).limit(1);
    return row === undefined ? undefined : toAgent(row);
  }

  async statuses(agentIds: readonly string[]): Promise<(AgentStatus | undefined)[]> {
    const distinct = [...new Set(agentIds)];
    if (distinct.length === 0) return [];
    const { rows } = await this.#db.$client.execute({ sql: STATUSES, args: [JSON.stringify(distinct)] });
    return inAskedOrder(agentIds, rows.map((row) => ({ agentId: String(row.agent_id), status: String(row.status) })));
  }

  async update(agentId: string, expectedSequence: number, status: AgentStatus): Promise<AgentStatusChangedPayload | undefined> {
    return this.#updates({ agentId, expectedSequence, status });
  }

  /**
   * The moves of one turn of the event loop in one transaction (a group commit: agents
   * move in crowds), one statement for all, each its own compare-and-set; one statement per
   * round when one agent moves more than once in the turn, so its moves apply in their
   * order. A move's event is written by the database with it (migration 0007's trigger).
   */
  readonly #updates = batchPerTurn(async (moves: Move[]) => {
    const rounds = distinctRounds(moves, (move) => move.agentId);
    const results = await this.#db.$client.batch(
      rounds.map((round) => ({
        sql: move(round.length),
        args: round.flatMap(({ agentId, expectedSequence, status }) => [agentId, expectedSequence, JSON.stringify(status), status.status]),
      })),
    );
    const moved = new Set<Move>();
    rounds.forEach((round, index) => {
      const ids = returnedIds(results[index]);
      for (const move of round) if (ids.has(move.agentId)) moved.add(move);
    });
    return moves.map((move): AgentStatusChangedPayload | undefined => (moved.has(move) ? { ...move.status, sequence: move.expectedSequence + 1 } : undefined));
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
    const [first, ...rest] = entries.map(
      // Each statement numbers its entry one above the last, in one batch: one transaction.
      (entry) => this.#db.run(sql`
        INSERT INTO ${transcriptTable} (agent_id, idx, entry)
        SELECT ${agentId}, COALESCE(MAX(idx), 0) + 1, ${JSON.stringify(entry)} FROM ${transcriptTable} WHERE agent_id = ${agentId}`),
    );
    if (first !== undefined) await this.#db.batch([first, ...rest]);
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
    const data = Buffer.from(bundle.buffer, bundle.byteOffset, bundle.byteLength);
    await this.#db.insert(bundlesTable).values({ agentId, data }).onConflictDoUpdate({ target: bundlesTable.agentId, set: { data } });
  }

  async readBundle(agentId: string, offset: number, length: number): Promise<Uint8Array | undefined> {
    // substr counts a BLOB's bytes from 1: only the range leaves the database.
    const [row] = await this.#db
      .select({ range: sql<ArrayBuffer | Uint8Array>`substr(${bundlesTable.data}, ${offset + 1}, ${length})` })
      .from(bundlesTable)
      .where(eq(bundlesTable.agentId, agentId));
    if (row === undefined) return undefined;
    return row.range instanceof Uint8Array ? row.range : new Uint8Array(row.range);
  }

  async putAnswer(agentId: string, answer: StoredAnswer): Promise<boolean> {
    const inserted = await this.#db.insert(answersTable).values({ agentId, approvalId: answer.approvalId, answer }).onConflictDoNothing();
    return inserted.rowsAffected === 1;
  }

  async answer(agentId: string, approvalId: string): Promise<StoredAnswer | undefined> {
    const [row] = await this.#db
      .select({ answer: answersTable.answer })
      .from(answersTable)
      .where(and(eq(answersTable.agentId, agentId), eq(answersTable.approvalId, approvalId)))
      .limit(1);
    return row?.answer;
  }

  async close(): Promise<void> {
    this.#close();
  }
}
