// What the libSQL stores share: the database type, statements built once, and audit
// entries written in the same batch as the change they record.
import type { AuditEntry } from '@mosaic-fed/core';
import type { InArgs, InStatement } from '@libsql/client';
import { fillPlaceholders, sql, type Query } from 'drizzle-orm';
import { SQLiteAsyncDialect } from 'drizzle-orm/sqlite-core';
import type { drizzle } from 'drizzle-orm/libsql/web';
import { auditTable, type schema } from './schema.js';
import { auditColumns } from '../sql-shared.js';

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

type AuditValues = Record<keyof ReturnType<typeof auditColumns>, unknown>;

/** An audit entry inserted only if the statement just before it changed a row. */
const auditIfChangedSql = (v: AuditValues) => sql`
  INSERT INTO audit_log (id, at, actor, action, target, before, after)
  SELECT ${v.id}, ${v.at}, ${v.actor}, ${v.action}, ${v.target}, ${v.before}, ${v.after}
  WHERE changes() = 1`;

/**
 * Inserts the audit entry only if the statement just before it in the same batch changed
 * a row. This keeps a conditional write and its audit entry in one batch (one transaction
 * on one connection) instead of an interactive transaction, which would need a second
 * connection and could meet SQLITE_BUSY from its own process.
 */
export function insertAuditIfChanged(db: Database, entry: AuditEntry) {
  return db.run(auditIfChangedSql(auditColumns(entry)));
}

const auditIfChangedOnce = builtOnce<AuditValues>(
  sqliteDialect.sqlToQuery(
    auditIfChangedSql({
      id: sql.placeholder('id'),
      at: sql.placeholder('at'),
      actor: sql.placeholder('actor'),
      action: sql.placeholder('action'),
      target: sql.placeholder('target'),
      before: sql.placeholder('before'),
      after: sql.placeholder('after'),
    }),
  ),
);

/** {@link insertAuditIfChanged} built once, for a batch run through the client (`db.$client`). */
export function auditIfChanged(entry: AuditEntry): InStatement {
  return auditIfChangedOnce(auditColumns(entry));
}
