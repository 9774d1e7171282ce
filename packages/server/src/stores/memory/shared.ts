// What the in-memory stores share: copies in and out, pruning and paging.
import { decodeCursor, encodeCursor, isAfter, isBefore } from '../lib-cursor.js';

export const copy = <T>(value: T): T => structuredClone(value);

/** Deletes up to `limit` entries that `done` picks, in insertion order; answers how many. */
export function deleteUpTo<K, V>(entries: Map<K, V>, limit: number, done: (entry: V) => boolean): number {
  let deleted = 0;
  for (const [key, entry] of entries) {
    if (deleted >= limit) break;
    if (!done(entry)) continue;
    entries.delete(key);
    deleted++;
  }
  return deleted;
}

/** One page of `items` after `cursor`, ordered by (createdAt, id), or the reverse with `newestFirst`. */
export function page<T>(
  items: T[],
  key: (item: T) => { createdAt: string; id: string },
  limit: number,
  cursor: string | undefined,
  newestFirst = false,
): { items: T[]; nextCursor: string | null } {
  const after = decodeCursor(cursor);
  if (cursor !== undefined && after === undefined) return { items: [], nextCursor: null };
  const direction = newestFirst ? -1 : 1;
  const sorted = items
    .filter((item) => after === undefined || (newestFirst ? isBefore(key(item), after) : isAfter(key(item), after)))
    .sort((a, b) => {
      const [ka, kb] = [key(a), key(b)];
      return direction * (ka.createdAt < kb.createdAt ? -1 : ka.createdAt > kb.createdAt ? 1 : ka.id < kb.id ? -1 : ka.id > kb.id ? 1 : 0);
    });
  const taken = sorted.slice(0, limit);
  const last = taken.at(-1);
  return {
    items: taken,
    nextCursor: sorted.length > limit && last !== undefined ? encodeCursor(key(last).createdAt, key(last).id) : null,
  };
}
