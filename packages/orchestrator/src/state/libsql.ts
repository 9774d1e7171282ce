// Agent state in libSQL through drizzle: a SQLite file for one machine, or a libSQL/Turso
// server by URL. Takes a client the caller created, so it runs wherever @libsql/client
// does; its migrations are drizzle-kit's, embedded (libsql-migrations.ts).
import { TERMINAL_STATES, type AgentStatus, type AgentStatusChangedPayload, type TranscriptEntry } from '@mosaic-fed/core';
import { applyMigrations, batchPerTurn, hasTable, lastAppliedMigration, migrationLedgerRow } from '@mosaic-fed/core/util';
import type { Client, InArgs, InStatement } from '@libsql/client';
import { and, asc, eq, fillPlaceholders, gt, notInArray, sql, type Query } from 'drizzle-orm';
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
 * A statement built once, its values named with `sql.placeholder`: each call fills them in
 * and builds no SQL (drizzle builds a query's SQL again on every run). For the writes of
 * every move; JSON values go in as text (a placeholder in SQL of one's own is not encoded).
 */
function builtOnce<Values extends Record<string, unknown>>(query: Query): (values: Values) => InStatement {
  return (values) => ({ sql: query.sql, args: fillPlaceholders(query.params, values) as InArgs });
}

/** Placeholders of a move: the compare-and-set of its status. */
const at = {
  agentId: sql.placeholder('agentId'),
  status: sql.placeholder('status'),
  state: sql.placeholder('state'),
  sequence: sql.placeholder('sequence'),
  expectedSequence: sql.placeholder('expectedSequence'),
};

/**
 * The statuses among a JSON array of ids: one statement built once for any number of them,
 * each status kept as text for {@link inAskedOrder} (read by every watcher's poll and every
 * status message, batched per turn).
 */
const STATUSES = 'SELECT agent_id, status FROM orchestrator_agents WHERE agent_id IN (SELECT value FROM json_each(?))';

class LibsqlAgentStateStore implements AgentStateStore {
  readonly #db: Database;
  readonly #close: () => void;
  /** A new agent, unless its id is known: JSON columns as text. */
  readonly #create: ReturnType<typeof builtOnce<Record<keyof typeof agentsTable.$inferInsert, unknown>>>;
  /** A move's compare-and-set on the sequence it read. */
  readonly #move: ReturnType<typeof builtOnce<{ agentId: string; status: string; state: string; sequence: number; expectedSequence: number }>>;

  constructor(db: Database, close: () => void) {
    this.#db = db;
    this.#close = close;
    const column = (name: keyof typeof agentsTable.$inferInsert) => sql`${sql.placeholder(name)}`;
    this.#create = builtOnce(
      db
        .insert(agentsTable)
        .values({
          agentId: column('agentId'),
          ownerInstanceId: column('ownerInstanceId'),
          spec: column('spec'),
          egress: column('egress'),
          maxTokens: column('maxTokens'),
          approvals: column('approvals'),
          traceparent: column('traceparent'),
          status: column('status'),
          state: column('state'),
          sequence: column('sequence'),
        })
        .onConflictDoNothing()
        .toSQL(),
    );
    this.#move = builtOnce(
      db
        .update(agentsTable)
        .set({ status: sql`${at.status}`, state: sql`${at.state}`, sequence: sql`${at.sequence}` })
        .where(and(eq(agentsTable.agentId, at.agentId), eq(agentsTable.sequence, at.expectedSequence)))
        .toSQL(),
    );
  }

  async create(agent: StoredAgent): Promise<'created' | 'exists'> {
    return this.#creates(agent);
  }

  /**
   * The new agents of one turn of the event loop in one transaction (a group commit). Each
   * new agent's first event is written by the database with it (migration 0007's trigger).
   */
  readonly #creates = batchPerTurn(async (agents: StoredAgent[]) => {
    const statements = agents.map((agent) =>
      this.#create({
        agentId: agent.agentId,
        ownerInstanceId: agent.ownerInstanceId,
        spec: JSON.stringify(agent.spec),
        egress: jsonOrNull(agent.egress),
        maxTokens: agent.maxTokens ?? null,
        approvals: jsonOrNull(agent.approvals),
        traceparent: agent.traceparent ?? null,
        status: JSON.stringify(agent.status),
        state: agent.status.status,
        sequence: agent.sequence,
      }),
    );
    const results = await this.#db.$client.batch(statements);
    return results.map((result): 'created' | 'exists' => (result.rowsAffected === 1 ? 'created' : 'exists'));
  });

  async get(agentId: string): Promise<StoredAgent | undefined> {
    const [row] = await this.#db.select().from(agentsTable).where(eq(agentsTable.agentId, agentId)).limit(1);
    return row === undefined ? undefined : toAgent(row);
  }

  async statuses(agentIds: readonly string[]): Promise<(AgentStatus | undefined)[]> {
    const distinct = [...new Set(agentIds)];
    if (distinct.length === 0) return [];
    const { rows } = await this.#db.$client.execute({ sql: STATUSES, args: [JSON.stringify(distinct)] });
    return inAskedOrder(
      agentIds,
      rows.map((row) => ({ agentId: String(row.agent_id), status: String(row.status) })),
    );
  }

  async update(agentId: string, expectedSequence: number, status: AgentStatus): Promise<AgentStatusChangedPayload | undefined> {
    return this.#updates({ agentId, expectedSequence, status });
  }

  /**
   * The moves of one turn of the event loop in one transaction (a group commit: agents
   * move in crowds); each is its own compare-and-set. A move's event is written by the
   * database with it (migration 0007's trigger): one statement per move.
   */
  readonly #updates = batchPerTurn(async (moves: Move[]) => {
    if (moves.length === 0) return [];
    const statements = moves.map(({ agentId, expectedSequence, status }) =>
      this.#move({ agentId, status: JSON.stringify(status), state: status.status, sequence: expectedSequence + 1, expectedSequence }),
    );
    const results = await this.#db.$client.batch(statements);
    return moves.map(({ status, expectedSequence }, index): AgentStatusChangedPayload | undefined =>
      results[index]?.rowsAffected === 1 ? { ...status, sequence: expectedSequence + 1 } : undefined,
    );
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
