import { createClient, type Client } from '@libsql/client';

/**
 * Opens a libSQL database: a remote libSQL/Turso server by URL, or a SQLite file
 * (`file:...`) set up for a server: write-ahead logging, NORMAL syncs and a writer that
 * waits its turn.
 */
export async function openDatabase(url: string, authToken?: string): Promise<Client> {
  const local = url.startsWith('file:');
  const client = createClient({
    url,
    ...(authToken === undefined ? {} : { authToken }),
    // Replicas on one machine may share the file: a writer waits its turn instead of
    // failing with SQLITE_BUSY. One connection: the driver is synchronous, so more would
    // not run queries side by side, and the pragmas below hold for all of them.
    ...(local ? { timeout: 10_000, concurrency: 1 } : {}),
  });
  if (local) {
    // Write-ahead logging lets readers and a writer work at once (it stays set in the
    // file); with it, NORMAL syncs at checkpoints rather than at every commit: a power
    // cut can lose the last commits, never the database's consistency.
    await client.execute('PRAGMA journal_mode = WAL');
    await client.execute('PRAGMA synchronous = NORMAL');
  }
  return client;
}
