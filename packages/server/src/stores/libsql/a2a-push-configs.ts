// A2A push notification configs in libSQL.
import { and, asc, eq } from 'drizzle-orm';
import type { A2APushConfigRecord, A2APushConfigStore } from '../types.js';
import { a2aPushConfigsTable } from './schema.js';
import type { Database } from './shared.js';

export class LibsqlA2APushConfigStore implements A2APushConfigStore {
  constructor(private readonly db: Database) {}

  async create(record: A2APushConfigRecord): Promise<boolean> {
    const result = await this.db.insert(a2aPushConfigsTable).values(record).onConflictDoNothing();
    return result.rowsAffected === 1;
  }

  async get(taskId: string, id: string): Promise<A2APushConfigRecord | undefined> {
    const [row] = await this.db
      .select()
      .from(a2aPushConfigsTable)
      .where(and(eq(a2aPushConfigsTable.taskId, taskId), eq(a2aPushConfigsTable.id, id)))
      .limit(1);
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
    const result = await this.db.delete(a2aPushConfigsTable).where(and(eq(a2aPushConfigsTable.taskId, taskId), eq(a2aPushConfigsTable.id, id)));
    return result.rowsAffected === 1;
  }
}
