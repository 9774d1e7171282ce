// The event outbox in PostgreSQL.
import { and, asc, eq, gt, isNotNull, isNull, lte, or, sql } from 'drizzle-orm';
import type { OutboxBacklog, OutboxEntry, OutboxStore } from '../types.js';
import { outboxTable } from './schema.js';
import type { Database } from './shared.js';

/** The columns an entry fills, for SQL of one's own. */
export const OUTBOX_COLUMNS = sql.raw('id, connection_id, peer_instance_id, order_key, event_type, payload, attempts, next_attempt_at, give_up_at, created_at, delivered_at, last_error');
/** An entry as `outboxRow` makes it, read back with `jsonb_to_recordset`: `i` its owner, `n` its place. */
export const OUTBOX_RECORD = sql.raw(
  'i int, n int, id text, connection_id text, peer_instance_id text, order_key text, event_type text, payload jsonb, attempts int, next_attempt_at bigint, give_up_at bigint, created_at bigint, delivered_at bigint, last_error text',
);

/** An entry as a JSON record for OUTBOX_RECORD (the caller adds `i` and `n`). */
export function outboxRow(entry: OutboxEntry) {
  return {
    id: entry.id,
    connection_id: entry.connectionId,
    peer_instance_id: entry.peerInstanceId,
    order_key: entry.orderKey,
    event_type: entry.eventType,
    payload: entry.payload,
    attempts: entry.attempts,
    next_attempt_at: entry.nextAttemptAt,
    give_up_at: entry.giveUpAt,
    created_at: entry.createdAt,
    delivered_at: entry.deliveredAt,
    last_error: entry.lastError,
  };
}

/** A row as an entry: `seq` only orders the table. */
export function toOutboxEntry(row: typeof outboxTable.$inferSelect): OutboxEntry {
  const { seq: _seq, ...entry } = row;
  return entry;
}

export class PostgresOutboxStore implements OutboxStore {
  constructor(private readonly db: Database) {}

  async enqueue(entry: OutboxEntry): Promise<void> {
    await this.db.insert(outboxTable).values(entry).onConflictDoNothing();
  }

  async backlog(now: number): Promise<OutboxBacklog> {
    const [row] = await this.db
      .select({
        pending: sql<string>`count(*)`,
        retrying: sql<string>`count(*) FILTER (WHERE ${outboxTable.attempts} > 0)`,
        oldestCreatedAt: sql<string | null>`min(${outboxTable.createdAt})`,
      })
      .from(outboxTable)
      .where(and(isNull(outboxTable.deliveredAt), gt(outboxTable.giveUpAt, now)));
    const oldest = row?.oldestCreatedAt ?? null;
    return { pending: Number(row?.pending ?? 0), retrying: Number(row?.retrying ?? 0), oldestCreatedAt: oldest === null ? null : Number(oldest) };
  }

  async due(now: number, limit: number): Promise<OutboxEntry[]> {
    // The head of each order: no earlier entry of the same key still pending.
    const earlierPending = sql`EXISTS (
      SELECT 1 FROM outbox AS earlier
      WHERE earlier.order_key = ${outboxTable.orderKey}
        AND earlier.delivered_at IS NULL AND earlier.give_up_at > ${now}
        AND (earlier.created_at < ${outboxTable.createdAt} OR (earlier.created_at = ${outboxTable.createdAt} AND earlier.seq < ${outboxTable.seq})))`;
    const rows = await this.db
      .select()
      .from(outboxTable)
      .where(
        and(
          isNull(outboxTable.deliveredAt),
          lte(outboxTable.nextAttemptAt, now),
          gt(outboxTable.giveUpAt, now),
          or(isNull(outboxTable.orderKey), sql`NOT ${earlierPending}`),
        ),
      )
      // Within a millisecond, in the order they were stored.
      .orderBy(asc(outboxTable.createdAt), asc(outboxTable.seq))
      .limit(limit);
    return rows.map(toOutboxEntry);
  }

  async markDelivered(id: string, at: number): Promise<void> {
    await this.db.update(outboxTable).set({ deliveredAt: at }).where(eq(outboxTable.id, id));
  }

  async reschedule(id: string, attempts: number, nextAttemptAt: number, lastError: string, giveUpAt?: number): Promise<void> {
    await this.db
      .update(outboxTable)
      .set({ attempts, nextAttemptAt, lastError, ...(giveUpAt === undefined ? {} : { giveUpAt }) })
      .where(eq(outboxTable.id, id));
  }

  async prune(now: number, limit: number): Promise<number> {
    const done = or(isNotNull(outboxTable.deliveredAt), lte(outboxTable.giveUpAt, now));
    const pruned = await this.db
      .delete(outboxTable)
      .where(sql`${outboxTable.id} IN (SELECT ${outboxTable.id} FROM ${outboxTable} WHERE ${done} LIMIT ${limit})`)
      .returning({ id: outboxTable.id });
    return pruned.length;
  }
}
