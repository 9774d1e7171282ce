// @ts-check
// The server's main entry as an edge runtime runs it: web APIs only, state in memory, and
// agents run by an orchestrator service reached over HTTP (PROTOCOL 7). Shared by the
// Bun, Deno and Cloudflare Worker examples; each only adds how its runtime serves it.
import { HttpOrchestrator } from '@mosaic-fed/orchestrator';
import { createFederation } from '@mosaic-fed/server';

/**
 * @typedef {object} EdgeConfig
 * @property {string} url                 this instance's public URL
 * @property {string} secret              seals the private key (32+ characters)
 * @property {string} orchestratorUrl     the orchestrator service
 * @property {string} orchestratorToken   its shared token
 * @property {string | undefined} [autoAcceptUrls]   comma-separated peer URLs accepted without an admin
 * @property {string | undefined} [allowNetworks]    comma-separated networks (CIDR) it may call although not public
 * @property {string | undefined} [repositories]     comma-separated patterns of the repositories peers' agents may fetch
 * @property {string | undefined} [adminToken]       a token (32+ characters) that opens the instance's own API as an admin:
 *                                                   in-memory state has no stored admin token to start from
 * @property {string} [name]
 */

/**
 * An admin authenticator for one configured token, compared by SHA-256 so the comparison
 * takes the same time whatever the token sent.
 * @param {string} configured
 * @returns {import('@mosaic-fed/server').AdminAuthenticator}
 */
function configuredTokenAuthenticator(configured) {
  if (configured.length < 32) throw new TypeError('the admin token must be at least 32 characters');
  const digest = async (/** @type {string} */ text) => new Uint8Array(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(text)));
  const expected = digest(configured);
  return async (token) => {
    const [want, got] = await Promise.all([expected, digest(token)]);
    let difference = 0;
    for (let i = 0; i < want.length; i++) difference |= (want[i] ?? 0) ^ (got[i] ?? 0);
    return difference === 0 ? { kind: 'admin', actor: { type: 'admin-token', id: 'configured', label: 'the configured admin token' } } : undefined;
  };
}

/**
 * Builds the federation server from plain configuration values.
 * @param {EdgeConfig} config
 */
export function createEdgeFederation(config) {
  for (const key of /** @type {const} */ (['url', 'secret', 'orchestratorUrl', 'orchestratorToken'])) {
    if (!config[key]) throw new TypeError(`the edge example needs ${key}`);
  }
  return createFederation({
    url: config.url,
    secret: config.secret,
    name: config.name ?? 'Edge Spoke',
    orchestrator: new HttpOrchestrator({ url: config.orchestratorUrl, token: config.orchestratorToken }),
    autoAcceptUrls: (config.autoAcceptUrls ?? '').split(',').filter(Boolean),
    outbound: { allowNetworks: (config.allowNetworks ?? '').split(',').filter(Boolean) },
    ...(config.repositories ? { repositories: config.repositories.split(',').filter(Boolean) } : {}),
    ...(config.adminToken ? { auth: { authenticators: [configuredTokenAuthenticator(config.adminToken)] } } : {}),
  });
}

/**
 * The same, configured from environment variables (MOSAIC_FED_URL, MOSAIC_FED_SECRET,
 * MOSAIC_FED_ORCHESTRATOR_URL, MOSAIC_FED_ORCHESTRATOR_TOKEN, MOSAIC_FED_AUTO_ACCEPT_URLS,
 * MOSAIC_FED_ALLOW_NETWORKS, MOSAIC_FED_REPOSITORIES, MOSAIC_FED_ADMIN_TOKEN),
 * as a runtime's server script has them.
 * @param {Record<string, string | undefined>} env
 * @param {{ name: string, port: number }} options
 */
export function createEdgeFederationFromEnv(env, { name, port }) {
  return createEdgeFederation({
    url: env.MOSAIC_FED_URL ?? `http://127.0.0.1:${port}`,
    secret: env.MOSAIC_FED_SECRET ?? '',
    orchestratorUrl: env.MOSAIC_FED_ORCHESTRATOR_URL ?? '',
    orchestratorToken: env.MOSAIC_FED_ORCHESTRATOR_TOKEN ?? '',
    autoAcceptUrls: env.MOSAIC_FED_AUTO_ACCEPT_URLS,
    allowNetworks: env.MOSAIC_FED_ALLOW_NETWORKS,
    repositories: env.MOSAIC_FED_REPOSITORIES,
    adminToken: env.MOSAIC_FED_ADMIN_TOKEN,
    name,
  });
}
