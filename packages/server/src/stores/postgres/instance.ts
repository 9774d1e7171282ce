// The instance record in PostgreSQL: one row.
import type { AuditEntry } from '@mosaic-fed/core';
import { and, eq } from 'drizzle-orm';
import { toInstanceRecord } from '../sql-shared.js';
import type { InstanceRecord, InstanceStore } from '../types.js';
import { instanceTable } from './schema.js';
import { changeAudited, type Database } from './shared.js';

const INSTANCE_ROW = 1;

export class PostgresInstanceStore implements InstanceStore {
  // Prepared once: the instance record is read on every request that needs the identity.
  readonly #select;

  constructor(private readonly db: Database) {
    this.#select = db.select().from(instanceTable).where(eq(instanceTable.id, INSTANCE_ROW)).prepare('mosaic_instance');
  }

  async get(): Promise<InstanceRecord | undefined> {
    const [row] = await this.#select.execute();
    return row === undefined ? undefined : toInstanceRecord(row);
  }

  async initialise(record: InstanceRecord, audit: AuditEntry): Promise<InstanceRecord> {
    await changeAudited(
      this.db,
      (tx) => tx.insert(instanceTable).values({ id: INSTANCE_ROW, ...record }).onConflictDoNothing().returning({ id: instanceTable.id }),
      audit,
    );
    const stored = await this.get();
    if (stored === undefined) throw new Error('the instance record vanished after initialisation');
    return stored;
  }

  update(record: InstanceRecord, expectedVersion: number, audit: AuditEntry): Promise<boolean> {
    return changeAudited(
      this.db,
      (tx) =>
        tx
          .update(instanceTable)
          .set(record)
          .where(and(eq(instanceTable.id, INSTANCE_ROW), eq(instanceTable.version, expectedVersion)))
          .returning({ id: instanceTable.id }),
      audit,
    );
  }
}
