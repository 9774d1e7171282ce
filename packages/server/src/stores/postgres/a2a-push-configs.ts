// A2A push notification configs in PostgreSQL.
import { and, asc, eq } from 'drizzle-orm';
import type { A2APushConfigRecord, A2APushConfigStore } from '../types.js';
import { a2aPushConfigsTable } from './schema.js';
import type { Database } from './shared.js';

export class PostgresA2APushConfigStore implements A2APushConfigStore {
  constructor(private readonly db: Database) {}

  async create(record: A2APushConfigRecord): Promise<boolean> {
    const inserted = await this.db.insert(a2aPushConfigsTable).values(record).onConflictDoNothing().returning({ id: a2aPushConfigsTable.id });
    return inserted.length === 1;
  }

  async get(taskId: string, id: string): Promise<A2APushConfigRecord | undefined> {
    const [row] = await this.db.select().from(a2aPushConfigsTable).where(this.#key(taskId, id)).limit(1);
    return row;
  }

  async list(taskId: string): Promise<A2APushConfigRecord[]> {
    return this.db
      .select()
      .from(a2aPushConfigsTable)
      .where(eq(a2aPushConfigsTable.taskId, taskId))
      .orderBy(asc(a2aPushConfigsTable.createdAt), asc(a2aPushConfigsTable.id));
  }

  async delete(taskId: string, id: string): Promise<boolean> {
    const deleted = await this.db.delete(a2aPushConfigsTable).where(this.#key(taskId, id)).returning({ id: a2aPushConfigsTable.id });
    return deleted.length === 1;
  }

  #key(taskId: string, id: string) {
    return and(eq(a2aPushConfigsTable.taskId, taskId), eq(a2aPushConfigsTable.id, id));
  }
}
