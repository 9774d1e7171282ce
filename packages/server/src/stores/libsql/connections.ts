// Connections in libSQL.
import type { AuditEntry } from '@mosaic-fed/core';
import { and, asc, eq, isNull, lte, or } from 'drizzle-orm';
import { peerSeenThreshold, type ConnectionRecord, type ConnectionStore } from '../types.js';
import { connectionsTable } from './schema.js';
import { insertAudit, insertAuditIfChanged, type Database } from './shared.js';
import { toConnection } from '../sql-shared.js';

export class LibsqlConnectionStore implements ConnectionStore {
  constructor(private readonly db: Database) {}

  async create(record: ConnectionRecord, audit: AuditEntry): Promise<void> {
    await this.db.batch([this.db.insert(connectionsTable).values(record), insertAudit(this.db, audit)]);
  }

  async get(id: string): Promise<ConnectionRecord | undefined> {
    const [row] = await this.db.select().from(connectionsTable).where(eq(connectionsTable.id, id)).limit(1);
    return row === undefined ? undefined : toConnection(row);
  }

  async getByPeer(peerInstanceId: string): Promise<ConnectionRecord | undefined> {
    const [row] = await this.db
      .select()
      .from(connectionsTable)
      .where(eq(connectionsTable.peerInstanceId, peerInstanceId))
      .limit(1);
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

  async update(record: ConnectionRecord, expectedVersion: number, audit: AuditEntry): Promise<boolean> {
    const { peerPausedAt: _paused, peerSeenAt: _seen, ...changes } = record;
    const [updated] = await this.db.batch([
      this.db
        .update(connectionsTable)
        .set(changes)
        .where(and(eq(connectionsTable.id, record.id), eq(connectionsTable.version, expectedVersion))),
      insertAuditIfChanged(this.db, audit),
    ]);
    return updated.rowsAffected === 1;
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
