// What the libSQL stores share: the database type, statements built once, and audit
// entries written in the same batch as the change they record.
import type { AuditEntry } from '@mosaic-fed/core';
import type { InArgs, InStatement } from '@libsql/client';
import { fillPlaceholders, sql, type Query } from 'drizzle-orm';
import { SQLiteAsyncDialect } from 'drizzle-orm/sqlite-core';
import type { drizzle } from 'drizzle-orm/libsql/web';
import { auditTable, type schema } from './schema.js';

export type Database = ReturnType<typeof drizzle<typeof schema>>;

/**
 * A statement built once, its values named with `sql.placeholder`: each call fills them in
 * and builds no SQL (drizzle builds a query's SQL again on every run). For the writes every
 * agent makes; run through the client (`db.$client`). JSON values go in as text: a
 * placeholder in SQL of one's own is not encoded.
 */
export function builtOnce<Values extends Record<string, unknown>>(query: Query): (values: Values) => InStatement {
  return (values) => ({ sql: query.sql, args: fillPlaceholders(query.params, values) as InArgs });
}

/** Builds SQL of one's own (`sql\`...\``) into a query once, for {@link builtOnce}. */
export const sqliteDialect = new SQLiteAsyncDialect();

export function insertAudit(db: Database, entry: AuditEntry) {
  return db.insert(auditTable).values(entry);
}

/**
 * Inserts the audit entry only if the statement just before it in the same batch changed
 * a row. This keeps a conditional write and its audit entry in one batch (one transaction
 * on one connection) instead of an interactive transaction, which would need a second
 * connection and could meet SQLITE_BUSY from its own process.
 */
export function insertAuditIfChanged(db: Database, entry: AuditEntry) {
  const json = (value: unknown) => (value === null ? null : JSON.stringify(value));
  return db.run(sql`
    INSERT INTO audit_log (id, at, actor, action, target, before, after)
    SELECT ${entry.id}, ${entry.at}, ${JSON.stringify(entry.actor)}, ${entry.action}, ${entry.target},
           ${json(entry.before)}, ${json(entry.after)}
    WHERE changes() = 1`);
}
