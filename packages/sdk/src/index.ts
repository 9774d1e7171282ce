/**
 * @mosaic-fed/sdk: what any TypeScript app imports to spawn, watch, query and kill remote
 * agents, and to drive an instance's own API. Runs on any runtime with `fetch`.
 *
 * @packageDocumentation
 */
export { AdminClient } from './admin-client.js';
export type { AdminClientOptions, AgentEventsOptions, ConnectionAction, SpawnCallOptions } from './admin-client.js';
export { FederationClient } from './federation-client.js';
export type { CallOptions, FederationClientOptions, PeerIdentity, WatchOptions } from './federation-client.js';
export { endpointFor, pinnedKeys, sendMessage } from './transport.js';
export type { RetryOptions, SendMessageOptions } from './transport.js';
