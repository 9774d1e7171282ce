/**
 * @mosaic-fed/node: the federation server on Node. An embedded libSQL file and a
 * generated secret in the data directory by default, @hono/node-server for HTTP, JSON
 * logs, and a graceful shutdown. The `mosaic-fed` CLI is built on this.
 *
 * @packageDocumentation
 */
import { mkdir } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { join, resolve } from 'node:path';
import { serve, type ServerType } from '@hono/node-server';
import { FederationError, type OrchestratorAdapter } from '@mosaic-fed/core';
import { GIT_CREDENTIALS_FILE, GitCredentialFile, GitRemotes } from '@mosaic-fed/orchestrator/node';
import { GitBranchDeliverer, type ForgeApis } from './delivery.js';
import {
  createFederation,
  createJsonLogger,
  createLibsqlStores,
  describeError,
  OutboundPolicy,
  type Federation,
  type FederationAppOptions,
  type FederationObserver,
  type HealthProbe,
  type Logger,
  type OidcAuthOptions,
} from '@mosaic-fed/server';
import { ValkeyEventBus, ValkeyLeases, ValkeyMessageLogStore, ValkeyRateLimiter } from './valkey.js';
import { openDatabase } from './database.js';
import { isPostgresUrl, openPostgresStores } from './postgres.js';
import { gitCredentialRoutes } from './git-credentials.js';
import { dataDirSetting, printableUrl, startupStep } from './startup.js';
import { connectValkey } from './orchestrator.js';
import { createResolvingFetch } from './resolving-fetch.js';
import type { Registry } from 'prom-client';
import { createFederationMetrics } from './metrics.js';
import { loadOrCreateSecretFile } from './secret.js';

export { openDatabase } from './database.js';
export { loadOrCreateSecretFile, SECRET_FILE } from './secret.js';
export { StartupError } from './startup.js';
export { startTracing, tracingFromEnv } from './tracing.js';
export type { Tracing, TracingOptions } from './tracing.js';
export { createResolvingFetch } from './resolving-fetch.js';
export type { LookupAll, ResolvingFetchOptions } from './resolving-fetch.js';
export { DEFAULT_FORGE_APIS, forgeRepositoryOf, GitBranchDeliverer } from './delivery.js';
export type { ForgeApis, GitBranchDelivererOptions } from './delivery.js';
export {
  connectValkey,
  isRedisUrl,
  REDIS_URL_SHAPE,
  createNodeOrchestrator,
  DEFAULT_SANDBOX_IMAGE,
  ORCHESTRATOR_DATABASE_FILE,
  SANDBOX_CHOICES,
  startNodeWorker,
} from './orchestrator.js';
export type { NodeOrchestrator, NodeOrchestratorOptions, NodeWorkerOptions, SandboxChoice } from './orchestrator.js';

export const DEFAULT_PORT = 4747;
export const DEFAULT_HOST = '127.0.0.1';
export const DEFAULT_DATA_DIR = './mosaic-fed-data';
export const DATABASE_FILE = 'mosaic-fed.db';

/** Options for {@link openFederation} and {@link startServer}. */
export interface NodeFederationOptions {
  /** Where the database file and the secret live. Default `./mosaic-fed-data`. */
  dataDir?: string;
  /** The public URL; default `http://<host>:<port>`. */
  url?: string;
  /** The key-encryption secret; default: `<dataDir>/secret.key`, created on first start. */
  secret?: string;
  /**
   * The database: a libSQL URL (`libsql://...`, `file:...`) or PostgreSQL's
   * (`postgres://user:password@host/db`, for many machines); default: the SQLite file in
   * the data directory.
   */
  databaseUrl?: string;
  databaseAuthToken?: string;
  name?: string;
  oidc?: OidcAuthOptions;
  orchestrator?: OrchestratorAdapter;
  /** Peer URLs whose CONNECT is accepted without an admin, once the URL vouches for it. */
  autoAcceptUrls?: string[];
  /** Peer instance ids accepted without an admin, once the URL they claim vouches for them. */
  autoAcceptInstanceIds?: string[];
  /** Thumbprints of peer keys accepted without an admin, once the URL they claim vouches for them. */
  autoAcceptKeys?: string[];
  /**
   * Networks (CIDR) outbound requests may reach although they are not public: loopback,
   * private, link-local (PROTOCOL 3, "Outbound requests"). Default none.
   */
  allowNetworks?: string[];
  /**
   * The instance's repository policy: patterns of the repositories peers' agents may fetch
   * where a connection's grants name none. Default `https://**`.
   */
  repositories?: string[];
  /**
   * The instance's egress rules: hosts every peer's agents' sandboxes may reach through the
   * egress proxy, beside each connection's `egress` grant (`registry.npmjs.org`). Default none.
   */
  egress?: string[];
  /**
   * Forge REST APIs by repository host, for the pull requests deliveries open (a Gitea or
   * Forgejo at `https://git.example.com/api/v1`); github.com's is known. Branches are pushed
   * with the instance's git credentials, and a host's password is its API token too.
   */
  forges?: ForgeApis;
  /**
   * Valkey (or Redis) shared by replicas: the message log, rate limits and the event bus
   * move there. Without it, they stay in this process and its database file.
   */
  redisUrl?: string;
  /** Prefix of every Valkey key and channel. Default `mosaic-fed:`. */
  redisPrefix?: string;
  /** Parts of the instance's health for the web UI's home page: `createNodeOrchestrator`'s `sandboxHealth`, say. */
  health?: readonly HealthProbe[];
  /** More metrics its Prometheus endpoint serves beside its own: `createNodeOrchestrator`'s `metrics`, say. */
  metrics?: readonly Registry[];
  logger?: Logger;
  now?: () => Date;
  /** Anything else `createFederationApp` takes (outbox timing, rate limiter, fetch, ...). */
  federation?: Partial<Omit<FederationAppOptions, 'url' | 'secret' | 'stores' | 'logger'>>;
}

/** Options for {@link startServer}. */
export interface StartServerOptions extends NodeFederationOptions {
  /** Default 4747; 0 picks a free port. */
  port?: number;
  /** Default 127.0.0.1; use 0.0.0.0 to listen on every interface. */
  host?: string;
}

/** An open federation: its services and how to release them. */
export interface OpenFederation extends Federation {
  dataDir: string;
  close(): Promise<void>;
}

/**
 * Opens the stores and services of an instance in a data directory. For commands that do
 * not serve HTTP (`init`, `token create`), which leave the instance record as it is: its
 * identity is made on first use (`instance.load()`), never by opening. With `serving`,
 * as `startServer` does, the instance is made now and its URL set to `url`: the URL is the
 * serving process's configuration, not that of any other command.
 */
export async function openFederation(options: NodeFederationOptions & { url: string; serving?: boolean }): Promise<OpenFederation> {
  const dataDir = resolve(options.dataDir ?? DEFAULT_DATA_DIR);
  const logger = options.logger ?? createJsonLogger();
  const where = dataDirSetting(dataDir);
  await startupStep(where, () => mkdir(dataDir, { recursive: true, mode: 0o700 }));
  const secret = options.secret ?? (await startupStep(where, () => loadOrCreateSecretFile(dataDir, logger)));
  const databaseUrl = options.databaseUrl ?? `file:${resolve(dataDir, DATABASE_FILE)}`;
  const fileStores = await startupStep(
    options.databaseUrl === undefined
      ? `the database ${resolve(dataDir, DATABASE_FILE)} (in --data-dir, MOSAIC_FED_DATA_DIR) cannot be opened`
      : `the database at ${printableUrl(databaseUrl)} (MOSAIC_FED_DATABASE_URL) cannot be opened`,
    async () =>
      isPostgresUrl(databaseUrl) ? openPostgresStores(databaseUrl, logger) : createLibsqlStores(await openDatabase(databaseUrl, options.databaseAuthToken)),
  );
  const valkey = options.redisUrl === undefined ? undefined : await openValkey(options.redisUrl, options.redisPrefix, logger);
  const stores = valkey === undefined ? fileStores : { ...fileStores, messageLog: valkey.messageLog };
  const close = async () => {
    await valkey?.close();
    await fileStores.close?.();
  };
  try {
    // PROTOCOL 3: names are resolved here and only checked addresses are connected to.
    const outbound = { ...options.federation?.outbound, allowNetworks: options.allowNetworks ?? options.federation?.outbound?.allowNetworks };
    const policy = new OutboundPolicy(outbound);
    const outboundFetch = createResolvingFetch(policy);
    const credentialFile = new GitCredentialFile(join(dataDir, GIT_CREDENTIALS_FILE));
    const gitCredentials = gitCredentialRoutes({
      file: credentialFile,
      audit: stores.audit,
      now: options.now ?? (() => new Date()),
      generateId: () => crypto.randomUUID(),
    });
    // The hub pushes the branches its spawns ask for with the same credentials and policy.
    const deliverer = new GitBranchDeliverer({
      remotes: new GitRemotes({ addressPolicy: policy, credentials: credentialFile }),
      credentials: credentialFile,
      forges: options.forges,
      fetch: outboundFetch,
    });
    // Prometheus metrics beside the API, behind its admin authentication.
    const metrics = createFederationMetrics({ ...(options.now === undefined ? {} : { now: options.now }), ...(options.metrics === undefined ? {} : { registries: options.metrics }) });
    const federation = createFederation({
      fetch: outboundFetch,
      deliverer,
      ...options.federation,
      adminRoutes: { 'git-credentials': gitCredentials, metrics: metrics.routes, ...options.federation?.adminRoutes },
      observer: bothObservers(metrics.observer, options.federation?.observer),
      outbound,
      ...(valkey === undefined ? {} : { rateLimiter: valkey.rateLimiter, events: valkey.events, leases: valkey.leases }),
      health: [...(options.health ?? []), valkey?.health ?? VALKEY_UNUSED, ...(options.federation?.health ?? [])],
      url: options.url,
      secret,
      stores,
      logger,
      ...(options.name === undefined ? {} : { name: options.name }),
      ...(options.oidc === undefined ? {} : { auth: { oidc: options.oidc } }),
      ...(options.orchestrator === undefined ? {} : { orchestrator: options.orchestrator }),
      ...(options.autoAcceptUrls === undefined ? {} : { autoAcceptUrls: options.autoAcceptUrls }),
      ...(options.autoAcceptInstanceIds === undefined ? {} : { autoAcceptInstanceIds: options.autoAcceptInstanceIds }),
      ...(options.autoAcceptKeys === undefined ? {} : { autoAcceptKeys: options.autoAcceptKeys }),
      ...(options.repositories === undefined ? {} : { repositories: options.repositories }),
      ...(options.egress === undefined ? {} : { egress: options.egress }),
      ...(options.now === undefined ? {} : { now: options.now }),
    });
    metrics.bind(federation);
    if (options.serving === true) {
      // Fail at start, not at the first request: this opens the sealed key with the secret.
      await federation.instance.syncUrl();
      await federation.instance.signingKey();
    }
    return { ...federation, dataDir, close };
  } catch (error) {
    await close();
    throw error;
  }
}

/** An observer that tells both. */
function bothObservers(first: FederationObserver, second: FederationObserver | undefined): FederationObserver {
  if (second === undefined) return first;
  return {
    request: (info) => (first.request?.(info), second.request?.(info)),
    verificationFailure: (code) => (first.verificationFailure?.(code), second.verificationFailure?.(code)),
  };
}

/** The home page's words on Valkey when none is configured. */
const VALKEY_UNUSED: HealthProbe = {
  name: 'Valkey',
  check: async () => ({ state: 'quiet', words: 'None: the message log, rate limits and events stay in this process and its database. Replicas need one (REDIS_URL).' }),
};

/** What replicas share in Valkey, on one connection (and one more for the event bus). */
async function openValkey(url: string, prefix: string | undefined, logger: Logger) {
  const redis = await connectValkey(url);
  const shared = { redis, ...(prefix === undefined ? {} : { prefix }) };
  const events = new ValkeyEventBus({ ...shared, logger });
  return {
    messageLog: new ValkeyMessageLogStore(shared),
    rateLimiter: new ValkeyRateLimiter(shared),
    leases: new ValkeyLeases(shared),
    events,
    health: {
      name: 'Valkey',
      check: async () => {
        await redis.ping();
        return { state: 'good', words: `It answers at ${printableUrl(url)}; replicas share the message log, rate limits and events there.` };
      },
    } satisfies HealthProbe,
    close: async () => {
      await events.close();
      redis.disconnect();
    },
  };
}

/** A running server. */
export interface RunningServer {
  url: string;
  port: number;
  instanceId: string;
  /** The services behind it, for embedding and tests. */
  federation: OpenFederation;
  /** Stops accepting connections, lets requests in flight finish, closes the stores. */
  close(): Promise<void>;
}

/**
 * Starts the federation server on Node.
 *
 * @example
 * ```ts
 * const server = await startServer({ port: 4747, dataDir: './data' });
 * process.once('SIGTERM', () => server.close());
 * ```
 */
export async function startServer(options: StartServerOptions = {}): Promise<RunningServer> {
  const logger = options.logger ?? createJsonLogger();
  const host = options.host ?? DEFAULT_HOST;
  const requestedPort = options.port ?? DEFAULT_PORT;
  if (!Number.isInteger(requestedPort) || requestedPort < 0 || requestedPort > 65_535) {
    throw new TypeError('port must be a whole number from 0 to 65535');
  }
  // Listen first, so that port 0 yields a real port for the default URL; requests that
  // arrive before the app is ready get 503.
  const startingUp = new FederationError('ORCHESTRATOR_UNAVAILABLE', 'the instance is starting up; retry shortly');
  let handle: (request: Request) => Response | Promise<Response> = () =>
    Response.json(startingUp.toWire(), { status: startingUp.status, headers: { 'Retry-After': '1' } });
  const server = await new Promise<ServerType>((done, fail) => {
    const listening = serve(
      {
        fetch: (request) => handle(request),
        port: requestedPort,
        hostname: host,
        // A request whose headers or body do not arrive in time is dropped (408), so that
        // a slow client holds nothing for long. Event streams are responses: unaffected.
        serverOptions: { headersTimeout: 10_000, requestTimeout: 30_000 },
      },
      () => done(listening),
    );
    listening.once('error', fail);
  });
  const port = (server.address() as AddressInfo).port;
  const url = options.url ?? `http://${host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host}:${port}`;
  let federation: OpenFederation;
  try {
    federation = await openFederation({ ...options, url, logger, serving: true });
  } catch (error) {
    await new Promise((done) => server.close(done));
    throw error;
  }
  handle = (request) => federation.app.fetch(request);
  await federation.start();
  const { instanceId } = await federation.instance.load();
  logger.info('listening', { url, port, host, instanceId, dataDir: federation.dataDir });

  let closing: Promise<void> | undefined;
  return {
    url,
    port,
    instanceId,
    federation,
    close() {
      closing ??= (async () => {
        // Stop taking requests and let those in flight finish; event streams never do,
        // so whatever is still open after a short grace is cut.
        const http = server as { closeIdleConnections?: () => void; closeAllConnections?: () => void };
        const closed = new Promise<void>((done) => server.close(() => done()));
        http.closeIdleConnections?.();
        const cut = setTimeout(() => http.closeAllConnections?.(), 2_000);
        await closed;
        clearTimeout(cut);
        await federation.stop();
        await federation.close();
        logger.info('stopped', { instanceId });
      })();
      return closing;
    },
  };
}

/**
 * Closes the server (or anything with `close`) on SIGTERM or SIGINT, then exits. A second
 * signal, or a shutdown that takes longer than `timeoutMs`, exits at once.
 */
export function closeOnSignals(server: { close(): Promise<void> }, logger: Logger, timeoutMs = 10_000): void {
  let stopping = false;
  const stop = (signal: NodeJS.Signals) => {
    if (stopping) process.exit(1);
    stopping = true;
    logger.info('shutting down', { signal });
    const timer = setTimeout(() => {
      logger.warn('shutdown took too long; exiting', { timeoutMs });
      process.exit(1);
    }, timeoutMs);
    timer.unref();
    server.close().then(
      () => process.exit(0),
      (error: unknown) => {
        logger.error('shutdown failed', describeError(error));
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}
