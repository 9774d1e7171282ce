// PostgreSQL for many machines (MOSAIC_FED_DATABASE_URL=postgres://...): the server's stores
// and the agents' state, migrated at start, on one pool per process and database: a
// server's connections are few (PostgreSQL allows 100 by default, for every replica and
// worker together).
import { describeError, type Logger } from '@mosaic-fed/core';
import { createPostgresAgentStateStore } from '@mosaic-fed/orchestrator/postgres';
import type { AgentStateStore } from '@mosaic-fed/orchestrator';
import type { FederationStores } from '@mosaic-fed/server';
import { createPostgresStores } from '@mosaic-fed/server/postgres';
import pg from 'pg';

/** Whether a database URL names PostgreSQL rather than libSQL. */
export function isPostgresUrl(url: string | undefined): url is string {
  return url !== undefined && /^postgres(ql)?:\/\//i.test(url);
}

/** Connections one process opens to a database at most. */
const POOL_SIZE = 10;

/** The pools this process holds, by URL, with how many users each has. */
const pools = new Map<string, { pool: pg.Pool; users: number }>();

/**
 * The process's pool on the database, made on first use. A connection that fails while
 * idle (the server restarted, a network blip) is logged and replaced at the next query
 * rather than ending the process. `release` ends it once its last user is done.
 */
function sharedPool(url: string, logger: Logger): { pool: pg.Pool; release: () => Promise<void> } {
  let held = pools.get(url);
  if (held === undefined) {
    const pool = new pg.Pool({ connectionString: url, max: POOL_SIZE, connectionTimeoutMillis: 10_000 });
    pool.on('error', (error) => logger.warn('a PostgreSQL connection failed while idle; the next query opens another', describeError(error)));
    held = { pool, users: 0 };
    pools.set(url, held);
  }
  held.users += 1;
  const entry = held;
  let released = false;
  return {
    pool: entry.pool,
    release: async () => {
      if (released) return;
      released = true;
      entry.users -= 1;
      if (entry.users > 0) return;
      pools.delete(url);
      await entry.pool.end();
    },
  };
}

/** Runs `open` on the shared pool; its result lets go of the pool when it closes, and so does a failure. */
async function onPool<T extends { close?(): Promise<void> }>(url: string, logger: Logger, open: (pool: pg.Pool) => Promise<T>): Promise<T> {
  const { pool, release } = sharedPool(url, logger);
  try {
    const opened = await open(pool);
    const close = opened.close?.bind(opened);
    return Object.assign(opened, { close: async () => (await close?.(), await release()) });
  } catch (error) {
    await release().catch(() => undefined);
    throw error;
  }
}

/** The server's stores in PostgreSQL, migrated. */
export function openPostgresStores(url: string, logger: Logger): Promise<FederationStores> {
  return onPool(url, logger, (pool) => createPostgresStores(pool, { closePool: false }));
}

/** The agents' state in PostgreSQL, migrated. */
export function openPostgresAgentState(url: string, logger: Logger): Promise<AgentStateStore> {
  return onPool(url, logger, (pool) => createPostgresAgentStateStore(pool, { closePool: false }));
}
