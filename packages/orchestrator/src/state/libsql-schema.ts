// The orchestrator's libSQL schema, in drizzle. After a change here, `pnpm --filter
// @mosaic-fed/orchestrator db:generate` has drizzle-kit write the migration to drizzle/
// and embeds it in libsql-migrations.ts.
import type { AgentSpawnPayload, AgentState, AgentStatus, AgentStatusChangedPayload, ApprovalRules } from '@mosaic-fed/core';
import type { NewTranscriptEntry, StoredAnswer } from './types.js';
import { blob, index, integer, primaryKey, sqliteTable, text } from 'drizzle-orm/sqlite-core';

/** Every agent this orchestrator was given. `state` repeats `status.status` for filtering. */
export const agentsTable = sqliteTable(
  'orchestrator_agents',
  {
    agentId: text('agent_id').primaryKey(),
    ownerInstanceId: text('owner_instance_id').notNull(),
    spec: text('spec', { mode: 'json' }).$type<AgentSpawnPayload>().notNull(),
    egress: text('egress', { mode: 'json' }).$type<string[]>(),
    maxTokens: integer('max_tokens'),
    approvals: text('approvals', { mode: 'json' }).$type<ApprovalRules>(),
    traceparent: text('traceparent'),
    status: text('status', { mode: 'json' }).$type<AgentStatus>().notNull(),
    state: text('state').$type<AgentState>().notNull(),
    sequence: integer('sequence').notNull(),
  },
  (table) => [index('orchestrator_agents_state').on(table.state)],
);

/**
 * Each agent's status events, in sequence, for watchers that resume. Written by the
 * database (migration 0007's triggers) with each insert or move of an agent's sequence.
 */
export const eventsTable = sqliteTable(
  'orchestrator_events',
  {
    agentId: text('agent_id').notNull(),
    sequence: integer('sequence').notNull(),
    payload: text('payload', { mode: 'json' }).$type<AgentStatusChangedPayload>().notNull(),
  },
  (table) => [primaryKey({ columns: [table.agentId, table.sequence] })],
);

/** Each agent's transcript, numbered from 1 over its whole run. */
export const transcriptTable = sqliteTable(
  'orchestrator_transcript',
  {
    agentId: text('agent_id').notNull(),
    index: integer('idx').notNull(),
    entry: text('entry', { mode: 'json' }).$type<NewTranscriptEntry>().notNull(),
  },
  (table) => [primaryKey({ columns: [table.agentId, table.index] })],
);

/** The git bundle of each worker's commits, read back in ranges. */
export const bundlesTable = sqliteTable('orchestrator_bundles', {
  agentId: text('agent_id').primaryKey(),
  data: blob('data', { mode: 'buffer' }).notNull(),
});

/** The first answer to each of an agent's approvals (PROTOCOL 5, Approvals). */
export const answersTable = sqliteTable(
  'orchestrator_answers',
  {
    agentId: text('agent_id').notNull(),
    approvalId: text('approval_id').notNull(),
    answer: text('answer', { mode: 'json' }).$type<StoredAnswer>().notNull(),
  },
  (table) => [primaryKey({ columns: [table.agentId, table.approvalId] })],
);

export const schema = { agentsTable, answersTable, bundlesTable, eventsTable, transcriptTable };
