// The audit log in libSQL.
import type { AuditEntry, AuditPage } from '@mosaic-fed/core';
import { desc, lt } from 'drizzle-orm';
import type { AuditStore } from '../types.js';
import { auditTable } from './schema.js';
import { insertAudit, toAuditEntry, type Database } from './shared.js';

export class LibsqlAuditStore implements AuditStore {
  constructor(private readonly db: Database) {}

  async append(entry: AuditEntry): Promise<void> {
    await insertAudit(this.db, entry);
  }

  async list({ limit, cursor }: { limit: number; cursor?: string | undefined }): Promise<AuditPage> {
    const before = cursor === undefined ? undefined : Number.parseInt(cursor, 10);
    if (before !== undefined && !Number.isSafeInteger(before)) return { items: [], nextCursor: null };
    const rows = await this.db
      .select()
      .from(auditTable)
      .where(before === undefined ? undefined : lt(auditTable.seq, before))
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
