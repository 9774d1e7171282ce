// Admin tokens in libSQL.
import type { AuditEntry } from '@mosaic-fed/core';
import { and, asc, eq, isNull, lt, or } from 'drizzle-orm';
import type { AdminTokenRecord, AdminTokenStore } from '../types.js';
import { adminTokensTable } from './schema.js';
import { insertAudit, insertAuditIfChanged, type Database } from './shared.js';
import { toAdminToken } from '../sql-shared.js';

export class LibsqlAdminTokenStore implements AdminTokenStore {
  constructor(private readonly db: Database) {}

  async create(record: AdminTokenRecord, audit: AuditEntry): Promise<void> {
    await this.db.batch([this.db.insert(adminTokensTable).values(record), insertAudit(this.db, audit)]);
  }

  async findByHash(tokenHash: string): Promise<AdminTokenRecord | undefined> {
    const [row] = await this.db
      .select()
      .from(adminTokensTable)
      .where(eq(adminTokensTable.tokenHash, tokenHash))
      .limit(1);
    return row === undefined ? undefined : toAdminToken(row);
  }

  async get(id: string): Promise<AdminTokenRecord | undefined> {
    const [row] = await this.db.select().from(adminTokensTable).where(eq(adminTokensTable.id, id)).limit(1);
    return row === undefined ? undefined : toAdminToken(row);
  }

  async list(): Promise<AdminTokenRecord[]> {
    return (await this.db.select().from(adminTokensTable).orderBy(asc(adminTokensTable.createdAt), asc(adminTokensTable.id))).map(toAdminToken);
  }

  async revoke(id: string, at: string, audit: AuditEntry): Promise<boolean> {
    const [revoked] = await this.db.batch([
      this.db
        .update(adminTokensTable)
        .set({ revokedAt: at })
        .where(and(eq(adminTokensTable.id, id), isNull(adminTokensTable.revokedAt))),
      insertAuditIfChanged(this.db, audit),
    ]);
    return revoked.rowsAffected === 1;
  }

  async recordUse(id: string, at: string): Promise<void> {
    await this.db
      .update(adminTokensTable)
      .set({ lastUsedAt: at })
      .where(and(eq(adminTokensTable.id, id), or(isNull(adminTokensTable.lastUsedAt), lt(adminTokensTable.lastUsedAt, at))));
  }
}
