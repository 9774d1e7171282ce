// libSQL stores through drizzle-orm: the embedded default (a SQLite file in the data
// directory) and, with the same code, a remote libSQL/Turso server reached by URL.
// Imports only drizzle's web driver, so it also runs on edge runtimes.
import type { AuditEntry } from '@mosaic-fed/core';
import type { Client } from '@libsql/client';
import { and, asc, desc, eq, isNull, lt, lte, sql } from 'drizzle-orm';
import { drizzle } from 'drizzle-orm/libsql/web';
import type {
  AdminTokenRecord,
  AdminTokenStore,
  AuditPage,
  AuditStore,
  ClaimOutcome,
  ConnectionRecord,
  ConnectionStore,
  FederationStores,
  InstanceRecord,
  InstanceStore,
  MessageLogStore,
  StoredReply,
} from '../types.js';
import { applyMigrations } from './migrate.js';
import {
  adminTokensTable,
  auditTable,
  connectionsTable,
  instanceTable,
  messageLogTable,
  schema,
} from './schema.js';

type Database = ReturnType<typeof drizzle<typeof schema>>;

const INSTANCE_ROW = 1;

function toRecord(row: typeof instanceTable.$inferSelect): InstanceRecord {
  const { id: _id, ...record } = row;
  return record;
}

function toAuditEntry(row: typeof auditTable.$inferSelect): AuditEntry {
  const { seq: _seq, ...entry } = row;
  return entry;
}

function insertAudit(db: Database, entry: AuditEntry) {
  return db.insert(auditTable).values(entry);
}

/**
 * Inserts the audit entry only if the statement just before it in the same batch changed
 * a row. This keeps a conditional write and its audit entry in one batch (one transaction
 * on one connection) instead of an interactive transaction, which would need a second
 * connection and could meet SQLITE_BUSY from its own process.
 */
function insertAuditIfChanged(db: Database, entry: AuditEntry) {
  const json = (value: unknown) => (value === null ? null : JSON.stringify(value));
  return db.run(sql`
    INSERT INTO audit_log (id, at, actor, action, target, before, after)
    SELECT ${entry.id}, ${entry.at}, ${JSON.stringify(entry.actor)}, ${entry.action}, ${entry.target},
           ${json(entry.before)}, ${json(entry.after)}
    WHERE changes() = 1`);
}

class LibsqlInstanceStore implements InstanceStore {
  // Prepared once: the instance record is read on every request that needs the identity.
  readonly #select;

  constructor(private readonly db: Database) {
    this.#select = db.select().from(instanceTable).where(eq(instanceTable.id, INSTANCE_ROW)).prepare();
  }

  async get(): Promise<InstanceRecord | undefined> {
    const row = await this.#select.get();
    return row === undefined ? undefined : toRecord(row);
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

class LibsqlAuditStore implements AuditStore {
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

class LibsqlAdminTokenStore implements AdminTokenStore {
  constructor(private readonly db: Database) {}

  async create(record: AdminTokenRecord, audit: AuditEntry): Promise<void> {
    await this.db.batch([this.db.insert(adminTokensTable).values(record), insertAudit(this.db, audit)]);
  }

  async findByHash(tokenHash: string): Promise<AdminTokenRecord | undefined> {
    const [row] = await this.db
      .select()
      .from(adminTokensTable)
      .where(eq(adminTokensTable.tokenHash, tokenHash))
      .limit(1);
    return row;
  }
}

class LibsqlConnectionStore implements ConnectionStore {
  constructor(private readonly db: Database) {}

  async create(record: ConnectionRecord, audit: AuditEntry): Promise<void> {
    await this.db.batch([this.db.insert(connectionsTable).values(record), insertAudit(this.db, audit)]);
  }

  async get(id: string): Promise<ConnectionRecord | undefined> {
    const [row] = await this.db.select().from(connectionsTable).where(eq(connectionsTable.id, id)).limit(1);
    return row;
  }

  async getByPeer(peerInstanceId: string): Promise<ConnectionRecord | undefined> {
    const [row] = await this.db
      .select()
      .from(connectionsTable)
      .where(eq(connectionsTable.peerInstanceId, peerInstanceId))
      .limit(1);
    return row;
  }

  async list(filter: { status?: ConnectionRecord['status'] | undefined } = {}): Promise<ConnectionRecord[]> {
    return this.db
      .select()
      .from(connectionsTable)
      .where(filter.status === undefined ? undefined : eq(connectionsTable.status, filter.status))
      .orderBy(asc(connectionsTable.createdAt), asc(connectionsTable.id));
  }

  async update(record: ConnectionRecord, expectedVersion: number, audit: AuditEntry): Promise<boolean> {
    const [updated] = await this.db.batch([
      this.db
        .update(connectionsTable)
        .set(record)
        .where(and(eq(connectionsTable.id, record.id), eq(connectionsTable.version, expectedVersion))),
      insertAuditIfChanged(this.db, audit),
    ]);
    return updated.rowsAffected === 1;
  }
}

class LibsqlMessageLogStore implements MessageLogStore {
  constructor(private readonly db: Database) {}

  async claim(entry: { issuer: string; jti: string; hash: string; now: Date; expiresAt: Date }): Promise<ClaimOutcome> {
    const key = and(eq(messageLogTable.issuer, entry.issuer), eq(messageLogTable.jti, entry.jti));
    // One statement claims a new (issuer, jti), or takes over an expired row: atomic
    // across connections and processes.
    const claimed = await this.db
      .insert(messageLogTable)
      .values({ issuer: entry.issuer, jti: entry.jti, hash: entry.hash, expiresAt: entry.expiresAt.getTime(), reply: null })
      .onConflictDoUpdate({
        target: [messageLogTable.issuer, messageLogTable.jti],
        set: { hash: entry.hash, expiresAt: entry.expiresAt.getTime(), reply: null },
        setWhere: lte(messageLogTable.expiresAt, entry.now.getTime()),
      });
    if (claimed.rowsAffected === 1) return { outcome: 'claimed' };
    const [row] = await this.db.select().from(messageLogTable).where(key).limit(1);
    // Released between the two statements: the caller may simply try again.
    if (row === undefined) return this.claim(entry);
    if (row.hash !== entry.hash) return { outcome: 'conflict' };
    if (row.reply === null) return { outcome: 'in-progress' };
    return { outcome: 'completed', reply: row.reply };
  }

  async complete(issuer: string, jti: string, reply: StoredReply): Promise<void> {
    await this.db
      .update(messageLogTable)
      .set({ reply })
      .where(and(eq(messageLogTable.issuer, issuer), eq(messageLogTable.jti, jti)));
  }

  async release(issuer: string, jti: string): Promise<void> {
    await this.db
      .delete(messageLogTable)
      .where(and(eq(messageLogTable.issuer, issuer), eq(messageLogTable.jti, jti), isNull(messageLogTable.reply)));
  }
}

/** Options for {@link createLibsqlStores}. */
export interface LibsqlStoresOptions {
  /** Close the client when the stores close. Default: true. */
  closeClient?: boolean;
}

/**
 * Opens the libSQL stores on a client, applying pending migrations first.
 *
 * @example
 * ```ts
 * import { createClient } from '@libsql/client';
 * const stores = await createLibsqlStores(createClient({ url: 'file:./data/mosaic-fed.db' }));
 * ```
 */
export async function createLibsqlStores(
  client: Client,
  options: LibsqlStoresOptions = {},
): Promise<FederationStores> {
  // Other processes (a CLI command beside a running server) may hold the write lock for
  // a moment: wait for it instead of failing with SQLITE_BUSY. Remote servers ignore it.
  if (client.protocol === 'file') await client.execute('PRAGMA busy_timeout = 5000');
  await applyMigrations(client);
  const db = drizzle(client, { schema });
  return {
    instance: new LibsqlInstanceStore(db),
    audit: new LibsqlAuditStore(db),
    adminTokens: new LibsqlAdminTokenStore(db),
    connections: new LibsqlConnectionStore(db),
    messageLog: new LibsqlMessageLogStore(db),
    async close() {
      if (options.closeClient ?? true) client.close();
    },
  };
}
