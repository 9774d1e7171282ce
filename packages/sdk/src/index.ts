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

// The client side of bearer-token JSON APIs and their event streams, which the
// orchestrator's HttpOrchestrator is built on too.
export { downloadBearerApi, errorOfResponse, readAgentEvents, requestBearerApi } from './bearer-api.js';
export type { AgentEventStreamOptions, BearerApiOptions } from './bearer-api.js';
export { readServerSentEvents } from './sse.js';
export type { ServerSentEvent } from './sse.js';
