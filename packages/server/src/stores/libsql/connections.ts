// Connections in libSQL.
import type { AuditEntry } from '@mosaic-fed/core';
import { and, asc, eq } from 'drizzle-orm';
import type { ConnectionRecord, ConnectionStore } from '../types.js';
import { connectionsTable } from './schema.js';
import { insertAudit, insertAuditIfChanged, type Database } from './shared.js';

export class LibsqlConnectionStore implements ConnectionStore {
  constructor(private readonly db: Database) {}

  async create(record: ConnectionRecord, audit: AuditEntry): Promise<void> {
    await this.db.batch([this.db.insert(connectionsTable).values(record), insertAudit(this.db, audit)]);
  }

  async get(id: string): Promise<ConnectionRecord | undefined> {
    const [row] = await this.db.select().from(connectionsTable).where(eq(connectionsTable.id, id)).limit(1);
    return row;
  }

  async getByPeer(peerInstanceId: string): Promise<ConnectionRecord | undefined> {
    const [row] = await this.db
      .select()
      .from(connectionsTable)
      .where(eq(connectionsTable.peerInstanceId, peerInstanceId))
      .limit(1);
    return row;
  }

  async list(filter: { status?: ConnectionRecord['status'] | undefined } = {}): Promise<ConnectionRecord[]> {
    return this.db
      .select()
      .from(connectionsTable)
      .where(filter.status === undefined ? undefined : eq(connectionsTable.status, filter.status))
      .orderBy(asc(connectionsTable.createdAt), asc(connectionsTable.id));
  }

  async update(record: ConnectionRecord, expectedVersion: number, audit: AuditEntry): Promise<boolean> {
    const [updated] = await this.db.batch([
      this.db
        .update(connectionsTable)
        .set(record)
        .where(and(eq(connectionsTable.id, record.id), eq(connectionsTable.version, expectedVersion))),
      insertAuditIfChanged(this.db, audit),
    ]);
    return updated.rowsAffected === 1;
  }
}
