// The message log (PROTOCOL 2) in libSQL.
import { batchPerTurn, rowsStatement } from '@mosaic-fed/core/util';
import type { Client } from '@libsql/client';
import { and, eq, isNull, sql } from 'drizzle-orm';
import type { ClaimOutcome, MessageClaim, MessageLogStore, StoredReply } from '../types.js';
import { messageLogTable } from './schema.js';
import type { Database } from './shared.js';

/** Placeholders of the message log's statements. */
const at = {
  issuer: sql.placeholder('issuer'),
  jti: sql.placeholder('jti'),
};

// Statements every message runs, built once rather than per message.
function messageLogStatements(db: Database) {
  const key = and(eq(messageLogTable.issuer, at.issuer), eq(messageLogTable.jti, at.jti));
  return {
    read: db.select().from(messageLogTable).where(key).limit(1).prepare(),
    release: db.delete(messageLogTable).where(and(key, isNull(messageLogTable.reply))).prepare(),
  };
}

/** The replies to claimed entries, a row each (issuer, jti, reply as JSON text). */
const complete = rowsStatement(
  3,
  (values) => `UPDATE message_log SET reply = r.column3
    FROM (VALUES ${values}) AS r
    WHERE message_log.issuer = r.column1 AND message_log.jti = r.column2`,
);

/**
 * One statement that claims its entries, a row each: each new (issuer, jti) is inserted,
 * an expired one taken over; the rows it claimed come back. Atomic across connections and
 * processes, like a single claim.
 */
const claim = rowsStatement(
  5,
  (values) => `INSERT INTO message_log (issuer, jti, hash, expires_at, reply)
    VALUES ${values}
    ON CONFLICT (issuer, jti) DO UPDATE
      SET hash = excluded.hash, expires_at = excluded.expires_at, reply = excluded.reply
      WHERE message_log.expires_at <= ?
    RETURNING issuer, jti`,
);

const entryKey = (issuer: string, jti: string) => `${issuer}\n${jti}`;

export class LibsqlMessageLogStore implements MessageLogStore {
  readonly #statements: ReturnType<typeof messageLogStatements>;
  readonly #client: Client;
  /** Claims made in one turn of the event loop share one statement (a group commit). */
  readonly #claim = batchPerTurn((entries: MessageClaim[]) => this.#claimAll(entries));
  /** Replies stored in one turn of the event loop share one statement. */
  readonly #complete = batchPerTurn(async (replies: { issuer: string; jti: string; reply: StoredReply }[]) => {
    await this.#client.execute({ sql: complete(replies.length), args: replies.flatMap(({ issuer, jti, reply }) => [issuer, jti, JSON.stringify(reply)]) });
    return replies.map(() => undefined);
  });

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
      sql: claim(rows.length),
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
    await this.#complete({ issuer, jti, reply });
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
