// PostgreSQL stores through drizzle-orm's node-postgres driver: for many machines sharing
// one database (with Valkey for the message log, rate limits and events). Node only:
// imported from `@mosaic-fed/server/postgres`, never by the edge-ready main entry.
import { drizzle } from 'drizzle-orm/node-postgres';
import type { Pool } from 'pg';
import type { FederationStores } from '../types.js';
import { PostgresA2AAgentStore } from './a2a-agents.js';
import { PostgresA2AClientStore } from './a2a-clients.js';
import { PostgresA2APushConfigStore } from './a2a-push-configs.js';
import { PostgresAdminTokenStore } from './admin-tokens.js';
import { PostgresAuditStore } from './audit.js';
import { PostgresConnectionStore } from './connections.js';
import { PostgresDeliveryStore } from './deliveries.js';
import { PostgresHostedAgentStore } from './hosted-agents.js';
import { PostgresInstanceStore } from './instance.js';
import { PostgresMessageLogStore } from './message-log.js';
import { applyPostgresMigrations } from './migrate.js';
import { PostgresOutboxStore } from './outbox.js';
import { PostgresPeopleStore } from './people.js';
import { PostgresRemoteAgentStore } from './remote-agents.js';
import { schema } from './schema.js';
import { PostgresSpawnRequestStore } from './spawn-requests.js';

export { applyPostgresMigrations } from './migrate.js';

/** Options for {@link createPostgresStores}. */
export interface PostgresStoresOptions {
  /** End the pool when the stores close. Default: true. */
  closePool?: boolean;
}

/**
 * Opens the PostgreSQL stores on a `pg` pool, applying pending migrations first.
 *
 * @example
 * ```ts
 * import pg from 'pg';
 * const stores = await createPostgresStores(new pg.Pool({ connectionString: process.env.MOSAIC_FED_DATABASE_URL }));
 * ```
 */
export async function createPostgresStores(pool: Pool, options: PostgresStoresOptions = {}): Promise<FederationStores> {
  await applyPostgresMigrations(pool);
  const db = drizzle(pool, { schema });
  return {
    instance: new PostgresInstanceStore(db),
    audit: new PostgresAuditStore(db),
    adminTokens: new PostgresAdminTokenStore(db),
    a2aClients: new PostgresA2AClientStore(db),
    a2aPushConfigs: new PostgresA2APushConfigStore(db),
    a2aAgents: new PostgresA2AAgentStore(db),
    people: new PostgresPeopleStore(db),
    connections: new PostgresConnectionStore(db),
    messageLog: new PostgresMessageLogStore(db),
    hostedAgents: new PostgresHostedAgentStore(db),
    remoteAgents: new PostgresRemoteAgentStore(db),
    spawnRequests: new PostgresSpawnRequestStore(db),
    deliveries: new PostgresDeliveryStore(db),
    outbox: new PostgresOutboxStore(db),
    async close() {
      if (options.closePool ?? true) await pool.end();
    },
  };
}
