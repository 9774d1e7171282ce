// libSQL stores through drizzle-orm: the embedded default (a SQLite file in the data
// directory) and, with the same code, a remote libSQL/Turso server reached by URL.
// Imports only drizzle's web driver, so it also runs on edge runtimes.
import { TERMINAL_STATES, type AgentStatus, type AgentStatusChangedPayload, type AuditEntry, type AuditPage } from '@mosaic-fed/core';
import { batchPerTurn } from '@mosaic-fed/core/util';
import type { Client } from '@libsql/client';
import { and, asc, desc, eq, gt, inArray, isNotNull, isNull, lt, lte, or, sql, type SQL } from 'drizzle-orm';
import type { SQLiteColumn } from 'drizzle-orm/sqlite-core';
import { decodeCursor, encodeCursor } from '../lib-cursor.js';
import { drizzle } from 'drizzle-orm/libsql/web';
import type {
  AdminTokenRecord,
  AdminTokenStore,
  AuditStore,
  ClaimOutcome,
  ConnectionRecord,
  ConnectionStore,
  AgentListQuery,
  FederationStores,
  HostedAgentRecord,
  HostedAgentStore,
  InstanceRecord,
  InstanceStore,
  MessageClaim,
  MessageLogStore,
  OutboxEntry,
  OutboxStore,
  RemoteAgentRecord,
  RemoteAgentStore,
  SpawnRequestRecord,
  SpawnRequestStore,
  StoredReply,
} from '../types.js';
import { applyMigrations } from './migrate.js';
import {
  adminTokensTable,
  agentEventsTable,
  auditTable,
  connectionsTable,
  hostedAgentsTable,
  instanceTable,
  messageLogTable,
  outboxTable,
  remoteAgentsTable,
  schema,
  spawnRequestsTable,
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

  async get(id: string): Promise<AdminTokenRecord | undefined> {
    const [row] = await this.db.select().from(adminTokensTable).where(eq(adminTokensTable.id, id)).limit(1);
    return row;
  }

  async list(): Promise<AdminTokenRecord[]> {
    return this.db.select().from(adminTokensTable).orderBy(asc(adminTokensTable.createdAt), asc(adminTokensTable.id));
  }

  async revoke(id: string, at: string, audit: AuditEntry): Promise<boolean> {
    const [revoked] = await this.db.batch([
      this.db
        .update(adminTokensTable)
        .set({ revokedAt: at })
        .where(and(eq(adminTokensTable.id, id), isNull(adminTokensTable.revokedAt))),
      insertAuditIfChanged(this.db, audit),
    ]);
    return revoked.rowsAffected === 1;
  }

  async recordUse(id: string, at: string): Promise<void> {
    await this.db
      .update(adminTokensTable)
      .set({ lastUsedAt: at })
      .where(and(eq(adminTokensTable.id, id), or(isNull(adminTokensTable.lastUsedAt), lt(adminTokensTable.lastUsedAt, at))));
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

/** Placeholders of the message log's statements. */
const at = {
  issuer: sql.placeholder('issuer'),
  jti: sql.placeholder('jti'),
  reply: sql.placeholder('reply'),
};

// Statements every message runs, built once rather than per message.
function messageLogStatements(db: Database) {
  const key = and(eq(messageLogTable.issuer, at.issuer), eq(messageLogTable.jti, at.jti));
  return {
    read: db.select().from(messageLogTable).where(key).limit(1).prepare(),
    // The reply goes in as JSON text: a placeholder in SQL of one's own is not encoded.
    complete: db.update(messageLogTable).set({ reply: sql`${at.reply}` }).where(key).prepare(),
    release: db.delete(messageLogTable).where(and(key, isNull(messageLogTable.reply))).prepare(),
  };
}

const claimSql = new Map<number, string>();

/**
 * One statement that claims `count` entries: each new (issuer, jti) is inserted, an
 * expired one taken over; the rows it claimed come back. Atomic across connections and
 * processes, like a single claim.
 */
function claimStatement(count: number): string {
  let text = claimSql.get(count);
  if (text === undefined) {
    text = `INSERT INTO message_log (issuer, jti, hash, expires_at, reply)
      VALUES ${Array.from({ length: count }, () => '(?, ?, ?, ?, ?)').join(', ')}
      ON CONFLICT (issuer, jti) DO UPDATE
        SET hash = excluded.hash, expires_at = excluded.expires_at, reply = excluded.reply
        WHERE message_log.expires_at <= ?
      RETURNING issuer, jti`;
    claimSql.set(count, text);
  }
  return text;
}

const entryKey = (issuer: string, jti: string) => `${issuer}\n${jti}`;

class LibsqlMessageLogStore implements MessageLogStore {
  readonly #statements: ReturnType<typeof messageLogStatements>;
  readonly #client: Client;
  /** Claims made in one turn of the event loop share one statement (a group commit). */
  readonly #claim = batchPerTurn((entries: MessageClaim[]) => this.#claimAll(entries));

  constructor(db: Database, client: Client) {
    this.#statements = messageLogStatements(db);
    this.#client = client;
  }

  claim(entry: MessageClaim): Promise<ClaimOutcome> {
    return this.#claim(entry);
  }

  async #claimAll(entries: MessageClaim[]): Promise<ClaimOutcome[]> {
    // A jti twice in one batch: the first copy takes part, the others find its row after.
    const distinct = new Map<string, MessageClaim>();
    for (const entry of entries) {
      const key = entryKey(entry.issuer, entry.jti);
      if (!distinct.has(key)) distinct.set(key, entry);
    }
    const rows = [...distinct.values()];
    // Expiry is judged at the earliest clock of the batch: a row expiring within the
    // batch's few milliseconds waits for the next claim.
    const now = Math.min(...rows.map((entry) => entry.now.getTime()));
    const { rows: claimedRows } = await this.#client.execute({
      sql: claimStatement(rows.length),
      args: [
        ...rows.flatMap((entry) => [
          entry.issuer,
          entry.jti,
          entry.hash,
          entry.expiresAt.getTime(),
          entry.reply === undefined ? null : JSON.stringify(entry.reply),
        ]),
        now,
      ],
    });
    const claimed = new Set(claimedRows.map((row) => entryKey(String(row.issuer), String(row.jti))));
    return Promise.all(
      entries.map((entry) => {
        const key = entryKey(entry.issuer, entry.jti);
        if (distinct.get(key) === entry && claimed.has(key)) return { outcome: 'claimed' as const };
        return this.#known(entry);
      }),
    );
  }

  /** The outcome for an entry whose (issuer, jti) was logged already. */
  async #known(entry: MessageClaim): Promise<ClaimOutcome> {
    const [row] = await this.#statements.read.all({ issuer: entry.issuer, jti: entry.jti });
    // Released since: the caller may simply try again.
    if (row === undefined) return this.claim(entry);
    if (row.hash !== entry.hash) return { outcome: 'conflict' };
    if (row.reply === null) return { outcome: 'in-progress' };
    return { outcome: 'completed', reply: row.reply };
  }

  async complete(issuer: string, jti: string, reply: StoredReply): Promise<void> {
    await this.#statements.complete.run({ issuer, jti, reply: JSON.stringify(reply) });
  }

  async release(issuer: string, jti: string): Promise<void> {
    await this.#statements.release.run({ issuer, jti });
  }

  async prune(now: Date, limit: number): Promise<number> {
    // Oldest first, through the expires_at index; a bounded delete keeps each pass short.
    const { rowsAffected } = await this.#client.execute({
      sql: `DELETE FROM message_log WHERE rowid IN
              (SELECT rowid FROM message_log WHERE expires_at <= ? ORDER BY expires_at LIMIT ?)`,
      args: [now.getTime(), limit],
    });
    return rowsAffected;
  }
}

const ACTIVE_STATES = ['spawning', 'running'] as const;

/** `WHERE (createdAt, id) > cursor`, or nothing for the first page; `false` for a bad cursor. */
function afterCursor(createdAt: SQLiteColumn, id: SQLiteColumn, cursor: string | undefined): SQL | undefined | false {
  if (cursor === undefined) return undefined;
  const after = decodeCursor(cursor);
  if (after === undefined) return false;
  return or(gt(createdAt, after.createdAt), and(eq(createdAt, after.createdAt), gt(id, after.id)));
}

function pageOf<T extends { createdAt: string; agentId: string }>(rows: T[], limit: number) {
  const agents = rows.slice(0, limit);
  const last = agents.at(-1);
  return { agents, nextCursor: rows.length > limit && last !== undefined ? encodeCursor(last.createdAt, last.agentId) : null };
}

class LibsqlHostedAgentStore implements HostedAgentStore {
  constructor(private readonly db: Database) {}

  async reserve(record: HostedAgentRecord, maxActive: number): Promise<'reserved' | 'exists' | 'limit'> {
    // One statement counts the connection's live agents and inserts only under the limit,
    // so concurrent spawns can never overshoot it.
    const result = await this.db.run(sql`
      INSERT INTO hosted_agents (agent_id, connection_id, owner_instance_id, task_id, state, status, sequence, created_at)
      SELECT ${record.agentId}, ${record.connectionId}, ${record.ownerInstanceId}, ${record.status.taskId},
             ${record.status.status}, ${JSON.stringify(record.status)}, ${record.sequence}, ${record.createdAt}
      WHERE (SELECT count(*) FROM hosted_agents
             WHERE connection_id = ${record.connectionId} AND state IN ('spawning', 'running')) < ${maxActive}
      ON CONFLICT (agent_id) DO NOTHING`);
    if (result.rowsAffected === 1) return 'reserved';
    return (await this.get(record.agentId)) === undefined ? 'limit' : 'exists';
  }

  async get(agentId: string): Promise<HostedAgentRecord | undefined> {
    const [row] = await this.db.select().from(hostedAgentsTable).where(eq(hostedAgentsTable.agentId, agentId)).limit(1);
    return row === undefined ? undefined : toHosted(row);
  }

  async remove(agentId: string): Promise<void> {
    await this.db.delete(hostedAgentsTable).where(eq(hostedAgentsTable.agentId, agentId));
  }

  async updateStatus(agentId: string, status: AgentStatus, sequence: number): Promise<boolean> {
    const result = await this.db
      .update(hostedAgentsTable)
      .set({ status, state: status.status, sequence })
      .where(and(eq(hostedAgentsTable.agentId, agentId), lt(hostedAgentsTable.sequence, sequence)));
    return result.rowsAffected === 1;
  }

  async list(query: AgentListQuery & { ownerInstanceId?: string | undefined }) {
    const after = afterCursor(hostedAgentsTable.createdAt, hostedAgentsTable.agentId, query.cursor);
    if (after === false) return { agents: [], nextCursor: null };
    const rows = await this.db
      .select()
      .from(hostedAgentsTable)
      .where(
        and(
          query.ownerInstanceId === undefined ? undefined : eq(hostedAgentsTable.ownerInstanceId, query.ownerInstanceId),
          query.status === undefined ? undefined : eq(hostedAgentsTable.state, query.status),
          query.taskId === undefined ? undefined : eq(hostedAgentsTable.taskId, query.taskId),
          after,
        ),
      )
      .orderBy(asc(hostedAgentsTable.createdAt), asc(hostedAgentsTable.agentId))
      .limit(query.limit + 1);
    return pageOf(rows.map(toHosted), query.limit);
  }

  async listActive(): Promise<HostedAgentRecord[]> {
    const rows = await this.db.select().from(hostedAgentsTable).where(inArray(hostedAgentsTable.state, [...ACTIVE_STATES]));
    return rows.map(toHosted);
  }
}

function toHosted(row: typeof hostedAgentsTable.$inferSelect): HostedAgentRecord {
  const { state: _state, taskId: _taskId, ...record } = row;
  return record;
}

/** A remote agent whose stored status is not terminal (PROTOCOL 5: a terminal one never changes). */
const notTerminal = sql`json_extract(${remoteAgentsTable.status}, '$.status') NOT IN (${sql.join(
  TERMINAL_STATES.map((state) => sql`${state}`),
  sql`, `,
)})`;

class LibsqlRemoteAgentStore implements RemoteAgentStore {
  constructor(private readonly db: Database) {}

  async create(record: RemoteAgentRecord): Promise<void> {
    await this.db.insert(remoteAgentsTable).values(record).onConflictDoNothing();
  }

  async get(agentId: string): Promise<RemoteAgentRecord | undefined> {
    const [row] = await this.db.select().from(remoteAgentsTable).where(eq(remoteAgentsTable.agentId, agentId)).limit(1);
    return row;
  }

  async list(query: { limit: number; cursor?: string | undefined }) {
    const after = afterCursor(remoteAgentsTable.createdAt, remoteAgentsTable.agentId, query.cursor);
    if (after === false) return { agents: [], nextCursor: null };
    const rows = await this.db
      .select()
      .from(remoteAgentsTable)
      .where(after)
      .orderBy(asc(remoteAgentsTable.createdAt), asc(remoteAgentsTable.agentId))
      .limit(query.limit + 1);
    return pageOf(rows, query.limit);
  }

  async applyEvent(agentId: string, event: AgentStatusChangedPayload): Promise<'applied' | 'stale' | 'terminal'> {
    const { sequence, ...status } = event;
    const [updated] = await this.db.batch([
      this.db
        .update(remoteAgentsTable)
        .set({ status, sequence })
        .where(and(eq(remoteAgentsTable.agentId, agentId), lt(remoteAgentsTable.sequence, sequence), notTerminal)),
      this.db.run(sql`
        INSERT INTO agent_events (agent_id, sequence, payload)
        SELECT ${agentId}, ${sequence}, ${JSON.stringify(event)} WHERE changes() = 1`),
    ]);
    if (updated.rowsAffected === 1) return 'applied';
    // Not applied: only now is it worth a read to say why.
    const [row] = await this.db
      .select({ sequence: remoteAgentsTable.sequence })
      .from(remoteAgentsTable)
      .where(eq(remoteAgentsTable.agentId, agentId))
      .limit(1);
    return row === undefined || row.sequence >= sequence ? 'stale' : 'terminal';
  }

  async refreshStatus(agentId: string, status: AgentStatus): Promise<void> {
    await this.db.update(remoteAgentsTable).set({ status }).where(and(eq(remoteAgentsTable.agentId, agentId), notTerminal));
  }

  async events(agentId: string, afterSequence: number): Promise<AgentStatusChangedPayload[]> {
    const rows = await this.db
      .select({ payload: agentEventsTable.payload })
      .from(agentEventsTable)
      .where(and(eq(agentEventsTable.agentId, agentId), gt(agentEventsTable.sequence, afterSequence)))
      .orderBy(asc(agentEventsTable.sequence));
    return rows.map((row) => row.payload);
  }
}

class LibsqlSpawnRequestStore implements SpawnRequestStore {
  constructor(private readonly db: Database) {}

  async begin(record: SpawnRequestRecord): Promise<SpawnRequestRecord> {
    // One statement: of two requests with one key, exactly one is stored.
    await this.db.insert(spawnRequestsTable).values(record).onConflictDoNothing();
    const [row] = await this.db.select().from(spawnRequestsTable).where(eq(spawnRequestsTable.idempotencyKey, record.idempotencyKey)).limit(1);
    return row ?? record;
  }

  async answer(idempotencyKey: string, response: NonNullable<SpawnRequestRecord['response']>): Promise<void> {
    await this.db.update(spawnRequestsTable).set({ response }).where(eq(spawnRequestsTable.idempotencyKey, idempotencyKey));
  }

  async forget(idempotencyKey: string): Promise<void> {
    await this.db.delete(spawnRequestsTable).where(eq(spawnRequestsTable.idempotencyKey, idempotencyKey));
  }

  async unanswered(before: string, limit: number): Promise<SpawnRequestRecord[]> {
    return this.db
      .select()
      .from(spawnRequestsTable)
      .where(and(isNull(spawnRequestsTable.response), lt(spawnRequestsTable.createdAt, before)))
      .orderBy(asc(spawnRequestsTable.createdAt))
      .limit(limit);
  }

  async prune(before: string, limit: number): Promise<number> {
    const { rowsAffected } = await this.db.run(sql`
      DELETE FROM ${spawnRequestsTable} WHERE rowid IN (
        SELECT rowid FROM ${spawnRequestsTable} WHERE ${lt(spawnRequestsTable.createdAt, before)} LIMIT ${limit})`);
    return rowsAffected;
  }
}

class LibsqlOutboxStore implements OutboxStore {
  constructor(private readonly db: Database) {}

  async enqueue(entry: OutboxEntry): Promise<void> {
    await this.db.insert(outboxTable).values(entry).onConflictDoNothing();
  }

  async due(now: number, limit: number): Promise<OutboxEntry[]> {
    // The head of each order: no earlier entry of the same key still pending.
    const earlierPending = sql`EXISTS (
      SELECT 1 FROM outbox AS earlier
      WHERE earlier.order_key = ${outboxTable.orderKey}
        AND earlier.delivered_at IS NULL AND earlier.give_up_at > ${now}
        AND (earlier.created_at < ${outboxTable.createdAt} OR (earlier.created_at = ${outboxTable.createdAt} AND earlier.rowid < ${outboxTable}.rowid)))`;
    return this.db
      .select()
      .from(outboxTable)
      .where(
        and(
          isNull(outboxTable.deliveredAt),
          lte(outboxTable.nextAttemptAt, now),
          gt(outboxTable.giveUpAt, now),
          or(isNull(outboxTable.orderKey), sql`NOT ${earlierPending}`),
        ),
      )
      // Within a millisecond, in the order they were stored.
      .orderBy(asc(outboxTable.createdAt), asc(sql`rowid`))
      .limit(limit);
  }

  async markDelivered(id: string, at: number): Promise<void> {
    await this.db.update(outboxTable).set({ deliveredAt: at }).where(eq(outboxTable.id, id));
  }

  async reschedule(id: string, attempts: number, nextAttemptAt: number, lastError: string, giveUpAt?: number): Promise<void> {
    await this.db
      .update(outboxTable)
      .set({ attempts, nextAttemptAt, lastError, ...(giveUpAt === undefined ? {} : { giveUpAt }) })
      .where(eq(outboxTable.id, id));
  }

  async prune(now: number, limit: number): Promise<number> {
    const done = or(isNotNull(outboxTable.deliveredAt), lte(outboxTable.giveUpAt, now));
    const { rowsAffected } = await this.db.run(sql`
      DELETE FROM ${outboxTable} WHERE rowid IN (SELECT rowid FROM ${outboxTable} WHERE ${done} LIMIT ${limit})`);
    return rowsAffected;
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
    messageLog: new LibsqlMessageLogStore(db, client),
    hostedAgents: new LibsqlHostedAgentStore(db),
    remoteAgents: new LibsqlRemoteAgentStore(db),
    spawnRequests: new LibsqlSpawnRequestStore(db),
    outbox: new LibsqlOutboxStore(db),
    async close() {
      if (options.closeClient ?? true) client.close();
    },
  };
}
