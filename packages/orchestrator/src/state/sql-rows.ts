// What the SQL agent state stores (libSQL and PostgreSQL) share: both schemas infer the
// same row types.
import type { AgentStatus } from '@mosaic-fed/core';
import type { agentsTable } from './libsql-schema.js';
import type { StoredAgent } from './types.js';

export function toAgent(row: typeof agentsTable.$inferSelect): StoredAgent {
  const { state: _state, egress, maxTokens, approvals, traceparent, ...agent } = row;
  return {
    ...agent,
    ...(egress === null ? {} : { egress }),
    ...(maxTokens === null ? {} : { maxTokens }),
    ...(approvals === null ? {} : { approvals }),
    ...(traceparent === null ? {} : { traceparent }),
  };
}

/**
 * The statuses read (each as its column's JSON text), in the order asked: each parsed on
 * its own, so an id asked for twice gets two copies (parsing is cheaper than cloning).
 */
export function inAskedOrder(agentIds: readonly string[], rows: readonly { agentId: string; status: string }[]): (AgentStatus | undefined)[] {
  const byId = new Map(rows.map((row) => [row.agentId, row.status]));
  return agentIds.map((agentId) => {
    const status = byId.get(agentId);
    return status === undefined ? undefined : (JSON.parse(status) as AgentStatus);
  });
}

/** An optional JSON column's value as text, or null when left out. */
export const jsonOrNull = (value: unknown): string | null => (value === undefined ? null : JSON.stringify(value));
