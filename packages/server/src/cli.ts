// The `mosaic-fed` command: init, serve, token create. Flags win over environment
// variables, which win over defaults; `mosaic-fed --help` lists them all.
import { parseArgs } from 'node:util';
import { createAdminToken } from './auth/admin-tokens.js';
import type { OidcAuthOptions } from './auth/oidc.js';
import { createJsonLogger, describeError, type Logger, type LogLevel } from './logger.js';
import {
  closeOnSignals,
  DEFAULT_DATA_DIR,
  DEFAULT_HOST,
  DEFAULT_PORT,
  openFederation,
  startServer,
  type NodeFederationOptions,
} from './node/index.js';

const HELP = `mosaic-fed: run a Mosaic Federation instance

Usage:
  mosaic-fed init          create the data directory, the secret and the instance identity
  mosaic-fed serve         start the server (initialises on first start)
  mosaic-fed token create  create an admin token and print it once

Options (environment variable in brackets):
  --data-dir <dir>    data directory, default ${DEFAULT_DATA_DIR}   [MOSAIC_FED_DATA_DIR]
  --port <n>          port to listen on, default ${DEFAULT_PORT}          [MOSAIC_FED_PORT]
  --host <addr>       address to bind, default ${DEFAULT_HOST}   [MOSAIC_FED_HOST]
  --url <url>         public URL, default http://<host>:<port>  [MOSAIC_FED_URL]
  --name <name>       name of a new instance                    [MOSAIC_FED_NAME]
  --label <text>      label of a new admin token (token create)
  --log-level <lvl>   debug, info, warn or error; default info  [MOSAIC_FED_LOG_LEVEL]
  -h, --help          show this help

Environment only:
  MOSAIC_FED_SECRET               key-encryption secret (32+ characters); default:
                                  <data-dir>/secret.key, created with mode 0600
  MOSAIC_FED_DATABASE_URL         libSQL URL; default: file <data-dir>/mosaic-fed.db
  MOSAIC_FED_DATABASE_AUTH_TOKEN  auth token for a remote libSQL server
  MOSAIC_FED_AUTO_ACCEPT_URLS     comma-separated peer URLs whose connection requests are
                                  accepted without an admin
  MOSAIC_FED_OIDC_ISSUER          accept OIDC access tokens from this issuer as admins
  MOSAIC_FED_OIDC_AUDIENCE        ... issued for this audience
  MOSAIC_FED_OIDC_JWKS_URI        ... verified with this JWKS (default: discovery)
  MOSAIC_FED_OIDC_ADMIN_CLAIM     ... carrying this claim (default mosaic_fed_admin)
  MOSAIC_FED_OIDC_ADMIN_VALUE     ... with this value, or containing it (default: true)
`;

/** A mistake in how the command was called: printed without a stack, exit code 2. */
class UsageError extends Error {}

type Env = Record<string, string | undefined>;

function parsePort(value: string | undefined): number {
  if (value === undefined) return DEFAULT_PORT;
  const port = Number(value);
  if (!/^\d+$/.test(value) || port > 65_535) throw new UsageError(`--port must be a number from 0 to 65535, not "${value}"`);
  return port;
}

function parseLogLevel(value: string | undefined): LogLevel {
  const level = value ?? 'info';
  if (level !== 'debug' && level !== 'info' && level !== 'warn' && level !== 'error') {
    throw new UsageError(`--log-level must be debug, info, warn or error, not "${level}"`);
  }
  return level;
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
        'log-level': { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (error) {
    process.stderr.write(`${(error as Error).message}\n\n${HELP}`);
    return 2;
  }
  const { values, positionals } = parsed;
  const command = positionals.join(' ');
  if (values.help === true || command === '' || command === 'help') {
    process.stdout.write(HELP);
    return 0;
  }

  let logger: Logger | undefined;
  try {
    logger = createJsonLogger({ level: parseLogLevel(values['log-level'] ?? env.MOSAIC_FED_LOG_LEVEL) });
    const port = parsePort(values.port ?? env.MOSAIC_FED_PORT);
    const host = values.host ?? env.MOSAIC_FED_HOST ?? DEFAULT_HOST;
    const url = values.url ?? env.MOSAIC_FED_URL;
    const oidc = oidcFromEnv(env);
    const name = values.name ?? env.MOSAIC_FED_NAME;
    const autoAcceptUrls = (env.MOSAIC_FED_AUTO_ACCEPT_URLS ?? '')
      .split(',')
      .map((entry) => entry.trim())
      .filter((entry) => entry.length > 0);
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
    };
    const offlineUrl = url ?? `http://${host}:${port}`;

    switch (command) {
      case 'serve': {
        const server = await startServer({ ...common, port, host, ...(url === undefined ? {} : { url }) });
        closeOnSignals(server, logger);
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
          await federation.instance.load();
          const { token, record } = await createAdminToken({
            store: federation.stores.adminTokens,
            label: values.label ?? 'admin',
            actor: { type: 'cli', id: 'mosaic-fed token create' },
          });
          process.stderr.write(`admin token "${record.label}" created; it is shown only this once:\n`);
          process.stdout.write(`${token}\n`);
        } finally {
          await federation.close();
        }
        return 0;
      }
      default:
        throw new UsageError(`unknown command "${command}"`);
    }
  } catch (error) {
    if (error instanceof UsageError || error instanceof TypeError) {
      process.stderr.write(`mosaic-fed: ${error.message}\n`);
      return 2;
    }
    logger?.error('mosaic-fed failed', describeError(error));
    if (logger === undefined) process.stderr.write(`mosaic-fed: ${(error as Error).message}\n`);
    return 1;
  }
}
