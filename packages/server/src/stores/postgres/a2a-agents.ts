// A2A agents elsewhere, and the tasks started on them, in PostgreSQL.
import type { AuditEntry } from '@mosaic-fed/core';
import { asc, eq } from 'drizzle-orm';
import type { A2AAgentRecord, A2AAgentStore, A2ATaskRecord } from '../types.js';
import { a2aAgentsTable, a2aTasksTable } from './schema.js';
import { changeAudited, withAudit, type Database } from './shared.js';

export class PostgresA2AAgentStore implements A2AAgentStore {
  constructor(private readonly db: Database) {}

  add(record: A2AAgentRecord, audit: AuditEntry): Promise<void> {
    return withAudit(this.db, (tx) => tx.insert(a2aAgentsTable).values(record), audit);
  }

  async get(id: string): Promise<A2AAgentRecord | undefined> {
    const [row] = await this.db.select().from(a2aAgentsTable).where(eq(a2aAgentsTable.id, id)).limit(1);
    return row;
  }

  async list(): Promise<A2AAgentRecord[]> {
    return this.db.select().from(a2aAgentsTable).orderBy(asc(a2aAgentsTable.createdAt), asc(a2aAgentsTable.id));
  }

  remove(id: string, audit: AuditEntry): Promise<boolean> {
    return changeAudited(this.db, (tx) => tx.delete(a2aAgentsTable).where(eq(a2aAgentsTable.id, id)).returning({ id: a2aAgentsTable.id }), audit);
  }

  async addTask(record: A2ATaskRecord): Promise<void> {
    await this.db.insert(a2aTasksTable).values(record).onConflictDoNothing();
  }

  async task(agentId: string): Promise<A2ATaskRecord | undefined> {
    const [row] = await this.db.select().from(a2aTasksTable).where(eq(a2aTasksTable.agentId, agentId)).limit(1);
    return row;
  }

  async activeTasks(limit: number): Promise<A2ATaskRecord[]> {
    return this.db
      .select()
      .from(a2aTasksTable)
      .where(eq(a2aTasksTable.done, false))
      .orderBy(asc(a2aTasksTable.createdAt), asc(a2aTasksTable.agentId))
      .limit(limit);
  }

  async finishTask(agentId: string): Promise<void> {
    await this.db.update(a2aTasksTable).set({ done: true }).where(eq(a2aTasksTable.agentId, agentId));
  }
}
