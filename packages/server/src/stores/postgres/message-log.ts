// The message log (PROTOCOL 2) in PostgreSQL.
import { batchPerTurn } from '@mosaic-fed/core/util';
import { and, eq, isNull, sql } from 'drizzle-orm';
import type { ClaimOutcome, MessageClaim, MessageLogStore, StoredReply } from '../types.js';
import { messageLogTable } from './schema.js';
import type { Database } from './shared.js';

const entryKey = (issuer: string, jti: string) => `${issuer}\n${jti}`;

export class PostgresMessageLogStore implements MessageLogStore {
  /** Claims made in one turn of the event loop share one statement (a group commit). */
  readonly #claim = batchPerTurn((entries: MessageClaim[]) => this.#claimAll(entries));

  constructor(private readonly db: Database) {}

  claim(entry: MessageClaim): Promise<ClaimOutcome> {
    return this.#claim(entry);
  }

  async #claimAll(entries: MessageClaim[]): Promise<ClaimOutcome[]> {
    // A jti twice in one statement: the first copy takes part, the others find its row after.
    const distinct = new Map<string, MessageClaim>();
    for (const entry of entries) {
      const key = entryKey(entry.issuer, entry.jti);
      if (!distinct.has(key)) distinct.set(key, entry);
    }
    const rows = [...distinct.values()];
    // Expiry is judged at the earliest clock of the batch: a row expiring within the
    // batch's few milliseconds waits for the next claim.
    const now = Math.min(...rows.map((entry) => entry.now.getTime()));
    // Each new (issuer, jti) is inserted, an expired one taken over; the rows it claimed
    // come back. Atomic across connections and replicas, like a single claim.
    const values = sql.join(
      rows.map(
        (entry) =>
          sql`(${entry.issuer}, ${entry.jti}, ${entry.hash}, ${entry.expiresAt.getTime()}::bigint, ${entry.reply === undefined ? null : JSON.stringify(entry.reply)}::jsonb)`,
      ),
      sql`, `,
    );
    const { rows: claimedRows } = await this.db.execute<{ issuer: string; jti: string }>(sql`
      INSERT INTO message_log (issuer, jti, hash, expires_at, reply) VALUES ${values}
      ON CONFLICT (issuer, jti) DO UPDATE
        SET hash = excluded.hash, expires_at = excluded.expires_at, reply = excluded.reply
        WHERE message_log.expires_at <= ${now}
      RETURNING issuer, jti`);
    const claimed = new Set(claimedRows.map((row) => entryKey(row.issuer, row.jti)));
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
    const [row] = await this.db.select().from(messageLogTable).where(this.#key(entry.issuer, entry.jti)).limit(1);
    // Released since: the caller may simply try again.
    if (row === undefined) return this.claim(entry);
    if (row.hash !== entry.hash) return { outcome: 'conflict' };
    if (row.reply === null) return { outcome: 'in-progress' };
    return { outcome: 'completed', reply: row.reply };
  }

  async complete(issuer: string, jti: string, reply: StoredReply): Promise<void> {
    await this.db.update(messageLogTable).set({ reply }).where(this.#key(issuer, jti));
  }

  async release(issuer: string, jti: string): Promise<void> {
    await this.db.delete(messageLogTable).where(and(this.#key(issuer, jti), isNull(messageLogTable.reply)));
  }

  async prune(now: Date, limit: number): Promise<number> {
    // Oldest first, through the expires_at index; a bounded delete keeps each pass short.
    const { rowCount } = await this.db.execute(sql`
      DELETE FROM message_log WHERE (issuer, jti) IN
        (SELECT issuer, jti FROM message_log WHERE expires_at <= ${now.getTime()} ORDER BY expires_at LIMIT ${limit})`);
    return rowCount ?? 0;
  }

  #key(issuer: string, jti: string) {
    return and(eq(messageLogTable.issuer, issuer), eq(messageLogTable.jti, jti));
  }
}
