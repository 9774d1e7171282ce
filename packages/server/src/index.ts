/**
 * @mosaic-fed/server: the federation server as a Hono app factory. This main entry is
 * edge-ready (web APIs only) and so are its dependencies; Node serving, the embedded
 * SQLite file, the Valkey stores and the `mosaic-fed` CLI live in `@mosaic-fed/node`.
 *
 * @packageDocumentation
 */
export { createFederation, createFederationApp, MIN_SECRET_LENGTH } from './app.js';
export type { Federation, FederationAppOptions, OutboundOptions } from './app.js';
export type { MessageBody } from './peers/messenger.js';
export type { BranchDeliverer, BranchDelivery } from './agents/deliveries.js';
export type { HealthCheck, HealthProbe } from './instance/health.js';
export type { FederationObserver } from './observer.js';
export { agentRows, LIST_END } from './agents/overview.js';
export { PeopleService } from './people/service.js';
export type { Principal } from './auth/principal.js';
export type { AgentListCursors, AgentRow, AgentRowsShown, AgentViews } from './agents/overview.js';

// What more admin routes (`adminRoutes`) are built from.
export type { AdminVariables } from './middleware/admin-auth.js';
export { ok, validate } from './routes/http.js';
export type { Ok } from './routes/http.js';
export type { FederationApi } from './routes/admin.js';

export { createOutboundFetch, UNREACHABLE_MESSAGE } from './outbound/client.js';
export type { OutboundFetchOptions } from './outbound/client.js';
export { OutboundPolicy, OutboundRefusal } from './outbound/policy.js';
export type { OutboundPolicyOptions } from './outbound/policy.js';

export { InstanceService } from './instance/service.js';
export type { InstanceServiceOptions } from './instance/service.js';

export {
  ADMIN_TOKEN_PREFIX,
  createAdminToken,
  createAdminTokenAuthenticator,
  revokeAdminToken,
  toAdminToken,
} from './auth/admin-tokens.js';
export type { AdminTokenAuthenticatorOptions, CreateAdminTokenOptions, RevokeAdminTokenOptions } from './auth/admin-tokens.js';
export { createOidcAuthenticator } from './auth/oidc.js';
export type { OidcAuthOptions } from './auth/oidc.js';
export type { AdminAuthenticator, AuthOutcome } from './auth/types.js';

export { createJsonLogger, describeError, silentLogger } from './logger.js';
export type { JsonLoggerOptions, LogFields, Logger, LogLevel } from './logger.js';

export {
  createInMemoryStores,
  InMemoryAdminTokenStore,
  InMemoryAuditStore,
  InMemoryInstanceStore,
} from './stores/memory/index.js';
export { createLibsqlStores } from './stores/libsql/index.js';
export type { LibsqlStoresOptions } from './stores/libsql/index.js';
export type {
  AdminTokenRecord,
  AdminTokenStore,
  AgentListQuery,
  AuditStore,
  ClaimOutcome,
  ConnectionRecord,
  ConnectionStore,
  DeliveryChange,
  DeliveryRecord,
  DeliveryStore,
  FederationStores,
  HostedAgentRecord,
  HostedAgentStore,
  InstanceRecord,
  InstanceStore,
  MessageClaim,
  MessageLogStore,
  OutboxEntry,
  OutboxStore,
  PeopleStore,
  RemoteAgentRecord,
  RemoteAgentStore,
  StoredReply,
} from './stores/types.js';

export { InMemoryEventBus } from './replicas/event-bus.js';
export type { AgentEventListener, EventBus } from './replicas/event-bus.js';
export { InMemoryRateLimiter } from './replicas/rate-limiter.js';
export { InMemoryLeases } from './replicas/leases.js';
export type { Leases } from './replicas/leases.js';
export type { RateDecision, RateLimiter } from './replicas/rate-limiter.js';

export { SealedKeyError } from './lib/sealed-key.js';
