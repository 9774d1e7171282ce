// The instance record in libSQL: one row.
import type { AuditEntry } from '@mosaic-fed/core';
import { and, eq } from 'drizzle-orm';
import type { InstanceRecord, InstanceStore } from '../types.js';
import { instanceTable } from './schema.js';
import { toInstanceRecord } from '../sql-shared.js';
import { insertAuditIfChanged, type Database } from './shared.js';

const INSTANCE_ROW = 1;

export class LibsqlInstanceStore implements InstanceStore {
  // Prepared once: the instance record is read on every request that needs the identity.
  readonly #select;

  constructor(private readonly db: Database) {
    this.#select = db.select().from(instanceTable).where(eq(instanceTable.id, INSTANCE_ROW)).prepare();
  }

  async get(): Promise<InstanceRecord | undefined> {
    const row = await this.#select.get();
    return row === undefined ? undefined : toInstanceRecord(row);
  }

  async initialise(record: InstanceRecord, audit: AuditEntry): Promise<InstanceRecord> {
    await this.db.batch([
      this.db.insert(instanceTable).values({ id: INSTANCE_ROW, ...record }).onConflictDoNothing(),
      insertAuditIfChanged(this.db, audit),
    ]);
    const stored = await this.get();
    if (stored === undefined) throw new Error('the instance record vanished after initialisation');
    return stored;
  }

  async update(record: InstanceRecord, expectedVersion: number, audit: AuditEntry): Promise<boolean> {
    const [updated] = await this.db.batch([
      this.db
        .update(instanceTable)
        .set(record)
        .where(and(eq(instanceTable.id, INSTANCE_ROW), eq(instanceTable.version, expectedVersion))),
      insertAuditIfChanged(this.db, audit),
    ]);
    return updated.rowsAffected === 1;
  }
}
