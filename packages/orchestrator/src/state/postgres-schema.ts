// The orchestrator's PostgreSQL schema, in drizzle: the libSQL schema's tables in
// PostgreSQL's types (JSON as jsonb, the bundle as bytea). After a change here, `pnpm
// --filter @mosaic-fed/orchestrator db:generate` has drizzle-kit write the migration to
// drizzle-postgres/ and embeds it in postgres-migrations.ts.
import type { AgentSpawnPayload, AgentState, AgentStatus, AgentStatusChangedPayload, ApprovalRules } from '@mosaic-fed/core';
import { customType, index, integer, jsonb, pgTable, primaryKey } from 'drizzle-orm/pg-core';
import type { NewTranscriptEntry, StoredAnswer } from './types.js';

/** Text compared byte by byte, as SQLite compares it, whatever the database's locale. */
const text = customType<{ data: string; driverData: string }>({ dataType: () => 'text COLLATE "C"' });
const bytea = customType<{ data: Uint8Array; driverData: Uint8Array }>({ dataType: () => 'bytea' });

/** Every agent this orchestrator was given. `state` repeats `status.status` for filtering. */
export const agentsTable = pgTable(
  'orchestrator_agents',
  {
    agentId: text('agent_id').primaryKey(),
    ownerInstanceId: text('owner_instance_id').notNull(),
    spec: jsonb('spec').$type<AgentSpawnPayload>().notNull(),
    egress: jsonb('egress').$type<string[]>(),
    maxTokens: integer('max_tokens'),
    approvals: jsonb('approvals').$type<ApprovalRules>(),
    traceparent: text('traceparent'),
    status: jsonb('status').$type<AgentStatus>().notNull(),
    state: text('state').$type<AgentState>().notNull(),
    sequence: integer('sequence').notNull(),
  },
  (table) => [index('orchestrator_agents_state').on(table.state)],
);

/** Each agent's status events, in sequence, for watchers that resume. */
export const eventsTable = pgTable(
  'orchestrator_events',
  {
    agentId: text('agent_id').notNull(),
    sequence: integer('sequence').notNull(),
    payload: jsonb('payload').$type<AgentStatusChangedPayload>().notNull(),
  },
  (table) => [primaryKey({ columns: [table.agentId, table.sequence] })],
);

/** Each agent's transcript, numbered from 1 over its whole run. */
export const transcriptTable = pgTable(
  'orchestrator_transcript',
  {
    agentId: text('agent_id').notNull(),
    index: integer('idx').notNull(),
    entry: jsonb('entry').$type<NewTranscriptEntry>().notNull(),
  },
  (table) => [primaryKey({ columns: [table.agentId, table.index] })],
);

/** The git bundle of each worker's commits, read back in ranges. */
export const bundlesTable = pgTable('orchestrator_bundles', {
  agentId: text('agent_id').primaryKey(),
  data: bytea('data').notNull(),
});

/** The first answer to each of an agent's approvals (PROTOCOL 5, Approvals). */
export const answersTable = pgTable(
  'orchestrator_answers',
  {
    agentId: text('agent_id').notNull(),
    approvalId: text('approval_id').notNull(),
    answer: jsonb('answer').$type<StoredAnswer>().notNull(),
  },
  (table) => [primaryKey({ columns: [table.agentId, table.approvalId] })],
);

export const schema = { agentsTable, answersTable, bundlesTable, eventsTable, transcriptTable };
