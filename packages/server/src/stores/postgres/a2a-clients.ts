// A2A clients in PostgreSQL.
import type { AuditEntry } from '@mosaic-fed/core';
import { and, asc, eq, isNull, lt, or, type SQL } from 'drizzle-orm';
import { toA2AClient } from '../sql-shared.js';
import type { A2AClientChange, A2AClientRecord, A2AClientStore } from '../types.js';
import { a2aClientsTable } from './schema.js';
import { changeAudited, withAudit, type Database } from './shared.js';

export class PostgresA2AClientStore implements A2AClientStore {
  constructor(private readonly db: Database) {}

  create(record: A2AClientRecord, audit: AuditEntry): Promise<void> {
    return withAudit(this.db, (tx) => tx.insert(a2aClientsTable).values({ ...record, oidcSubject: record.oidcSubject ?? null }), audit);
  }

  get(id: string): Promise<A2AClientRecord | undefined> {
    return this.#one(eq(a2aClientsTable.id, id));
  }

  findByHash(tokenHash: string): Promise<A2AClientRecord | undefined> {
    return this.#one(eq(a2aClientsTable.tokenHash, tokenHash));
  }

  findBySubject(subject: string): Promise<A2AClientRecord | undefined> {
    return this.#one(eq(a2aClientsTable.oidcSubject, subject));
  }

  async list(): Promise<A2AClientRecord[]> {
    return (await this.db.select().from(a2aClientsTable).orderBy(asc(a2aClientsTable.createdAt), asc(a2aClientsTable.id))).map(toA2AClient);
  }

  update(id: string, change: A2AClientChange, audit: AuditEntry): Promise<boolean> {
    return this.#changeLive(id, { name: change.name, grants: change.grants, oidcSubject: change.oidcSubject ?? null }, audit);
  }

  revoke(id: string, at: string, audit: AuditEntry): Promise<boolean> {
    return this.#changeLive(id, { revokedAt: at }, audit);
  }

  /** Changes a client that is not revoked, with its audit entry. */
  #changeLive(id: string, set: Partial<typeof a2aClientsTable.$inferInsert>, audit: AuditEntry): Promise<boolean> {
    return changeAudited(
      this.db,
      (tx) =>
        tx
          .update(a2aClientsTable)
          .set(set)
          .where(and(eq(a2aClientsTable.id, id), isNull(a2aClientsTable.revokedAt)))
          .returning({ id: a2aClientsTable.id }),
      audit,
    );
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
