// Spawns sent to peers and not yet answered, in PostgreSQL.
import { and, asc, eq, isNull, lt, sql } from 'drizzle-orm';
import type { SpawnRequestRecord, SpawnRequestStore } from '../types.js';
import { spawnRequestsTable } from './schema.js';
import type { Database } from './shared.js';

export class PostgresSpawnRequestStore implements SpawnRequestStore {
  constructor(private readonly db: Database) {}

  async begin(record: SpawnRequestRecord): Promise<SpawnRequestRecord> {
    // One statement: of two requests with one key, exactly one is stored.
    await this.db.insert(spawnRequestsTable).values(record).onConflictDoNothing();
    const [row] = await this.db.select().from(spawnRequestsTable).where(eq(spawnRequestsTable.idempotencyKey, record.idempotencyKey)).limit(1);
    return row ?? record;
  }

  async answer(idempotencyKey: string, response: NonNullable<SpawnRequestRecord['response']>): Promise<void> {
    await this.db.update(spawnRequestsTable).set({ response }).where(eq(spawnRequestsTable.idempotencyKey, idempotencyKey));
  }

  async forget(idempotencyKey: string): Promise<void> {
    await this.db.delete(spawnRequestsTable).where(eq(spawnRequestsTable.idempotencyKey, idempotencyKey));
  }

  async unanswered(before: string, limit: number): Promise<SpawnRequestRecord[]> {
    return this.db
      .select()
      .from(spawnRequestsTable)
      .where(and(isNull(spawnRequestsTable.response), lt(spawnRequestsTable.createdAt, before)))
      .orderBy(asc(spawnRequestsTable.createdAt))
      .limit(limit);
  }

  async prune(before: string, limit: number): Promise<number> {
    const key = spawnRequestsTable.idempotencyKey;
    const pruned = await this.db
      .delete(spawnRequestsTable)
      .where(sql`${key} IN (SELECT ${key} FROM ${spawnRequestsTable} WHERE ${lt(spawnRequestsTable.createdAt, before)} LIMIT ${limit})`)
      .returning({ key });
    return pruned.length;
  }
}
