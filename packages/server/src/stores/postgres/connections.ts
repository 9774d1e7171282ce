// Connections in PostgreSQL.
import type { AuditEntry } from '@mosaic-fed/core';
import { and, asc, eq, isNull, lte, or } from 'drizzle-orm';
import { toConnection } from '../sql-shared.js';
import { peerSeenThreshold, type ConnectionRecord, type ConnectionStore } from '../types.js';
import { connectionsTable } from './schema.js';
import { changeAudited, withAudit, type Database } from './shared.js';

export class PostgresConnectionStore implements ConnectionStore {
  constructor(private readonly db: Database) {}

  create(record: ConnectionRecord, audit: AuditEntry): Promise<void> {
    return withAudit(this.db, (tx) => tx.insert(connectionsTable).values(record), audit);
  }

  async get(id: string): Promise<ConnectionRecord | undefined> {
    const [row] = await this.db.select().from(connectionsTable).where(eq(connectionsTable.id, id)).limit(1);
    return row === undefined ? undefined : toConnection(row);
  }

  async getByPeer(peerInstanceId: string): Promise<ConnectionRecord | undefined> {
    const [row] = await this.db.select().from(connectionsTable).where(eq(connectionsTable.peerInstanceId, peerInstanceId)).limit(1);
    return row === undefined ? undefined : toConnection(row);
  }

  async list(filter: { status?: ConnectionRecord['status'] | undefined } = {}): Promise<ConnectionRecord[]> {
    const rows = await this.db
      .select()
      .from(connectionsTable)
      .where(filter.status === undefined ? undefined : eq(connectionsTable.status, filter.status))
      .orderBy(asc(connectionsTable.createdAt), asc(connectionsTable.id));
    return rows.map(toConnection);
  }

  update(record: ConnectionRecord, expectedVersion: number, audit: AuditEntry): Promise<boolean> {
    const { peerPausedAt: _paused, peerSeenAt: _seen, ...changes } = record;
    return changeAudited(
      this.db,
      (tx) =>
        tx
          .update(connectionsTable)
          .set(changes)
          .where(and(eq(connectionsTable.id, record.id), eq(connectionsTable.version, expectedVersion)))
          .returning({ id: connectionsTable.id }),
      audit,
    );
  }

  async markPeerPaused(id: string, since: string | null): Promise<void> {
    await this.db.update(connectionsTable).set({ peerPausedAt: since }).where(eq(connectionsTable.id, id));
  }

  async markPeerSeen(id: string, at: string): Promise<void> {
    const seen = connectionsTable.peerSeenAt;
    await this.db
      .update(connectionsTable)
      .set({ peerSeenAt: at })
      .where(and(eq(connectionsTable.id, id), or(isNull(seen), lte(seen, peerSeenThreshold(at)))));
  }
}
