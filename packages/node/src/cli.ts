// The `mosaic-fed` command: init, serve, orchestrator, worker, token, agents, stand-in. Flags win over
// environment variables, which win over defaults; `mosaic-fed --help` lists them all.
import { existsSync, readdirSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { serve } from '@hono/node-server';
import { createOrchestratorService, type SetupOptions } from '@mosaic-fed/orchestrator';
import { GIT_CREDENTIALS_FILE } from '@mosaic-fed/orchestrator/node';
import {
  AGENT_TYPES,
  checkEgressRules,
  checkRepositoryPatterns,
  DEFAULT_REPOSITORY_PATTERNS,
  GitCredentialHostSchema,
  InstanceUrlSchema,
  isFederationError,
  PriceTableSchema,
  type AgentType,
  type PriceTable,
} from '@mosaic-fed/core';
import {
  createAdminToken,
  createJsonLogger,
  describeError,
  MIN_SECRET_LENGTH,
  OutboundPolicy,
  revokeAdminToken,
  toAdminToken,
  type Logger,
  type LogLevel,
  type OidcAuthOptions,
} from '@mosaic-fed/server';
import {
  closeOnSignals,
  createNodeOrchestrator,
  startNodeWorker,
  DEFAULT_DATA_DIR,
  DEFAULT_HOST,
  DEFAULT_PORT,
  DEFAULT_SANDBOX_IMAGE,
  openFederation,
  SANDBOX_CHOICES,
  isRedisUrl,
  REDIS_URL_SHAPE,
  startServer,
  StartupError,
  type SandboxChoice,
  type NodeFederationOptions,
  type NodeOrchestratorOptions,
} from './index.js';
import { agentsCommand } from './cli-agents.js';
import { isPostgresUrl } from './postgres.js';
import { formatTable, UsageError } from './cli-support.js';
import { tracingFromEnv } from './tracing.js';

/** Where `mosaic-fed orchestrator` listens by default. */
const DEFAULT_ORCHESTRATOR_PORT = 4848;
/** Where `mosaic-fed stand-in` listens by default. */
const DEFAULT_STAND_IN_PORT = 4999;

const HELP = `mosaic-fed: run a Mosaic Federation instance

Usage:
  mosaic-fed init          create the data directory, the secret and the instance identity
  mosaic-fed serve         start the server (initialises on first start)
  mosaic-fed orchestrator  run agents as a service for servers (PROTOCOL 7), default port ${DEFAULT_ORCHESTRATOR_PORT}
  mosaic-fed worker        run agents from the queue on Valkey (needs REDIS_URL)
  mosaic-fed token create  create an admin token and print it once (--user <id>: a token
                           that signs that user in, with what their workspaces allow)
  mosaic-fed token list    list tokens: id, label, whom it signs in, created, expires, last used, revoked
  mosaic-fed token revoke <id>  revoke an admin token; it fails at once, on every replica
  mosaic-fed agents        list the agents sent to peers and run for them, newest first:
                           --peer <name or id>, --status, --type, --task, --show sent|hosted,
                           --limit <n> (default 20), --page <from the previous page>, --json
  mosaic-fed stand-in --repository <dir>  for trying it offline: writes a small git
                           repository with a failing test to <dir>, and serves a stand-in
                           for Claude that fixes it on loopback, default port ${DEFAULT_STAND_IN_PORT}
                           (point a spoke at it: ANTHROPIC_BASE_URL, any ANTHROPIC_API_KEY)

Options (environment variable in brackets):
  --data-dir <dir>    data directory, default ${DEFAULT_DATA_DIR}   [MOSAIC_FED_DATA_DIR]
  --port <n>          port to listen on, default ${DEFAULT_PORT}          [MOSAIC_FED_PORT]
  --host <addr>       address to bind, default ${DEFAULT_HOST}   [MOSAIC_FED_HOST]
  --url <url>         public URL, default http://<host>:<port>  [MOSAIC_FED_URL]
  --name <name>       name of a new instance                    [MOSAIC_FED_NAME]
  --label <text>      label of a new admin token (token create)
  --repository <dir>  where the stand-in writes its repository (stand-in)
  --expires-in <d>    lifetime of a new admin token: 90d, 12h or 30m (token create);
                      default: it never expires
  --log-level <lvl>   debug, info, warn or error; default info  [MOSAIC_FED_LOG_LEVEL]
  -h, --help          show this help

Environment only:
  MOSAIC_FED_SECRET               key-encryption secret (32+ characters); default:
                                  <data-dir>/secret.key, created with mode 0600
  MOSAIC_FED_DATABASE_URL         the database: postgres://user:password@host:5432/db for
                                  many machines (servers, workers and the orchestrator
                                  service keep everything there, agents' state included),
                                  or a libSQL URL; default: file <data-dir>/mosaic-fed.db
  MOSAIC_FED_DATABASE_AUTH_TOKEN  auth token for a remote libSQL server
  MOSAIC_FED_AUTO_ACCEPT_URLS     comma-separated peer URLs whose connection requests are
                                  accepted without an admin, once the instance at that
                                  URL vouches for the request (same instance id and keys)
  MOSAIC_FED_AUTO_ACCEPT_INSTANCES  ... the same for these peer instance ids
  MOSAIC_FED_AUTO_ACCEPT_KEYS     ... the same for peers holding a key with one of these
                                  thumbprints (kid)
  MOSAIC_FED_ALLOW_NETWORKS       comma-separated networks (CIDR) this instance may call
                                  although they are not public, e.g. 127.0.0.0/8,10.1.0.0/16;
                                  default none: loopback, private and link-local addresses
                                  are refused
  MOSAIC_FED_REPOSITORIES         comma-separated patterns of the repositories peers' agents
                                  may fetch where a connection's grants name none; * is one
                                  path segment, ** anything; default https://** (any public
                                  https host), plus file://** with file repositories allowed
  MOSAIC_FED_EGRESS               comma-separated hosts every peer's agents' sandboxes may
                                  reach through the egress proxy, beside each connection's
                                  egress grant: registry.npmjs.org, *.example.com, host:port
                                  (no port: 443 and 80); default none: no network at all.
                                  Their addresses must be public, or in MOSAIC_FED_ALLOW_NETWORKS
  MOSAIC_FED_FORGES               comma-separated host=API pairs for the pull requests
                                  deliveries open: git.example.com=https://git.example.com/api/v1
                                  (Gitea, Forgejo); github.com is known. The host's git
                                  credential is the API token
  MOSAIC_FED_OIDC_ISSUER          accept OIDC access tokens from this issuer as admins
                                  (and, without the admin claim, as the user whose
                                  oidcSubject is the token's sub)
  MOSAIC_FED_OIDC_AUDIENCE        ... issued for this audience
  MOSAIC_FED_OIDC_JWKS_URI        ... verified with this JWKS (default: discovery)
  MOSAIC_FED_OIDC_ADMIN_CLAIM     ... carrying this claim (default mosaic_fed_admin)
  MOSAIC_FED_OIDC_ADMIN_VALUE     ... with this value, or containing it (default: true)

Agents (serve and orchestrator):
  ANTHROPIC_API_KEY               the key agents use to reach Claude
  ANTHROPIC_BASE_URL              another Messages API endpoint (default: Anthropic's)
  MOSAIC_FED_MODEL                the model agents use (default: the runners' default)
  MOSAIC_FED_MAX_TOKENS           max_tokens of each model request (default by model family)
  MOSAIC_FED_MODEL_RETRY_SECONDS  how long overload, rate limits and lost connections are
                                  retried before an attempt fails, default 300
  MOSAIC_FED_MODEL_PRICES         what a million tokens cost, as JSON: {"currency":"USD",
                                  "models":{"*":{"inputPerMillion":3,"outputPerMillion":15}}};
                                  agents' usage then carries an estimated cost
  MOSAIC_FED_SANDBOX              auto, docker, bubblewrap or unsafe-process; default auto
                                  (docker when an engine answers with the image, else
                                  bubblewrap, else none: peers' spawns are refused).
                                  unsafe-process runs agents as this user with no
                                  isolation: for your own experiments only
  MOSAIC_FED_SANDBOX_IMAGE        image of Docker sandboxes, default ${DEFAULT_SANDBOX_IMAGE}
  MOSAIC_FED_SANDBOX_IMAGE_WORKER another image for worker agents; also _REVIEWER and _TESTER
  DOCKER_HOST                     the Docker (or Podman) API, default the local socket
  MOSAIC_FED_MAX_AGENTS           agents running at once, default 4
  MOSAIC_FED_SETUP_WORKER         a shell command run in each worker's sandbox before the
                                  model's first turn (for example: npm ci); also
                                  MOSAIC_FED_SETUP_REVIEWER and MOSAIC_FED_SETUP_TESTER
  MOSAIC_FED_REPOSITORY_SETUP     true to run a repository's own .mosaic/setup.sh as well
  MOSAIC_FED_ALLOW_FILE_REPOSITORIES  true to allow file:// repositories (local demos)
  MOSAIC_FED_ORCHESTRATOR_URL     serve: run agents on this orchestrator service instead
  MOSAIC_FED_ORCHESTRATOR_TOKEN   the orchestrator service's shared token (32+ characters)

Many machines:
  REDIS_URL                       Valkey or Redis (redis://host:6379): serve shares the
                                  message log, rate limits and events there and queues
                                  agents for workers; worker takes them from there
  MOSAIC_FED_REDIS_PREFIX         prefix of every key and channel there, default mosaic-fed:
  MOSAIC_FED_WORKER_CONCURRENCY   worker: agents at once, default 2
  MOSAIC_FED_WORKER_LOCK_MS       worker: how soon a dead worker's agent moves on, default 30000
`;


/**
 * Runs the check of a setting's value: the TypeError it throws for a bad value is a
 * usage error, in `name`'s words. Any other TypeError stays what it is, a bug (exit 1).
 */
function checkSetting<T>(name: string, check: () => T): T {
  try {
    return check();
  } catch (error) {
    if (!(error instanceof TypeError)) throw error;
    // The check's own name for the value ("allowNetworks: ...") gives way to the setting's.
    throw new UsageError(error.message.startsWith(name) ? error.message : `${name}: ${error.message.replace(/^[A-Za-z]+: /, '')}`);
  }
}

type Env = Record<string, string | undefined>;

function parsePort(value: string | undefined): number {
  if (value === undefined) return DEFAULT_PORT;
  const port = Number(value);
  if (!/^\d+$/.test(value) || port > 65_535) throw new UsageError(`--port must be a number from 0 to 65535, not "${value}"`);
  return port;
}

/** `90d`, `12h`, `30m` as milliseconds. */
function parseDuration(value: string): number {
  const match = /^(\d{1,6})([dhm])$/.exec(value.trim());
  if (match === null || Number(match[1]) === 0) throw new UsageError(`--expires-in must be like 90d, 12h or 30m, not "${value}"`);
  const unit = { d: 86_400_000, h: 3_600_000, m: 60_000 }[match[2] as 'd' | 'h' | 'm'];
  return Number(match[1]) * unit;
}

/** A comma-separated setting as its entries. */
/** `MOSAIC_FED_FORGES`: `host=https://host/api/v1` pairs, by host. */
function forgesFromEnv(value: string | undefined): Record<string, string> | undefined {
  const pairs = listOf(value);
  if (pairs.length === 0) return undefined;
  const forges: Record<string, string> = {};
  for (const pair of pairs) {
    const [host = '', api = ''] = pair.split(/=(.*)/s);
    if (!GitCredentialHostSchema.safeParse(host.toLowerCase()).success || !/^https?:\/\//i.test(api) || !URL.canParse(api)) {
      throw new UsageError(`MOSAIC_FED_FORGES: "${pair}" is not host=API URL (git.example.com=https://git.example.com/api/v1)`);
    }
    forges[host.toLowerCase()] = api;
  }
  return forges;
}

function listOf(value: string | undefined): string[] {
  return (value ?? '')
    .split(',')
    .map((entry) => entry.trim())
    .filter((entry) => entry.length > 0);
}

function parseLogLevel(value: string | undefined): LogLevel {
  const level = value ?? 'info';
  if (level !== 'debug' && level !== 'info' && level !== 'warn' && level !== 'error') {
    throw new UsageError(`--log-level must be debug, info, warn or error, not "${level}"`);
  }
  return level;
}

const isSandboxChoice = (value: string): value is SandboxChoice => (SANDBOX_CHOICES as readonly string[]).includes(value);

function orchestratorFromEnv(env: Env, dataDir: string, logger: Logger): NodeOrchestratorOptions {
  const sandbox = env.MOSAIC_FED_SANDBOX ?? 'auto';
  if (sandbox === 'process') {
    throw new UsageError('MOSAIC_FED_SANDBOX=process is now unsafe-process (it isolates nothing); use bubblewrap or docker for peers');
  }
  if (!isSandboxChoice(sandbox)) throw new UsageError(`MOSAIC_FED_SANDBOX must be ${SANDBOX_CHOICES.join(', ')}, not "${sandbox}"`);
  const maxAgents = wholeNumber(env.MOSAIC_FED_MAX_AGENTS, 'MOSAIC_FED_MAX_AGENTS');
  const maxTokens = wholeNumber(env.MOSAIC_FED_MAX_TOKENS, 'MOSAIC_FED_MAX_TOKENS');
  const retrySeconds = wholeNumber(env.MOSAIC_FED_MODEL_RETRY_SECONDS, 'MOSAIC_FED_MODEL_RETRY_SECONDS');
  const prices = pricesFromEnv(env.MOSAIC_FED_MODEL_PRICES);
  const setup = setupFromEnv(env);
  const sandboxImages = perAgentType(env, 'MOSAIC_FED_SANDBOX_IMAGE_');
  return {
    dataDir,
    logger,
    sandbox,
    allowFileRepositories: env.MOSAIC_FED_ALLOW_FILE_REPOSITORIES === 'true',
    allowNetworks: listOf(env.MOSAIC_FED_ALLOW_NETWORKS),
    ...(env.MOSAIC_FED_SANDBOX_IMAGE === undefined ? {} : { sandboxImage: env.MOSAIC_FED_SANDBOX_IMAGE }),
    ...(Object.keys(sandboxImages).length === 0 ? {} : { sandboxImages }),
    ...(maxAgents === undefined ? {} : { maxConcurrentAgents: maxAgents }),
    ...(setup === undefined ? {} : { setup }),
    ...(env.MOSAIC_FED_ORCHESTRATOR_URL === undefined ? {} : { serviceUrl: env.MOSAIC_FED_ORCHESTRATOR_URL }),
    ...(env.MOSAIC_FED_ORCHESTRATOR_TOKEN === undefined ? {} : { serviceToken: env.MOSAIC_FED_ORCHESTRATOR_TOKEN }),
    ...(env.REDIS_URL === undefined ? {} : { redisUrl: env.REDIS_URL }),
    ...(env.MOSAIC_FED_REDIS_PREFIX === undefined ? {} : { redisPrefix: env.MOSAIC_FED_REDIS_PREFIX }),
    // PostgreSQL holds agents' state too; a libSQL database leaves it in orchestrator.db.
    ...(isPostgresUrl(env.MOSAIC_FED_DATABASE_URL) ? { databaseUrl: env.MOSAIC_FED_DATABASE_URL } : {}),
    anthropic: {
      ...(env.ANTHROPIC_API_KEY === undefined ? {} : { apiKey: env.ANTHROPIC_API_KEY }),
      ...(env.ANTHROPIC_BASE_URL === undefined ? {} : { baseURL: env.ANTHROPIC_BASE_URL }),
      ...(env.MOSAIC_FED_MODEL === undefined ? {} : { model: env.MOSAIC_FED_MODEL }),
      ...(maxTokens === undefined ? {} : { maxTokens }),
      ...(retrySeconds === undefined ? {} : { retryForMs: retrySeconds * 1_000 }),
      ...(prices === undefined ? {} : { prices }),
    },
  };
}

/** MOSAIC_FED_MODEL_PRICES: a price table as JSON (core's PriceTableSchema), checked. */
function pricesFromEnv(value: string | undefined): PriceTable | undefined {
  if (value === undefined || value.trim() === '') return undefined;
  const shape = 'MOSAIC_FED_MODEL_PRICES must be JSON such as {"currency":"USD","models":{"*":{"inputPerMillion":3,"outputPerMillion":15}}}';
  let parsed: unknown;
  try {
    parsed = JSON.parse(value);
  } catch {
    throw new UsageError(shape);
  }
  const table = PriceTableSchema.safeParse(parsed);
  if (!table.success) throw new UsageError(`${shape}: ${table.error.issues.map((issue) => `${issue.path.join('.') || 'the table'} ${issue.message}`).join('; ')}`);
  return table.data;
}

/**
 * MOSAIC_FED_REPOSITORIES, checked; unset, the default policy, with file repositories when
 * they are allowed (a local demo's repository is a folder).
 */
function repositoriesFromEnv(env: Env): string[] | undefined {
  const patterns = listOf(env.MOSAIC_FED_REPOSITORIES);
  if (patterns.length === 0) {
    return env.MOSAIC_FED_ALLOW_FILE_REPOSITORIES === 'true' ? [...DEFAULT_REPOSITORY_PATTERNS, 'file://**'] : undefined;
  }
  return checkSetting('MOSAIC_FED_REPOSITORIES', () => checkRepositoryPatterns(patterns, 'MOSAIC_FED_REPOSITORIES'));
}

/**
 * The ports of this machine's own services that sandboxes never reach through the egress
 * proxy: the one this command listens on, and the default ones of a server and a service.
 */
function ownPorts(listening?: number): number[] {
  return [...new Set([listening ?? 0, DEFAULT_PORT, DEFAULT_ORCHESTRATOR_PORT])].filter((port) => port > 0);
}

/** A whole number of at least 1 from the environment, or undefined when unset. */
/** `<prefix><TYPE>` for each agent type that has a value that is not blank. */
function perAgentType(env: Env, prefix: string): Partial<Record<AgentType, string>> {
  const values: Partial<Record<AgentType, string>> = {};
  for (const type of AGENT_TYPES) {
    const value = env[`${prefix}${type.toUpperCase()}`]?.trim();
    if (value !== undefined && value !== '') values[type] = value;
  }
  return values;
}

/** `MOSAIC_FED_SETUP_<TYPE>` and `MOSAIC_FED_REPOSITORY_SETUP`: what runs before an agent's first turn. */
function setupFromEnv(env: Env): SetupOptions | undefined {
  const commands: Partial<Record<AgentType, string[]>> = Object.fromEntries(
    Object.entries(perAgentType(env, 'MOSAIC_FED_SETUP_')).map(([type, command]) => [type, [command]]),
  );
  const repositoryFile = env.MOSAIC_FED_REPOSITORY_SETUP === 'true';
  if (Object.keys(commands).length === 0 && !repositoryFile) return undefined;
  return { commands, repositoryFile };
}

function wholeNumber(value: string | undefined, name: string): number | undefined {
  if (value === undefined) return undefined;
  const number = Number(value);
  if (!Number.isInteger(number) || number < 1) throw new UsageError(`${name} must be a whole number of at least 1, not "${value}"`);
  return number;
}

function oidcFromEnv(env: Env): OidcAuthOptions | undefined {
  const issuer = env.MOSAIC_FED_OIDC_ISSUER;
  if (issuer === undefined) return undefined;
  const audience = env.MOSAIC_FED_OIDC_AUDIENCE;
  if (audience === undefined) throw new UsageError('MOSAIC_FED_OIDC_ISSUER needs MOSAIC_FED_OIDC_AUDIENCE as well');
  return {
    issuer,
    audience,
    ...(env.MOSAIC_FED_OIDC_JWKS_URI === undefined ? {} : { jwksUri: env.MOSAIC_FED_OIDC_JWKS_URI }),
    ...(env.MOSAIC_FED_OIDC_ADMIN_CLAIM === undefined ? {} : { adminClaim: env.MOSAIC_FED_OIDC_ADMIN_CLAIM }),
    ...(env.MOSAIC_FED_OIDC_ADMIN_VALUE === undefined ? {} : { adminValue: env.MOSAIC_FED_OIDC_ADMIN_VALUE }),
  };
}

/** Runs the CLI; returns the exit code (serve keeps running and returns 0 once listening). */
export async function main(argv: string[], env: Env = process.env): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        'data-dir': { type: 'string' },
        port: { type: 'string' },
        host: { type: 'string' },
        url: { type: 'string' },
        name: { type: 'string' },
        label: { type: 'string' },
        user: { type: 'string' },
        'expires-in': { type: 'string' },
        repository: { type: 'string' },
        'log-level': { type: 'string' },
        peer: { type: 'string' },
        status: { type: 'string' },
        type: { type: 'string' },
        task: { type: 'string' },
        show: { type: 'string' },
        limit: { type: 'string' },
        page: { type: 'string' },
        json: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (error) {
    process.stderr.write(`${(error as Error).message}\n\n${HELP}`);
    return 2;
  }
  const { values, positionals } = parsed;
  // `token revoke <id>` takes an argument; every other command is its words.
  const command = positionals[0] === 'token' && positionals[1] === 'revoke' ? 'token revoke' : positionals.join(' ');
  const argument = command === 'token revoke' ? positionals.slice(2) : [];
  if (values.help === true || command === '' || command === 'help') {
    process.stdout.write(HELP);
    return 0;
  }

  let logger: Logger | undefined;
  try {
    // Long-running commands log to stdout; one-shot ones keep stdout for their answer
    // (`TOKEN=$(mosaic-fed token create)` gets the token alone).
    const oneShot = command === 'init' || command === 'agents' || command.startsWith('token ');
    logger = createJsonLogger({
      level: parseLogLevel(values['log-level'] ?? env.MOSAIC_FED_LOG_LEVEL),
      ...(oneShot ? { write: (line: string) => process.stderr.write(`${line}\n`) } : {}),
    });
    const port = parsePort(values.port ?? env.MOSAIC_FED_PORT);
    const host = values.host ?? env.MOSAIC_FED_HOST ?? DEFAULT_HOST;
    const url = values.url ?? env.MOSAIC_FED_URL;
    const oidc = oidcFromEnv(env);
    const name = values.name ?? env.MOSAIC_FED_NAME;
    const autoAcceptUrls = listOf(env.MOSAIC_FED_AUTO_ACCEPT_URLS);
    const autoAcceptInstanceIds = listOf(env.MOSAIC_FED_AUTO_ACCEPT_INSTANCES);
    const autoAcceptKeys = listOf(env.MOSAIC_FED_AUTO_ACCEPT_KEYS);
    const allowNetworks = listOf(env.MOSAIC_FED_ALLOW_NETWORKS);
    checkSetting('MOSAIC_FED_ALLOW_NETWORKS', () => new OutboundPolicy({ allowNetworks }));
    if (url !== undefined && !InstanceUrlSchema.safeParse(url).success) {
      throw new UsageError(`--url (MOSAIC_FED_URL) must be an absolute http(s) URL without credentials, not "${url}"`);
    }
    if (env.MOSAIC_FED_SECRET !== undefined && env.MOSAIC_FED_SECRET.length < MIN_SECRET_LENGTH) {
      throw new UsageError(`MOSAIC_FED_SECRET must be at least ${MIN_SECRET_LENGTH} characters`);
    }
    if (env.MOSAIC_FED_ORCHESTRATOR_URL !== undefined && env.MOSAIC_FED_ORCHESTRATOR_TOKEN === undefined && command === 'serve') {
      throw new UsageError('MOSAIC_FED_ORCHESTRATOR_URL needs MOSAIC_FED_ORCHESTRATOR_TOKEN as well');
    }
    const repositories = repositoriesFromEnv(env);
    const forges = forgesFromEnv(env.MOSAIC_FED_FORGES);
    const egress = listOf(env.MOSAIC_FED_EGRESS);
    checkSetting('MOSAIC_FED_EGRESS', () => checkEgressRules(egress, 'MOSAIC_FED_EGRESS'));
    if (env.REDIS_URL !== undefined && !isRedisUrl(env.REDIS_URL)) throw new UsageError(REDIS_URL_SHAPE);
    const common: NodeFederationOptions = {
      dataDir: values['data-dir'] ?? env.MOSAIC_FED_DATA_DIR ?? DEFAULT_DATA_DIR,
      logger,
      ...(env.MOSAIC_FED_SECRET === undefined ? {} : { secret: env.MOSAIC_FED_SECRET }),
      ...(env.MOSAIC_FED_DATABASE_URL === undefined ? {} : { databaseUrl: env.MOSAIC_FED_DATABASE_URL }),
      ...(env.MOSAIC_FED_DATABASE_AUTH_TOKEN === undefined
        ? {}
        : { databaseAuthToken: env.MOSAIC_FED_DATABASE_AUTH_TOKEN }),
      ...(name === undefined ? {} : { name }),
      ...(oidc === undefined ? {} : { oidc }),
      ...(autoAcceptUrls.length === 0 ? {} : { autoAcceptUrls }),
      ...(autoAcceptInstanceIds.length === 0 ? {} : { autoAcceptInstanceIds }),
      ...(autoAcceptKeys.length === 0 ? {} : { autoAcceptKeys }),
      ...(allowNetworks.length === 0 ? {} : { allowNetworks }),
      ...(repositories === undefined ? {} : { repositories }),
      ...(egress.length === 0 ? {} : { egress }),
      ...(forges === undefined ? {} : { forges }),
      ...(env.REDIS_URL === undefined ? {} : { redisUrl: env.REDIS_URL }),
      ...(env.MOSAIC_FED_REDIS_PREFIX === undefined ? {} : { redisPrefix: env.MOSAIC_FED_REDIS_PREFIX }),
    };
    const offlineUrl = url ?? `http://${host}:${port}`;

    const dataDir = common.dataDir ?? DEFAULT_DATA_DIR;
    switch (command) {
      case 'serve': {
        const tracing = await tracingFromEnv(env);
        const agents = await createNodeOrchestrator({ ...orchestratorFromEnv(env, dataDir, logger), ownPorts: ownPorts(port) });
        try {
          const starting = startServer({
            ...common,
            port,
            host,
            orchestrator: agents.orchestrator,
            health: [agents.sandboxHealth],
            ...(agents.metrics === undefined ? {} : { metrics: [agents.metrics] }),
            ...(url === undefined ? {} : { url }),
          });
          // Stoppable before it says it listens: a signal right after that line finds the handler.
          closeOnSignals({ close: async () => (await (await starting).close(), await agents.close(), await tracing?.shutdown()) }, logger);
          await starting;
        } catch (error) {
          await agents.close();
          await tracing?.shutdown();
          throw error;
        }
        return 0;
      }
      case 'orchestrator': {
        const token = env.MOSAIC_FED_ORCHESTRATOR_TOKEN;
        if (token === undefined || token.length < 32) {
          throw new UsageError('mosaic-fed orchestrator needs MOSAIC_FED_ORCHESTRATOR_TOKEN (32 or more characters)');
        }
        const options = orchestratorFromEnv({ ...env, MOSAIC_FED_ORCHESTRATOR_URL: undefined, REDIS_URL: undefined }, dataDir, logger);
        const servicePort = values.port === undefined && env.MOSAIC_FED_PORT === undefined ? DEFAULT_ORCHESTRATOR_PORT : port;
        const tracing = await tracingFromEnv(env);
        const agents = await createNodeOrchestrator({ ...options, ownPorts: ownPorts(servicePort) });
        const app = createOrchestratorService({ orchestrator: agents.orchestrator, token, logger });
        const server = await new Promise<ReturnType<typeof serve>>((done, fail) => {
          const listening = serve({ fetch: app.fetch, port: servicePort, hostname: host }, () => done(listening));
          listening.once('error', fail);
        });
        closeOnSignals(
          {
            close: async () => {
              const closed = new Promise<void>((done) => server.close(() => done()));
              (server as { closeAllConnections?: () => void }).closeAllConnections?.();
              await closed;
              await agents.close();
              await tracing?.shutdown();
            },
          },
          logger,
        );
        logger.info('orchestrator service listening', { port: (server.address() as AddressInfo).port, host, sandbox: agents.description });
        return 0;
      }
      case 'worker': {
        const redisUrl = env.REDIS_URL;
        if (redisUrl === undefined) throw new UsageError('mosaic-fed worker needs REDIS_URL: the Valkey its servers queue agents on');
        const { dataDir: _dataDir, serviceUrl: _url, serviceToken: _token, redisUrl: _redis, ...agentOptions } = orchestratorFromEnv(env, dataDir, logger);
        const tracing = await tracingFromEnv(env);
        const worker = await startNodeWorker({
          ...agentOptions,
          // A worker's own data directory holds the git credentials its clones use.
          gitCredentialsFile: join(resolve(dataDir), GIT_CREDENTIALS_FILE),
          redisUrl,
          ownPorts: ownPorts(),
          concurrency: wholeNumber(env.MOSAIC_FED_WORKER_CONCURRENCY, 'MOSAIC_FED_WORKER_CONCURRENCY') ?? 2,
          lockDurationMs: wholeNumber(env.MOSAIC_FED_WORKER_LOCK_MS, 'MOSAIC_FED_WORKER_LOCK_MS') ?? 30_000,
        });
        // Stoppable before it says it started: a signal right after that line finds the handler.
        closeOnSignals({ close: async () => (await worker.close(), await tracing?.shutdown()) }, logger);
        logger.info('worker started', { sandbox: worker.description });
        return 0;
      }
      case 'stand-in': {
        const target = values.repository;
        if (target === undefined) throw new UsageError('mosaic-fed stand-in needs --repository <dir>: where to write the repository to practise on');
        if (existsSync(target) && readdirSync(target).length > 0) throw new UsageError(`--repository: ${target} is not empty; give a new directory`);
        const { createDemoRepository, demoScenarios, startScriptedMessagesServer } = await import('@mosaic-fed/orchestrator/testing');
        const repository = createDemoRepository(resolve(target));
        const standInPort = values.port === undefined && env.MOSAIC_FED_PORT === undefined ? DEFAULT_STAND_IN_PORT : port;
        const model = await startScriptedMessagesServer(demoScenarios(), { port: standInPort });
        logger.info('a stand-in for Claude is listening: it plays scripted answers, for trying Mosaic Federation offline', {
          url: model.url,
          repository: `file://${repository}`,
        });
        closeOnSignals(model, logger);
        return 0;
      }
      case 'init': {
        const federation = await openFederation({ ...common, url: offlineUrl });
        try {
          const record = await federation.instance.load();
          process.stdout.write(
            `instance ${record.instanceId} (${record.name}) is ready in ${federation.dataDir}\n` +
              `public key id: ${record.keys[0]?.publicJwk.kid ?? 'none'}\n`,
          );
        } finally {
          await federation.close();
        }
        return 0;
      }
      case 'token create': {
        const federation = await openFederation({ ...common, url: offlineUrl });
        try {
          const lifetime = values['expires-in'] === undefined ? undefined : parseDuration(values['expires-in']);
          const actor = { type: 'cli' as const, id: 'mosaic-fed token create' };
          const { token, record } =
            values.user === undefined
              ? await createAdminToken({
                  store: federation.stores.adminTokens,
                  label: values.label ?? 'admin',
                  actor,
                  ...(lifetime === undefined ? {} : { expiresAt: new Date(Date.now() + lifetime) }),
                })
              : await federation.people
                  .createUserToken(values.user, { label: values.label ?? values.user, ...(lifetime === undefined ? {} : { expiresInSeconds: lifetime / 1000 }) }, actor)
                  .catch((error: unknown) => {
                    if (isFederationError(error) && error.code === 'NOT_FOUND') throw new UsageError(`--user: there is no user ${values.user ?? ''} (an admin adds users with POST /api/v1/federation/users)`);
                    throw error;
                  });
          const kind = record.userId === undefined ? 'admin token' : `token of user ${record.userId}`;
          process.stderr.write(`${kind} "${record.label}" (${record.id}) created; it is shown only this once:\n`);
          process.stdout.write(`${token}\n`);
        } finally {
          await federation.close();
        }
        return 0;
      }
      case 'token list': {
        const federation = await openFederation({ ...common, url: offlineUrl });
        try {
          const tokens = (await federation.stores.adminTokens.list()).map(toAdminToken);
          const rows = tokens.map((t) => [t.id, t.label, t.userId ?? '(admin)', t.createdAt, t.expiresAt ?? 'never', t.lastUsedAt ?? 'never', t.revokedAt ?? '-']);
          process.stdout.write(formatTable(['id', 'label', 'for', 'created', 'expires', 'last used', 'revoked'], rows));
        } finally {
          await federation.close();
        }
        return 0;
      }
      case 'agents': {
        const federation = await openFederation({ ...common, url: offlineUrl });
        try {
          const { stdout, stderr } = await agentsCommand(federation, values);
          process.stdout.write(stdout);
          process.stderr.write(stderr);
        } finally {
          await federation.close();
        }
        return 0;
      }
      case 'token revoke': {
        const [id] = argument;
        if (id === undefined || argument.length > 1) throw new UsageError('token revoke takes one token id (see mosaic-fed token list)');
        const federation = await openFederation({ ...common, url: offlineUrl });
        try {
          const revoked = await revokeAdminToken({ store: federation.stores.adminTokens, id, actor: { type: 'cli', id: 'mosaic-fed token revoke' } });
          process.stderr.write(`admin token "${revoked.label}" (${revoked.id}) is revoked since ${revoked.revokedAt ?? ''}\n`);
        } catch (error) {
          if (isFederationError(error) && error.code === 'NOT_FOUND') throw new UsageError(`there is no admin token ${id}`);
          throw error;
        } finally {
          await federation.close();
        }
        return 0;
      }
      default:
        throw new UsageError(`unknown command "${command}"`);
    }
  } catch (error) {
    if (error instanceof UsageError) {
      process.stderr.write(`mosaic-fed: ${error.message}\n`);
      return 2;
    }
    if (error instanceof StartupError) {
      // A setting that does not work: its name and what was wrong, without a stack.
      logger?.error(error.message);
      process.stderr.write(`mosaic-fed: ${error.message}\n`);
      return 1;
    }
    // Anything else is a failure of the command or a bug: exit 1, with what it said.
    logger?.error('mosaic-fed failed', describeError(error));
    process.stderr.write(`mosaic-fed: ${error instanceof Error ? error.message : String(error)}\n`);
    return 1;
  }
}
