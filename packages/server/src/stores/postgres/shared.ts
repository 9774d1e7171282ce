// What the PostgreSQL stores share: the database type, and audit entries written in one
// transaction with the change they record.
import type { AuditEntry } from '@mosaic-fed/core';
import type { ExtractTablesWithRelations } from 'drizzle-orm';
import type { NodePgDatabase, NodePgQueryResultHKT } from 'drizzle-orm/node-postgres';
import type { PgTransaction } from 'drizzle-orm/pg-core';
import { auditTable, type schema } from './schema.js';

export type Database = NodePgDatabase<typeof schema>;
export type Transaction = PgTransaction<NodePgQueryResultHKT, typeof schema, ExtractTablesWithRelations<typeof schema>>;

/**
 * Runs `change` and, when it wrote a row (the rows it returns), appends the audit entry, in
 * one transaction: the change and its record, or neither. Answers whether it wrote.
 */
export function changeAudited(db: Database, change: (tx: Transaction) => Promise<readonly unknown[]>, audit: AuditEntry): Promise<boolean> {
  return db.transaction(async (tx) => {
    if ((await change(tx)).length !== 1) return false;
    await tx.insert(auditTable).values(audit);
    return true;
  });
}

/** Runs `change` and appends the audit entry whatever it wrote, in one transaction. */
export async function withAudit(db: Database, change: (tx: Transaction) => Promise<unknown>, audit: AuditEntry): Promise<void> {
  await db.transaction(async (tx) => {
    await change(tx);
    await tx.insert(auditTable).values(audit);
  });
}
