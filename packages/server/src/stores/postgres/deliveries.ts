// Branches this instance delivers from its agents' bundles, in PostgreSQL.
import { TERMINAL_STATES } from '@mosaic-fed/core';
import { and, asc, eq, getTableColumns, inArray, lte, sql } from 'drizzle-orm';
import type { DeliveryChange, DeliveryRecord, DeliveryStore } from '../types.js';
import { deliveriesTable, remoteAgentsTable } from './schema.js';
import type { Database } from './shared.js';

export class PostgresDeliveryStore implements DeliveryStore {
  constructor(private readonly db: Database) {}

  async create(record: DeliveryRecord): Promise<void> {
    await this.db.insert(deliveriesTable).values(record).onConflictDoNothing();
  }

  async get(agentId: string): Promise<DeliveryRecord | undefined> {
    const [row] = await this.db.select().from(deliveriesTable).where(eq(deliveriesTable.agentId, agentId)).limit(1);
    return row;
  }

  async due(now: number, limit: number): Promise<DeliveryRecord[]> {
    return this.db
      .select(getTableColumns(deliveriesTable))
      .from(deliveriesTable)
      .innerJoin(remoteAgentsTable, eq(remoteAgentsTable.agentId, deliveriesTable.agentId))
      .where(
        and(
          eq(deliveriesTable.state, 'waiting'),
          lte(deliveriesTable.nextAttemptAt, now),
          inArray(sql`${remoteAgentsTable.status}->>'status'`, [...TERMINAL_STATES]),
        ),
      )
      .orderBy(asc(deliveriesTable.nextAttemptAt))
      .limit(limit);
  }

  async update(agentId: string, change: DeliveryChange): Promise<boolean> {
    const updated = await this.db
      .update(deliveriesTable)
      .set(change)
      .where(and(eq(deliveriesTable.agentId, agentId), eq(deliveriesTable.state, 'waiting')))
      .returning({ agentId: deliveriesTable.agentId });
    return updated.length === 1;
  }
}
