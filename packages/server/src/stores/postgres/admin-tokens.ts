// Admin tokens in PostgreSQL.
import type { AuditEntry } from '@mosaic-fed/core';
import { and, asc, eq, isNull, lt, or } from 'drizzle-orm';
import { toAdminToken } from '../sql-shared.js';
import type { AdminTokenRecord, AdminTokenStore } from '../types.js';
import { adminTokensTable } from './schema.js';
import { changeAudited, withAudit, type Database } from './shared.js';

export class PostgresAdminTokenStore implements AdminTokenStore {
  constructor(private readonly db: Database) {}

  create(record: AdminTokenRecord, audit: AuditEntry): Promise<void> {
    return withAudit(this.db, (tx) => tx.insert(adminTokensTable).values(record), audit);
  }

  async findByHash(tokenHash: string): Promise<AdminTokenRecord | undefined> {
    const [row] = await this.db.select().from(adminTokensTable).where(eq(adminTokensTable.tokenHash, tokenHash)).limit(1);
    return row === undefined ? undefined : toAdminToken(row);
  }

  async get(id: string): Promise<AdminTokenRecord | undefined> {
    const [row] = await this.db.select().from(adminTokensTable).where(eq(adminTokensTable.id, id)).limit(1);
    return row === undefined ? undefined : toAdminToken(row);
  }

  async list(): Promise<AdminTokenRecord[]> {
    return (await this.db.select().from(adminTokensTable).orderBy(asc(adminTokensTable.createdAt), asc(adminTokensTable.id))).map(toAdminToken);
  }

  revoke(id: string, at: string, audit: AuditEntry): Promise<boolean> {
    return changeAudited(
      this.db,
      (tx) =>
        tx
          .update(adminTokensTable)
          .set({ revokedAt: at })
          .where(and(eq(adminTokensTable.id, id), isNull(adminTokensTable.revokedAt)))
          .returning({ id: adminTokensTable.id }),
      audit,
    );
  }

  async recordUse(id: string, at: string): Promise<void> {
    await this.db
      .update(adminTokensTable)
      .set({ lastUsedAt: at })
      .where(and(eq(adminTokensTable.id, id), or(isNull(adminTokensTable.lastUsedAt), lt(adminTokensTable.lastUsedAt, at))));
  }
}
