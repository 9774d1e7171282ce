/* global Bun */
// The federation server's main entry, unchanged, served by Bun. Configuration comes from
// the environment; see ../shared/edge-app.mjs for what it means.
import { createEdgeFederationFromEnv } from '../shared/edge-app.mjs';

const env = Bun.env;
const port = Number(env.PORT ?? 4747);
const federation = createEdgeFederationFromEnv(env, { name: 'Bun Spoke', port });
await federation.start();
const server = Bun.serve({ port, hostname: '127.0.0.1', fetch: federation.app.fetch });
console.log(JSON.stringify({ msg: 'listening', runtime: `bun ${Bun.version}`, url: `http://127.0.0.1:${server.port}` }));
