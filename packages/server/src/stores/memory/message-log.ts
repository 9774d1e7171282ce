// The message log (PROTOCOL 2) in memory.
import type { ClaimOutcome, MessageClaim, MessageLogStore, StoredReply } from '../types.js';
import { copy, deleteUpTo } from './shared.js';

interface LogEntry {
  hash: string;
  expiresAt: number;
  reply: StoredReply | undefined;
}

export class InMemoryMessageLogStore implements MessageLogStore {
  readonly #entries = new Map<string, LogEntry>();

  async claim(entry: MessageClaim): Promise<ClaimOutcome> {
    const key = `${entry.issuer} ${entry.jti}`;
    const existing = this.#entries.get(key);
    if (existing === undefined || existing.expiresAt <= entry.now.getTime()) {
      const reply = entry.reply === undefined ? undefined : copy(entry.reply);
      this.#entries.set(key, { hash: entry.hash, expiresAt: entry.expiresAt.getTime(), reply });
      return { outcome: 'claimed' };
    }
    if (existing.hash !== entry.hash) return { outcome: 'conflict' };
    if (existing.reply === undefined) return { outcome: 'in-progress' };
    return { outcome: 'completed', reply: copy(existing.reply) };
  }

  async complete(issuer: string, jti: string, reply: StoredReply): Promise<void> {
    const existing = this.#entries.get(`${issuer} ${jti}`);
    if (existing !== undefined) existing.reply = copy(reply);
  }

  async release(issuer: string, jti: string): Promise<void> {
    const key = `${issuer} ${jti}`;
    if (this.#entries.get(key)?.reply === undefined) this.#entries.delete(key);
  }

  async prune(now: Date, limit: number): Promise<number> {
    return deleteUpTo(this.#entries, limit, (entry) => entry.expiresAt <= now.getTime());
  }
}
