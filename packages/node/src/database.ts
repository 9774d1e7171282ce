import { createClient, type Client } from '@libsql/client';
import { openSqliteFile, pathOfFileUrl } from './sqlite-file.js';

/**
 * Opens a libSQL database: a remote libSQL/Turso server by URL, or a SQLite file
 * (`file:...`) set up for a server: write-ahead logging, NORMAL syncs, a writer that waits
 * its turn, and statements kept prepared (`sqlite-file.ts`).
 */
export async function openDatabase(url: string, authToken?: string): Promise<Client> {
  if (!url.startsWith('file:')) return createClient({ url, ...(authToken === undefined ? {} : { authToken }) });
  const client = openSqliteFile(pathOfFileUrl(url), {
    // Replicas on one machine may share the file: a writer waits its turn instead of
    // failing with SQLITE_BUSY.
    timeout: 10_000,
    // Write-ahead logging lets readers and a writer work at once (it stays set in the
    // file); with it, NORMAL syncs at checkpoints rather than at every commit: a power
    // cut can lose the last commits, never the database's consistency. `synchronous`
    // holds per connection, so each new one sets it again. The log is copied back into the
    // file by a thread of its own each second (a PASSIVE checkpoint, which never blocks
    // this writer); the connection's own checkpoint, inside whichever commit finds the log
    // past 10,000 pages (40 MB), is the backstop.
    onOpen: ['PRAGMA journal_mode = WAL', 'PRAGMA synchronous = NORMAL', 'PRAGMA wal_autocheckpoint = 10000'],
    checkpointEveryMs: 1_000,
  });
  return reconnectingAfterLocks(client);
}

const LOCKED = /^SQLITE_(BUSY|LOCKED)/;
const STATEMENT_CALLS = new Set<PropertyKey>(['execute', 'batch', 'executeMultiple', 'migrate']);

/**
 * The file's client, whose connections are replaced after a statement met another
 * writer's lock: the driver leaves such a statement active on its connection, and every
 * later commit there fails ("SQL statements in progress") until the connection goes. The
 * call that met the lock fails (the API answers 503, safe to retry); the next one runs on
 * a fresh connection.
 */
function reconnectingAfterLocks(client: Client): Client {
  let reconnecting: Promise<void> | undefined;
  const recover = (error: unknown): never => {
    const code = (error as { code?: unknown }).code;
    if (typeof code === 'string' && LOCKED.test(code)) {
      reconnecting ??= Promise.resolve(client.reconnect()).finally(() => {
        reconnecting = undefined;
      });
    }
    throw error;
  };
  return new Proxy(client, {
    get(target, property) {
      const value: unknown = Reflect.get(target, property, target);
      if (typeof value !== 'function') return value;
      const method = value as (...args: unknown[]) => unknown;
      if (!STATEMENT_CALLS.has(property)) return method.bind(target);
      return async (...args: unknown[]) => {
        await reconnecting;
        try {
          return await method.apply(target, args);
        } catch (error) {
          return recover(error);
        }
      };
    },
  });
}
