// In-memory stores: for tests, demos and edge deployments that keep no state. Values are
// copied in and out, so a caller can never change what is stored by holding a reference.
import type { FederationStores } from '../types.js';
import { InMemoryA2AAgentStore } from './a2a-agents.js';
import { InMemoryA2AClientStore } from './a2a-clients.js';
import { InMemoryA2APushConfigStore } from './a2a-push-configs.js';
import { InMemoryAdminTokenStore } from './admin-tokens.js';
import { InMemoryAuditStore } from './audit.js';
import { InMemoryConnectionStore } from './connections.js';
import { InMemoryDeliveryStore } from './deliveries.js';
import { InMemoryHostedAgentStore } from './hosted-agents.js';
import { InMemoryInstanceStore } from './instance.js';
import { InMemoryMessageLogStore } from './message-log.js';
import { InMemoryOutboxStore } from './outbox.js';
import { InMemoryPeopleStore } from './people.js';
import { InMemoryRemoteAgentStore } from './remote-agents.js';
import { InMemorySpawnRequestStore } from './spawn-requests.js';

export { InMemoryAdminTokenStore, InMemoryAuditStore, InMemoryInstanceStore };

/** A fresh set of in-memory stores that share one audit log (and one outbox). */
export function createInMemoryStores(): FederationStores {
  const audit = new InMemoryAuditStore();
  const remoteAgents = new InMemoryRemoteAgentStore();
  const outbox = new InMemoryOutboxStore();
  return {
    audit,
    instance: new InMemoryInstanceStore(audit),
    adminTokens: new InMemoryAdminTokenStore(audit),
    a2aClients: new InMemoryA2AClientStore(audit),
    a2aPushConfigs: new InMemoryA2APushConfigStore(),
    a2aAgents: new InMemoryA2AAgentStore(audit),
    people: new InMemoryPeopleStore(audit),
    connections: new InMemoryConnectionStore(audit),
    messageLog: new InMemoryMessageLogStore(),
    hostedAgents: new InMemoryHostedAgentStore(audit, outbox),
    remoteAgents,
    spawnRequests: new InMemorySpawnRequestStore(),
    deliveries: new InMemoryDeliveryStore(remoteAgents),
    outbox,
  };
}
