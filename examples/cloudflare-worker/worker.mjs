// The federation server's main entry as a Cloudflare Worker: web APIs only, no Node
// compatibility flag. Configuration comes from the Worker's bindings (wrangler.toml and
// secrets). State is in memory, per isolate: enough to show the protocol at the edge;
// for lasting state, give createFederation libSQL stores over `@libsql/client/web`.
//
// What a request cannot outlive in a Worker is the background work (the event outbox and
// following agents), so peers learn an agent's status by asking (`agent.status`), not by
// events.
import { createEdgeFederation } from '../shared/edge-app.mjs';

/** @type {ReturnType<typeof createEdgeFederation> | undefined} */
let federation;

export default {
  /**
   * @param {Request} request
   * @param {Record<string, string>} env
   */
  fetch(request, env) {
    federation ??= createEdgeFederation({
      url: env.MOSAIC_FED_URL ?? new URL(request.url).origin,
      secret: env.MOSAIC_FED_SECRET ?? '',
      orchestratorUrl: env.MOSAIC_FED_ORCHESTRATOR_URL ?? '',
      orchestratorToken: env.MOSAIC_FED_ORCHESTRATOR_TOKEN ?? '',
      autoAcceptUrls: env.MOSAIC_FED_AUTO_ACCEPT_URLS,
      allowNetworks: env.MOSAIC_FED_ALLOW_NETWORKS,
      repositories: env.MOSAIC_FED_REPOSITORIES,
      adminToken: env.MOSAIC_FED_ADMIN_TOKEN,
      name: 'Worker Spoke',
    });
    return federation.app.fetch(request);
  },
};
