/**
 * @mosaic-fed/server/valkey: what server replicas share in Valkey (or Redis): the message
 * log, rate limits and the agent event bus. Give them to `createFederationApp` as
 * `stores.messageLog`, `rateLimiter` and `events`; `startServer` does when `redisUrl` is set.
 *
 * @packageDocumentation
 */
export { ValkeyEventBus, ValkeyLeases, ValkeyMessageLogStore, ValkeyRateLimiter } from './stores/valkey/index.js';
export type { ValkeyEventBusOptions, ValkeyOptions } from './stores/valkey/index.js';
