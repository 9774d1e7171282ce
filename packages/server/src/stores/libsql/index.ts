// libSQL stores through drizzle-orm: the embedded default (a SQLite file in the data
// directory) and, with the same code, a remote libSQL/Turso server reached by URL.
// Imports only drizzle's web driver, so it also runs on edge runtimes.
import type { Client } from '@libsql/client';
import { drizzle } from 'drizzle-orm/libsql/web';
import type { FederationStores } from '../types.js';
import { applyMigrations } from './migrate.js';
import { schema } from './schema.js';
import { LibsqlA2AAgentStore } from './a2a-agents.js';
import { LibsqlA2AClientStore } from './a2a-clients.js';
import { LibsqlA2APushConfigStore } from './a2a-push-configs.js';
import { LibsqlAdminTokenStore } from './admin-tokens.js';
import { LibsqlAuditStore } from './audit.js';
import { LibsqlConnectionStore } from './connections.js';
import { LibsqlDeliveryStore } from './deliveries.js';
import { LibsqlHostedAgentStore } from './hosted-agents.js';
import { LibsqlInstanceStore } from './instance.js';
import { LibsqlMessageLogStore } from './message-log.js';
import { LibsqlOutboxStore } from './outbox.js';
import { LibsqlPeopleStore } from './people.js';
import { LibsqlRemoteAgentStore } from './remote-agents.js';
import { LibsqlSpawnRequestStore } from './spawn-requests.js';

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
    a2aClients: new LibsqlA2AClientStore(db),
    a2aPushConfigs: new LibsqlA2APushConfigStore(db),
    a2aAgents: new LibsqlA2AAgentStore(db),
    people: new LibsqlPeopleStore(db),
    connections: new LibsqlConnectionStore(db),
    messageLog: new LibsqlMessageLogStore(db, client),
    hostedAgents: new LibsqlHostedAgentStore(db),
    remoteAgents: new LibsqlRemoteAgentStore(db),
    spawnRequests: new LibsqlSpawnRequestStore(db),
    deliveries: new LibsqlDeliveryStore(db),
    outbox: new LibsqlOutboxStore(db),
    async close() {
      if (options.closeClient ?? true) client.close();
    },
  };
}
