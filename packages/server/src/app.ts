// createFederationApp: the federation server as a Hono app. Every side effect is
// injected (stores, orchestrator, clock, fetch, ids, logger, auth), so the same app runs
// in tests through app.request(), under Node, and on edge runtimes.
import { orchestratorProbe, type HealthProbe } from './instance/health.js';
import {
  DEFAULT_CAPABILITIES,
  checkEgressRules,
  checkRepositoryPatterns,
  DEFAULT_REPOSITORY_PATTERNS,
  FederationError,
  InstanceUrlSchema,
  isFederationError,
  LIMITS,
  type AuditActor,
  type Capabilities,
  type OrchestratorAdapter,
} from '@mosaic-fed/core';
import { Hono } from 'hono';
import { routePath } from 'hono/route';
import { HTTPException } from 'hono/http-exception';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import { A2AClients } from './a2a/clients.js';
import { AgentCardSigner } from './a2a/card.js';
import { A2APush } from './a2a/push.js';
import { A2ARemoteAgents } from './a2a/remote-agents.js';
import { a2aRoutes } from './a2a/routes.js';
import { A2AService } from './a2a/service.js';
import { DeliveryService, type BranchDeliverer } from './agents/deliveries.js';
import { FederationAgentService } from './agents/federation-agents.js';
import { HostedAgents } from './agents/hosted.js';
import { createAdminTokenAuthenticator } from './auth/admin-tokens.js';
import { createOidcAuthenticator, createOidcVerifier, type OidcAuthOptions } from './auth/oidc.js';
import type { AdminAuthenticator } from './auth/types.js';
import { CachedConnectionStore } from './stores/connection-cache.js';
import { PeopleService } from './people/service.js';
import { notify, type FederationObserver } from './observer.js';
import { endHttpSpan, inSpan, SpanKind, traceContextOf } from '@mosaic-fed/sdk/tracing';
import { ConnectionService } from './connections/service.js';
import { InMemoryEventBus, type EventBus } from './replicas/event-bus.js';
import { incomingRoutes } from './messages/incoming.js';
import { PeerKeyring } from './peers/keyring.js';
import { PeerMessenger } from './peers/messenger.js';
import { Outbox, type OutboxOptions } from './jobs/outbox.js';
import { InMemoryLeases, type Leases } from './replicas/leases.js';
import { InMemoryRateLimiter, type RateLimiter } from './replicas/rate-limiter.js';
import { registerKeyRotation } from './messages/key-rotation.js';
import { MessageRouter } from './messages/router.js';
import { Sweeper } from './jobs/sweeper.js';
import { InstanceService } from './instance/service.js';
import { describeError, silentLogger, type Logger } from './logger.js';
import { adminAuth, type AdminVariables } from './middleware/admin-auth.js';
import { limitBody } from './middleware/body-limit.js';
import { unavailableError } from './lib/unavailable.js';
import { createOutboundFetch } from './outbound/client.js';
import { OutboundPolicy, type OutboundPolicyOptions } from './outbound/policy.js';
import { uiRoutes } from './ui/routes.js';
import { SessionSigner } from './ui/session.js';
import { federationApi } from './routes/admin.js';
import { createInMemoryStores } from './stores/memory/index.js';
import type { FederationStores } from './stores/types.js';

/** Options for {@link createFederationApp}. */
export interface FederationAppOptions {
  /** The instance's public URL, as peers reach it. */
  url: string;
  /** The secret that seals the private key at rest: at least 32 characters. */
  secret: string;
  /** Stores; default: in memory (nothing survives a restart). */
  stores?: FederationStores;
  /** Runs agents for peers. Without one, this instance cannot host agents. */
  orchestrator?: OrchestratorAdapter;
  /**
   * Parts of the instance's health its home page shows after the orchestrator's: the
   * Node entry adds how sandboxes isolate agents, and Valkey.
   */
  health?: readonly HealthProbe[];
  /**
   * Pushes the branches spawns ask for (`options.deliver`) and opens their pull requests.
   * Without one, such spawns are refused (`CAPABILITY_DISABLED`). The Node entry has one.
   */
  deliverer?: BranchDeliverer;
  /** Name of a new instance (admins can change it later). */
  name?: string;
  /** Capabilities of a new instance (admins can change them later). */
  capabilities?: Capabilities;
  auth?: {
    /** Accept OIDC access tokens from this issuer as admin credentials. */
    oidc?: OidcAuthOptions;
    /** More authenticators, tried after admin tokens and OIDC. */
    authenticators?: AdminAuthenticator[];
  };
  now?: () => Date;
  /**
   * How outbound requests leave, under the outbound policy (PROTOCOL 3): the platform's
   * `fetch` by default. The Node entry passes one that resolves names itself and connects
   * only to the addresses it checked.
   */
  fetch?: typeof fetch;
  /** The outbound policy: which non-public networks may be reached, and the caps. */
  outbound?: OutboundOptions;
  generateId?: () => string;
  logger?: Logger;
  /** How long a replaced key stays valid, in seconds. Default 24 h (PROTOCOL 4). */
  keyGracePeriodSeconds?: number;
  /**
   * Peer URLs whose CONNECT is accepted without an admin (PROTOCOL 3), once the instance
   * document at that URL vouches for the request.
   */
  autoAcceptUrls?: string[];
  /** Peer instance ids accepted without an admin, once the URL they claim vouches for them. */
  autoAcceptInstanceIds?: string[];
  /** Thumbprints (`kid`) of peer keys accepted without an admin, once the URL they claim vouches for them. */
  autoAcceptKeys?: string[];
  /**
   * The instance's repository policy (PROTOCOL 3): patterns of the repositories a peer's
   * agents may fetch where the connection's grants name none, such as
   * `https://github.com/acme/*`. Default `https://**`: any host over https (the fetch
   * itself reaches only public addresses unless `outbound.allowNetworks` says otherwise).
   */
  repositories?: readonly string[];
  /**
   * The instance's egress rules (PROTOCOL 3): hosts every peer's agents' sandboxes may reach
   * through the orchestrator's egress proxy, beside what each connection's `egress` grant
   * adds, such as `registry.npmjs.org` or `*.pythonhosted.org`. Default none.
   */
  egress?: readonly string[];
  /**
   * More routes of the instance's own API, by path under `/api/v1/federation/`, behind the
   * same admin authentication (the Node entry adds its git credentials here).
   */
  adminRoutes?: Record<string, Hono<{ Variables: AdminVariables }>>;
  /** Told of each request and each refused message: what metrics are built from. */
  observer?: FederationObserver;
  /** Per-connection rate limits; default in memory (one process). */
  rateLimiter?: RateLimiter;
  /** Who watches which hosted agent, shared by replicas; default in memory (one process). */
  leases?: Leases;
  /** How long a replica's watch of an agent lasts unrenewed before another takes it, in ms. Default 10,000. */
  watchLeaseMs?: number;
  /** Fans agent events out to event streams; default in memory (one process). */
  events?: EventBus;
  /** Outbox timing (backoff, polling, retention). */
  outbox?: Pick<OutboxOptions, 'initialBackoffMs' | 'maxBackoffMs' | 'retentionMs' | 'pollIntervalMs'>;
  /**
   * How often expired message log entries and finished outbox entries are removed, in
   * milliseconds. Default 60,000.
   */
  sweepIntervalMs?: number;
  /** Time between polls of the tasks started on A2A agents, in milliseconds. Default 2,000. */
  a2aPollIntervalMs?: number;
  /** Time between passes over due deliveries, in milliseconds. Default 5,000. */
  deliveryIntervalMs?: number;
  /** Retries of a message to a peer whose answer was lost, with the same jti. Default 2. */
  messageRetries?: number;
  /**
   * Spawns whose answer was lost are sent again with their jti (PROTOCOL 6): after
   * `afterMs` without an answer (default 30,000), in passes every `intervalMs` (default 15,000).
   */
  spawnResend?: { afterMs?: number; intervalMs?: number };
  /**
   * How long the records every message is checked against (this instance's record, the
   * sender's connection) are served from memory, in milliseconds. A change made through
   * this process is seen at once; one made by another replica within this time.
   * Default 1,000; 0 reads the store for every message.
   */
  cacheMs?: number;
  /**
   * A clock in milliseconds that never goes back, for those caches and the event streams'
   * keep-alives; default `performance.now`.
   */
  monotonic?: () => number;
}

/** The app and the services behind it, for entry points that need both. */
export interface Federation {
  app: Hono;
  instance: InstanceService;
  stores: FederationStores;
  connections: ConnectionService;
  agents: FederationAgentService;
  deliveries: DeliveryService;
  hosted: HostedAgents;
  /** The instance's users, workspaces and memberships. */
  people: PeopleService;
  /** The A2A clients admins issued tokens to. */
  a2aClients: A2AClients;
  /** The A2A agents elsewhere this instance starts agents on. */
  a2aAgents: A2ARemoteAgents;
  outbox: Outbox;
  sweeper: Sweeper;
  /**
   * Starts the background work: outbox delivery, watching hosted agents, and removing
   * what is kept only for a while (expired message log entries, finished outbox entries).
   */
  start(): Promise<void>;
  /** Stops the background work; nothing is lost, the outbox is durable. */
  stop(): Promise<void>;
}

/** Options of the outbound policy and client (PROTOCOL 3, "Outbound requests"). */
export interface OutboundOptions extends OutboundPolicyOptions {
  /** Per-request limit, in milliseconds. Default 15,000. */
  timeoutMs?: number;
  /** Largest answer read from a peer, in bytes. Default 1 MiB. */
  maxResponseBytes?: number;
}

/** The shortest key-encryption secret an instance accepts. */
export const MIN_SECRET_LENGTH = 32;


/**
 * Builds the federation server and its services. Most callers want
 * {@link createFederationApp}; entry points use this to initialise the identity before
 * they start listening.
 */
export function createFederation(options: FederationAppOptions): Federation {
  if (typeof options.secret !== 'string' || options.secret.length < MIN_SECRET_LENGTH) {
    throw new TypeError(`secret must be a string of at least ${MIN_SECRET_LENGTH} characters`);
  }
  if (!InstanceUrlSchema.safeParse(options.url).success) {
    throw new TypeError('url must be an absolute http(s) URL without credentials');
  }
  const gracePeriod = options.keyGracePeriodSeconds ?? LIMITS.keyGracePeriodSeconds;
  if (!Number.isInteger(gracePeriod) || gracePeriod < 0) {
    throw new TypeError('keyGracePeriodSeconds must be a whole number of seconds');
  }
  const cacheMs = options.cacheMs ?? 1_000;
  const monotonic = options.monotonic ?? (() => performance.now());
  const given = options.stores ?? createInMemoryStores();
  const connectionStore = new CachedConnectionStore(given.connections, cacheMs, monotonic);
  const stores: FederationStores = { ...given, connections: connectionStore };
  const logger = options.logger ?? silentLogger;
  const now = options.now ?? (() => new Date());
  const generateId = options.generateId ?? (() => crypto.randomUUID());
  const instance = new InstanceService({
    stores,
    secret: options.secret,
    now,
    generateId,
    logger,
    defaults: {
      name: options.name ?? 'Mosaic Federation instance',
      url: options.url,
      capabilities: options.capabilities ?? DEFAULT_CAPABILITIES,
    },
    keyGracePeriodSeconds: gracePeriod,
    cacheMs,
    monotonic,
  });

  // PROTOCOL 3: every request this instance makes goes through this one client.
  const outboundPolicy = new OutboundPolicy(options.outbound);
  const fetchImpl = createOutboundFetch({
    policy: outboundPolicy,
    transport: options.fetch,
    timeoutMs: options.outbound?.timeoutMs,
    maxResponseBytes: options.outbound?.maxResponseBytes,
    logger,
  });
  const authenticators: AdminAuthenticator[] = [createAdminTokenAuthenticator(stores.adminTokens, { now })];
  // One verifier (and one cached JWKS) for admins, users and A2A clients alike.
  const oidc = options.auth?.oidc === undefined ? undefined : { ...options.auth.oidc, fetch: fetchImpl, now };
  const oidcVerifier = oidc === undefined ? undefined : createOidcVerifier(oidc);
  if (oidc !== undefined) {
    authenticators.push(
      createOidcAuthenticator(
        { ...oidc, userForSubject: async (subject) => (await stores.people.findUserByOidcSubject(subject))?.id },
        oidcVerifier,
      ),
    );
  }
  authenticators.push(...(options.auth?.authenticators ?? []));

  const rateLimiter = options.rateLimiter ?? new InMemoryRateLimiter();
  const events = options.events ?? new InMemoryEventBus();
  const keyring = new PeerKeyring({ stores, senders: connectionStore, fetch: fetchImpl, now, generateId, logger });
  const messenger = new PeerMessenger({
    instance,
    keyring,
    connections: stores.connections,
    fetch: fetchImpl,
    now,
    generateId,
    ...(options.messageRetries === undefined ? {} : { retries: options.messageRetries }),
  });
  const connections = new ConnectionService({
    stores,
    instance,
    messenger,
    fetch: fetchImpl,
    now,
    generateId,
    logger,
    autoAccept: { urls: options.autoAcceptUrls, instanceIds: options.autoAcceptInstanceIds, keyThumbprints: options.autoAcceptKeys },
  });
  const outbox = new Outbox({ stores, messenger, now, generateId, logger, ...options.outbox });
  const sweeper = new Sweeper({ stores, now, logger, intervalMs: options.sweepIntervalMs });
  const leases = options.leases ?? new InMemoryLeases();
  const holder = generateId();
  const hosted = new HostedAgents({
    stores,
    instance,
    orchestrator: options.orchestrator,
    outbox,
    rateLimiter,
    now,
    generateId,
    logger,
    repositories: options.repositories === undefined ? DEFAULT_REPOSITORY_PATTERNS : checkRepositoryPatterns(options.repositories, 'repositories'),
    egress: checkEgressRules(options.egress ?? [], 'egress'),
    leases,
    holder,
    leaseMs: options.watchLeaseMs,
    // A2A clients' agents: each change to their push URLs, through the outbox (made below).
    a2aNotifications: (event) => push.notificationsOf(event),
  });
  const push = new A2APush({ stores, outbox, instance, policy: outboundPolicy, fetch: fetchImpl, secret: options.secret, now, generateId });
  const a2aAgents = new A2ARemoteAgents({
    stores,
    events,
    fetch: fetchImpl,
    policy: outboundPolicy,
    secret: options.secret,
    leases,
    holder,
    now,
    generateId,
    logger,
    pollIntervalMs: options.a2aPollIntervalMs,
    onTerminal: () => deliveries.wake(),
  });
  const agents = new FederationAgentService({
    stores,
    messenger,
    events,
    a2a: a2aAgents,
    now,
    generateId,
    logger,
    resendAfterMs: options.spawnResend?.afterMs,
    resendIntervalMs: options.spawnResend?.intervalMs,
    canDeliver: options.deliverer !== undefined,
    // A delivery may be due: the service is made below, before any event can arrive.
    onTerminal: () => deliveries.wake(),
  });
  const deliveries = new DeliveryService({
    stores,
    agents,
    deliverer: options.deliverer,
    leases,
    holder,
    now,
    logger,
    intervalMs: options.deliveryIntervalMs,
  });
  const router = new MessageRouter();
  hosted.register(router);
  agents.register(router);
  registerKeyRotation(router, keyring);

  /** PROTOCOL 4: a new key pair, and every ACTIVE peer told with the certificate. */
  const regenerateKeys = async (actor: AuditActor) => {
    const { response, previousKey } = await instance.regenerateKeys(actor);
    await connections.announceRotation(response.certificate, previousKey);
    return response;
  };

  const people = new PeopleService({ stores, now, generateId });
  const a2aClients = new A2AClients({ stores, instance, now, generateId, oidc: oidcVerifier });
  const api = federationApi(
    { instance, connections, agents, deliveries, hosted, events, stores, people, a2aClients, a2aAgents, monotonic, regenerateKeys, now, generateId },
    options.adminRoutes,
  );

  const app = new Hono();
  app.use(async (c, next) => {
    const started = performance.now();
    // Set before the response exists, so it is built with the header: added afterwards,
    // the finished response would be copied (its body into a new stream) to take it.
    c.header('X-Content-Type-Options', 'nosniff');
    // One span per request, continuing the caller's trace (W3C `traceparent`): a peer's
    // message carries the hub's, so one trace follows a spawn across both instances.
    await inSpan(c.req.method, { kind: SpanKind.SERVER, parent: traceContextOf(c.req.raw.headers) }, async (span) => {
      await next();
      endHttpSpan(span, c.req.method, routePath(c), c.res.status);
    });
    const ms = performance.now() - started;
    logger.info('request', {
      method: c.req.method,
      path: c.req.path,
      status: c.res.status,
      ms: Math.round(ms),
    });
    notify(options.observer?.request, { method: c.req.method, route: routePath(c), status: c.res.status, seconds: ms / 1000 });
  });
  app.use(limitBody(LIMITS.maxMessageBytes));
  app.get('/.well-known/mosaic-federation', async (c) => {
    c.header('Cache-Control', 'public, max-age=60');
    return c.json(instance.document(await instance.load()));
  });
  // Messages from peers authenticate by signature; everything else under the API needs an
  // admin, or a user where the route lets users in (deny by default: a new route is
  // protected without anyone remembering to).
  app.use(
    '/api/v1/federation/*',
    adminAuth(authenticators, { except: (path) => path.startsWith('/api/v1/federation/incoming/'), people: stores.people }),
  );
  app.route(
    '/api/v1/federation/incoming',
    incomingRoutes({ instance, stores, keyring, router, connections, rateLimiter, now, logger, observer: options.observer }),
  );
  app.route('/', api);
  // A2A 1.0 (docs/protocol.md, "A2A"): the card, and the bindings A2A clients call with their tokens.
  app.route(
    '/',
    a2aRoutes({
      service: new A2AService({ stores, hosted, push, instance, rateLimiter, now, generateId }),
      clients: a2aClients,
      card: new AgentCardSigner(instance, options.auth?.oidc?.issuer),
      logger,
      monotonic,
    }),
  );
  // The web UI; its address with a trailing slash, and the site's root, lead there too.
  app.get('/federation/', (c) => c.redirect('/federation/home', 303));
  app.get('/', (c) => c.redirect('/federation/', 303));
  app.route(
    '/federation',
    uiRoutes({
      instance,
      people,
      connections,
      agents,
      deliveries,
      hosted,
      a2aClients,
      a2aAgents,
      events,
      stores,
      monotonic,
      authenticators,
      signer: new SessionSigner(options.secret, now),
      regenerateKeys,
      health: [orchestratorProbe(options.orchestrator), ...(options.health ?? [])],
      logger,
      now,
      generateId,
    }),
  );

  app.notFound(() => {
    throw new FederationError('NOT_FOUND', 'there is nothing at this address');
  });
  app.onError((error, c) => {
    const federationError = toFederationError(error, logger);
    if (federationError.code === 'UNAUTHORIZED') c.header('WWW-Authenticate', 'Bearer');
    // A 503 is always worth retrying; it says how soon.
    const retryAfter = federationError.retryAfter ?? (federationError.status === 503 ? 1 : undefined);
    if (retryAfter !== undefined) c.header('Retry-After', String(retryAfter));
    return c.json(federationError.toWire(), federationError.status as ContentfulStatusCode);
  });

  return {
    app,
    instance,
    stores,
    connections,
    agents,
    deliveries,
    hosted,
    people,
    a2aClients,
    a2aAgents,
    outbox,
    sweeper,
    async start() {
      outbox.start();
      sweeper.start();
      agents.start();
      a2aAgents.start();
      deliveries.start();
      await hosted.resume();
    },
    async stop() {
      await Promise.all([hosted.stop(), outbox.stop(), sweeper.stop(), agents.stop(), a2aAgents.stop(), deliveries.stop()]);
    },
  };
}

/**
 * Creates the federation server as a Hono app.
 *
 * @example
 * ```ts
 * const app = createFederationApp({ url: 'https://hub.example.com', secret, stores });
 * export default app; // a Worker, or serve(app) under Node
 * ```
 */
export function createFederationApp(options: FederationAppOptions): Hono {
  return createFederation(options).app;
}

// PROTOCOL 2 and STYLE "Errors": domain errors become responses here and nowhere else.
// Anything unexpected is INTERNAL, logged by name and message only, never with a stack.
function toFederationError(error: unknown, logger: Logger): FederationError {
  if (isFederationError(error)) return error;
  if (error instanceof HTTPException && error.status === 413) {
    return new FederationError('PAYLOAD_TOO_LARGE', `the body is over ${LIMITS.maxMessageBytes} bytes`);
  }
  const passing = unavailableError(error);
  if (passing !== undefined) {
    logger.warn('a store is unavailable', describeError(error));
    return passing;
  }
  logger.error('unexpected error', describeError(error));
  return new FederationError('INTERNAL', 'something went wrong on this instance; the details are in its log');
}
