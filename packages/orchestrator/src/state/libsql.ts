// Agent state in libSQL: a SQLite file for one machine, or a libSQL/Turso server by URL.
// Takes a client the caller created, so it runs wherever @libsql/client does.
import {
  AgentSpawnPayloadSchema,
  AgentStatusChangedPayloadSchema,
  AgentStatusSchema,
  TERMINAL_STATES,
  type AgentStatus,
  type AgentStatusChangedPayload,
} from '@mosaic-fed/core';
import type { Client, InStatement } from '@libsql/client';
import type { AgentStateStore, StoredAgent } from './types.js';

const MIGRATIONS: readonly string[] = [
  `CREATE TABLE IF NOT EXISTS orchestrator_agents (
    agent_id TEXT PRIMARY KEY,
    owner_instance_id TEXT NOT NULL,
    spec TEXT NOT NULL,
    status TEXT NOT NULL,
    state TEXT NOT NULL,
    sequence INTEGER NOT NULL
  )`,
  'CREATE INDEX IF NOT EXISTS orchestrator_agents_state ON orchestrator_agents (state)',
  `CREATE TABLE IF NOT EXISTS orchestrator_events (
    agent_id TEXT NOT NULL,
    sequence INTEGER NOT NULL,
    payload TEXT NOT NULL,
    PRIMARY KEY (agent_id, sequence)
  )`,
];

const SELECT_AGENTS = 'SELECT agent_id, owner_instance_id, spec, status, sequence FROM orchestrator_agents';

/**
 * Creates the store, applying its schema first (idempotent).
 *
 * @example
 * ```ts
 * const store = await createLibsqlAgentStateStore(createClient({ url: 'file:./data/orchestrator.db' }));
 * ```
 */
export async function createLibsqlAgentStateStore(client: Client): Promise<AgentStateStore> {
  await client.batch([...MIGRATIONS], 'write');
  return new LibsqlAgentStateStore(client);
}

class LibsqlAgentStateStore implements AgentStateStore {
  readonly #client: Client;

  constructor(client: Client) {
    this.#client = client;
  }

  async create(agent: StoredAgent): Promise<'created' | 'exists'> {
    const [inserted] = await this.#client.batch(
      [
        {
          sql: `INSERT INTO orchestrator_agents (agent_id, owner_instance_id, spec, status, state, sequence)
                VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (agent_id) DO NOTHING`,
          args: [agent.agentId, agent.ownerInstanceId, JSON.stringify(agent.spec), JSON.stringify(agent.status), agent.status.status, agent.sequence],
        },
        eventInsert(agent.agentId, { ...agent.status, sequence: agent.sequence }),
      ],
      'write',
    );
    return inserted?.rowsAffected === 1 ? 'created' : 'exists';
  }

  async get(agentId: string): Promise<StoredAgent | undefined> {
    const { rows } = await this.#client.execute({ sql: `${SELECT_AGENTS} WHERE agent_id = ?`, args: [agentId] });
    const [row] = rows;
    return row === undefined ? undefined : toAgent(row);
  }

  async statuses(agentIds: readonly string[]): Promise<(AgentStatus | undefined)[]> {
    const distinct = [...new Set(agentIds)];
    if (distinct.length === 0) return [];
    const { rows } = await this.#client.execute({
      sql: `SELECT agent_id, status FROM orchestrator_agents WHERE agent_id IN (${distinct.map(() => '?').join(', ')})`,
      args: distinct,
    });
    const byId = new Map(rows.map((row) => [String(row.agent_id), String(row.status)]));
    return agentIds.map((agentId) => {
      const status = byId.get(agentId);
      return status === undefined ? undefined : AgentStatusSchema.parse(JSON.parse(status));
    });
  }

  async update(agentId: string, expectedSequence: number, status: AgentStatus): Promise<AgentStatusChangedPayload | undefined> {
    const event: AgentStatusChangedPayload = { ...status, sequence: expectedSequence + 1 };
    const [updated] = await this.#client.batch(
      [
        {
          sql: `UPDATE orchestrator_agents SET status = ?, state = ?, sequence = ?
                WHERE agent_id = ? AND sequence = ?`,
          args: [JSON.stringify(status), status.status, event.sequence, agentId, expectedSequence],
        },
        eventInsert(agentId, event),
      ],
      'write',
    );
    return updated?.rowsAffected === 1 ? event : undefined;
  }

  async events(agentId: string, afterSequence: number): Promise<AgentStatusChangedPayload[]> {
    const { rows } = await this.#client.execute({
      sql: 'SELECT payload FROM orchestrator_events WHERE agent_id = ? AND sequence > ? ORDER BY sequence',
      args: [agentId, afterSequence],
    });
    return rows.map((row) => AgentStatusChangedPayloadSchema.parse(JSON.parse(String(row.payload))));
  }

  async listActive(): Promise<StoredAgent[]> {
    const placeholders = TERMINAL_STATES.map(() => '?').join(', ');
    const { rows } = await this.#client.execute({
      sql: `${SELECT_AGENTS} WHERE state NOT IN (${placeholders})`,
      args: [...TERMINAL_STATES],
    });
    return rows.map(toAgent);
  }
}

/** Inserts the event only when the statement before it changed a row: one atomic step with it. */
function eventInsert(agentId: string, event: AgentStatusChangedPayload): InStatement {
  return {
    sql: 'INSERT INTO orchestrator_events (agent_id, sequence, payload) SELECT ?, ?, ? WHERE changes() = 1',
    args: [agentId, event.sequence, JSON.stringify(event)],
  };
}

function toAgent(row: Record<string, unknown>): StoredAgent {
  return {
    agentId: String(row.agent_id),
    ownerInstanceId: String(row.owner_instance_id),
    spec: AgentSpawnPayloadSchema.parse(JSON.parse(String(row.spec))),
    status: AgentStatusSchema.parse(JSON.parse(String(row.status))),
    sequence: Number(row.sequence),
  };
}
