/* global Bun */
// The federation server's main entry, unchanged, served by Bun. Configuration comes from
// the environment; see ../shared/edge-app.mjs for what it means.
import { createEdgeFederation } from '../shared/edge-app.mjs';

const env = Bun.env;
const port = Number(env.PORT ?? 4747);
const federation = createEdgeFederation({
  url: env.MOSAIC_FED_URL ?? `http://127.0.0.1:${port}`,
  secret: env.MOSAIC_FED_SECRET,
  orchestratorUrl: env.MOSAIC_FED_ORCHESTRATOR_URL,
  orchestratorToken: env.MOSAIC_FED_ORCHESTRATOR_TOKEN,
  autoAcceptUrls: env.MOSAIC_FED_AUTO_ACCEPT_URLS,
  name: 'Bun Spoke',
});
await federation.start();
const server = Bun.serve({ port, hostname: '127.0.0.1', fetch: federation.app.fetch });
console.log(JSON.stringify({ msg: 'listening', runtime: `bun ${Bun.version}`, url: `http://127.0.0.1:${server.port}` }));
