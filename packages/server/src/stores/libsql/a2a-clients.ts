// A2A clients in libSQL.
import type { AuditEntry } from '@mosaic-fed/core';
import { and, asc, eq, isNull, lt, or, type SQL } from 'drizzle-orm';
import type { A2AClientChange, A2AClientRecord, A2AClientStore } from '../types.js';
import { a2aClientsTable } from './schema.js';
import { insertAudit, insertAuditIfChanged, type Database } from './shared.js';
import { toA2AClient } from '../sql-shared.js';

export class LibsqlA2AClientStore implements A2AClientStore {
  constructor(private readonly db: Database) {}

  async create(record: A2AClientRecord, audit: AuditEntry): Promise<void> {
    await this.db.batch([this.db.insert(a2aClientsTable).values({ ...record, oidcSubject: record.oidcSubject ?? null }), insertAudit(this.db, audit)]);
  }

  async get(id: string): Promise<A2AClientRecord | undefined> {
    return this.#one(eq(a2aClientsTable.id, id));
  }

  async findByHash(tokenHash: string): Promise<A2AClientRecord | undefined> {
    return this.#one(eq(a2aClientsTable.tokenHash, tokenHash));
  }

  async findBySubject(subject: string): Promise<A2AClientRecord | undefined> {
    return this.#one(eq(a2aClientsTable.oidcSubject, subject));
  }

  async list(): Promise<A2AClientRecord[]> {
    return (await this.db.select().from(a2aClientsTable).orderBy(asc(a2aClientsTable.createdAt), asc(a2aClientsTable.id))).map(toA2AClient);
  }

  async update(id: string, change: A2AClientChange, audit: AuditEntry): Promise<boolean> {
    const [updated] = await this.db.batch([
      this.db
        .update(a2aClientsTable)
        .set({ name: change.name, grants: change.grants, oidcSubject: change.oidcSubject ?? null })
        .where(and(eq(a2aClientsTable.id, id), isNull(a2aClientsTable.revokedAt))),
      insertAuditIfChanged(this.db, audit),
    ]);
    return updated.rowsAffected === 1;
  }

  async revoke(id: string, at: string, audit: AuditEntry): Promise<boolean> {
    const [revoked] = await this.db.batch([
      this.db
        .update(a2aClientsTable)
        .set({ revokedAt: at })
        .where(and(eq(a2aClientsTable.id, id), isNull(a2aClientsTable.revokedAt))),
      insertAuditIfChanged(this.db, audit),
    ]);
    return revoked.rowsAffected === 1;
  }

  async #one(where: SQL): Promise<A2AClientRecord | undefined> {
    const [row] = await this.db.select().from(a2aClientsTable).where(where).limit(1);
    return row === undefined ? undefined : toA2AClient(row);
  }

  async recordUse(id: string, at: string): Promise<void> {
    await this.db
      .update(a2aClientsTable)
      .set({ lastUsedAt: at })
      .where(and(eq(a2aClientsTable.id, id), or(isNull(a2aClientsTable.lastUsedAt), lt(a2aClientsTable.lastUsedAt, at))));
  }
}
