// When a bearer token was last used, written at most once a minute per token and process,
// not on every request.

/** A token's last use is written at most this often (per token and process). */
const LAST_USED_RESOLUTION_MS = 60_000;

/**
 * Records uses through `write` (a store's `recordUse`), skipping those within a minute of
 * the last one written. A use that cannot be recorded is forgotten, never an error.
 */
export function lastUseRecorder(write: (id: string, at: string) => Promise<void>) {
  const lastWritten = new Map<string, number>();
  return async (record: { id: string; lastUsedAt: string | null }, at: Date): Promise<void> => {
    const previous = lastWritten.get(record.id) ?? (record.lastUsedAt === null ? undefined : Date.parse(record.lastUsedAt));
    if (previous !== undefined && at.getTime() - previous < LAST_USED_RESOLUTION_MS) return;
    lastWritten.set(record.id, at.getTime());
    await write(record.id, at.toISOString()).catch(() => lastWritten.delete(record.id));
  };
}
