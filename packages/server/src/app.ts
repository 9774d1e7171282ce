// createFederationApp: the federation server as a Hono app. Every side effect is
// injected (stores, orchestrator, clock, fetch, ids, logger, auth), so the same app runs
// in tests through app.request(), under Node, and on edge runtimes.
import {
  DEFAULT_CAPABILITIES,
  FederationError,
  InstanceUrlSchema,
  isFederationError,
  LIMITS,
  PageQuerySchema,
  parseOrThrow,
  UpdateInstanceDtoSchema,
  type Capabilities,
  type OrchestratorAdapter,
} from '@mosaic-fed/core';
import { Hono, type Context } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { HTTPException } from 'hono/http-exception';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import { createAdminTokenAuthenticator } from './auth/admin-tokens.js';
import { createOidcAuthenticator, type OidcAuthOptions } from './auth/oidc.js';
import type { AdminAuthenticator } from './auth/types.js';
import { InstanceService } from './instance/service.js';
import { describeError, silentLogger, type Logger } from './logger.js';
import { adminAuth, type AdminVariables } from './middleware/admin-auth.js';
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
  fetch?: typeof fetch;
  generateId?: () => string;
  logger?: Logger;
  /** How long a replaced key stays valid, in seconds. Default 24 h (PROTOCOL 4). */
  keyGracePeriodSeconds?: number;
}

/** The app and the services behind it, for entry points that need both. */
export interface Federation {
  app: Hono;
  instance: InstanceService;
  stores: FederationStores;
}

const MIN_SECRET_LENGTH = 32;

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
  const stores = options.stores ?? createInMemoryStores();
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
  });

  const authenticators: AdminAuthenticator[] = [createAdminTokenAuthenticator(stores.adminTokens)];
  if (options.auth?.oidc !== undefined) {
    authenticators.push(
      createOidcAuthenticator({
        ...options.auth.oidc,
        ...(options.fetch === undefined ? {} : { fetch: options.fetch }),
        now,
      }),
    );
  }
  authenticators.push(...(options.auth?.authenticators ?? []));

  const admin = new Hono<{ Variables: AdminVariables }>()
    .use(adminAuth(authenticators))
    .use(async (c, next) => {
      await next();
      c.header('Cache-Control', 'no-store');
    })
    .get('/instance', async (c) => ok(c, instance.configuration(await instance.load())))
    .patch('/instance', async (c) => {
      const dto = parseOrThrow(UpdateInstanceDtoSchema, await readJson(c), 'instance update');
      return ok(c, await instance.update(dto, c.var.actor));
    })
    .post('/instance/regenerate-keys', async (c) => ok(c, await instance.regenerateKeys(c.var.actor)))
    .get('/audit', async (c) => {
      const query = parseOrThrow(PageQuerySchema, c.req.query(), 'query');
      return ok(c, await stores.audit.list(query));
    });

  const app = new Hono();
  app.use(async (c, next) => {
    const started = performance.now();
    await next();
    c.header('X-Content-Type-Options', 'nosniff');
    logger.info('request', {
      method: c.req.method,
      path: c.req.path,
      status: c.res.status,
      ms: Math.round(performance.now() - started),
    });
  });
  app.use(
    bodyLimit({
      maxSize: LIMITS.maxMessageBytes,
      onError: () => {
        throw new FederationError('PAYLOAD_TOO_LARGE', `the body is over ${LIMITS.maxMessageBytes} bytes`);
      },
    }),
  );
  app.get('/.well-known/mosaic-federation', async (c) => {
    c.header('Cache-Control', 'public, max-age=60');
    return c.json(instance.document(await instance.load()));
  });
  app.route('/api/v1/federation', admin);

  app.notFound(() => {
    throw new FederationError('NOT_FOUND', 'there is nothing at this address');
  });
  app.onError((error, c) => {
    const federationError = toFederationError(error, logger);
    if (federationError.code === 'UNAUTHORIZED') c.header('WWW-Authenticate', 'Bearer');
    if (federationError.retryAfter !== undefined) c.header('Retry-After', String(federationError.retryAfter));
    return c.json(federationError.toWire(), federationError.status as ContentfulStatusCode);
  });

  return { app, instance, stores };
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

function ok<T>(c: Context, data: T) {
  return c.json({ success: true as const, data });
}

async function readJson(c: Context): Promise<unknown> {
  const text = await c.req.text();
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new FederationError('VALIDATION_FAILED', 'the body is not JSON', {
      details: [{ path: '(root)', message: 'must be a JSON object' }],
    });
  }
}

// PROTOCOL 2 and STYLE "Errors": domain errors become responses here and nowhere else.
// Anything unexpected is INTERNAL, logged by name and message only, never with a stack.
function toFederationError(error: unknown, logger: Logger): FederationError {
  if (isFederationError(error)) return error;
  if (error instanceof HTTPException && error.status === 413) {
    return new FederationError('PAYLOAD_TOO_LARGE', `the body is over ${LIMITS.maxMessageBytes} bytes`);
  }
  logger.error('unexpected error', describeError(error));
  return new FederationError('INTERNAL', 'something went wrong on this instance; the details are in its log');
}
