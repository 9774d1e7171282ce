// The audit log in PostgreSQL.
import type { AuditEntry, AuditPage } from '@mosaic-fed/core';
import { and, desc, eq, gte, like, lt, lte, or, sql } from 'drizzle-orm';
import { toAuditEntry } from '../sql-shared.js';
import type { AuditListOptions, AuditStore } from '../types.js';
import { auditTable } from './schema.js';
import type { Database } from './shared.js';

export class PostgresAuditStore implements AuditStore {
  constructor(private readonly db: Database) {}

  async append(entry: AuditEntry): Promise<void> {
    await this.db.insert(auditTable).values(entry);
  }

  async list({ limit, cursor, action, actor, since, until }: AuditListOptions): Promise<AuditPage> {
    const before = cursor === undefined ? undefined : Number.parseInt(cursor, 10);
    if (before !== undefined && !Number.isSafeInteger(before)) return { items: [], nextCursor: null };
    const rows = await this.db
      .select()
      .from(auditTable)
      .where(
        and(
          before === undefined ? undefined : lt(auditTable.seq, before),
          // An action is letters, digits, - and .: nothing LIKE reads as a wildcard.
          action === undefined ? undefined : or(eq(auditTable.action, action), like(auditTable.action, `${action}.%`)),
          actor === undefined ? undefined : or(sql`${auditTable.actor}->>'id' = ${actor}`, sql`${auditTable.actor}->>'type' = ${actor}`),
          since === undefined ? undefined : gte(auditTable.at, since),
          until === undefined ? undefined : lte(auditTable.at, until),
        ),
      )
      .orderBy(desc(auditTable.seq))
      .limit(limit + 1);
    const page = rows.slice(0, limit);
    const last = page.at(-1);
    return {
      items: page.map(toAuditEntry),
      nextCursor: rows.length > limit && last !== undefined ? String(last.seq) : null,
    };
  }
}
