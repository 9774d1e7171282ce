// What the libSQL stores share: the database type, statements built once, audit entries
// written in the same batch as the change they record, and paging.
import type { AuditEntry } from '@mosaic-fed/core';
import type { InArgs, InStatement } from '@libsql/client';
import { and, asc, desc, eq, fillPlaceholders, gt, lt, or, sql, type Query, type SQL } from 'drizzle-orm';
import { SQLiteAsyncDialect, type SQLiteColumn } from 'drizzle-orm/sqlite-core';
import { decodeCursor, encodeCursor } from '../lib-cursor.js';
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

export function toAuditEntry(row: typeof auditTable.$inferSelect): AuditEntry {
  const { seq: _seq, ...entry } = row;
  return entry;
}

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

export const ACTIVE_STATES = ['spawning', 'running', 'waiting'] as const;

/**
 * `WHERE (createdAt, id) > cursor` (or `<` with `newestFirst`), or nothing for the first
 * page; `false` for a bad cursor.
 */
export function afterCursor(createdAt: SQLiteColumn, id: SQLiteColumn, cursor: string | undefined, newestFirst = false): SQL | undefined | false {
  if (cursor === undefined) return undefined;
  const after = decodeCursor(cursor);
  if (after === undefined) return false;
  const beyond = newestFirst ? lt : gt;
  return or(beyond(createdAt, after.createdAt), and(eq(createdAt, after.createdAt), beyond(id, after.id)));
}

/** The order of a page by (createdAt, id): oldest first, or newest first. */
export function creationOrder(createdAt: SQLiteColumn, id: SQLiteColumn, newestFirst = false): SQL[] {
  return newestFirst ? [desc(createdAt), desc(id)] : [asc(createdAt), asc(id)];
}

export function pageOf<T extends { createdAt: string; agentId: string }>(rows: T[], limit: number) {
  const agents = rows.slice(0, limit);
  const last = agents.at(-1);
  return { agents, nextCursor: rows.length > limit && last !== undefined ? encodeCursor(last.createdAt, last.agentId) : null };
}
