/**
 * @mosaic-fed/node/valkey: what server replicas share in Valkey (or Redis), through
 * ioredis: the message log, rate limits, leases and the agent event bus. Give them to
 * `createFederationApp` as `stores.messageLog`, `rateLimiter`, `leases` and `events`;
 * `startServer` does when `redisUrl` is set.
 *
 * @packageDocumentation
 */
export { ValkeyEventBus } from './valkey/event-bus.js';
export type { ValkeyEventBusOptions } from './valkey/event-bus.js';
export { ValkeyLeases } from './valkey/leases.js';
export { ValkeyMessageLogStore } from './valkey/message-log.js';
export { ValkeyRateLimiter } from './valkey/rate-limiter.js';
export type { ValkeyOptions } from './valkey/shared.js';
