// The event outbox in libSQL.
import { and, asc, eq, gt, isNotNull, isNull, lte, or, sql } from 'drizzle-orm';
import type { OutboxBacklog, OutboxEntry, OutboxStore } from '../types.js';
import { outboxTable } from './schema.js';
import type { Database } from './shared.js';

export class LibsqlOutboxStore implements OutboxStore {
  constructor(private readonly db: Database) {}

  async enqueue(entry: OutboxEntry): Promise<void> {
    await this.db.insert(outboxTable).values(entry).onConflictDoNothing();
  }

  async backlog(now: number): Promise<OutboxBacklog> {
    const [row] = await this.db
      .select({
        pending: sql<number>`count(*)`,
        retrying: sql<number>`coalesce(sum(${outboxTable.attempts} > 0), 0)`,
        oldestCreatedAt: sql<number | null>`min(${outboxTable.createdAt})`,
      })
      .from(outboxTable)
      .where(and(isNull(outboxTable.deliveredAt), gt(outboxTable.giveUpAt, now)));
    return { pending: Number(row?.pending ?? 0), retrying: Number(row?.retrying ?? 0), oldestCreatedAt: row?.oldestCreatedAt ?? null };
  }

  async due(now: number, limit: number): Promise<OutboxEntry[]> {
    // The head of each order: no earlier entry of the same key still pending.
    const earlierPending = sql`EXISTS (
      SELECT 1 FROM outbox AS earlier
      WHERE earlier.order_key = ${outboxTable.orderKey}
        AND earlier.delivered_at IS NULL AND earlier.give_up_at > ${now}
        AND (earlier.created_at < ${outboxTable.createdAt} OR (earlier.created_at = ${outboxTable.createdAt} AND earlier.rowid < ${outboxTable}.rowid)))`;
    return this.db
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
      .orderBy(asc(outboxTable.createdAt), asc(sql`rowid`))
      .limit(limit);
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
    const { rowsAffected } = await this.db.run(sql`
      DELETE FROM ${outboxTable} WHERE rowid IN (SELECT rowid FROM ${outboxTable} WHERE ${done} LIMIT ${limit})`);
    return rowsAffected;
  }
}
