/* global Deno */
// The federation server's main entry, unchanged, served by Deno. Configuration comes from
// the environment; see ../shared/edge-app.mjs for what it means.
import { createEdgeFederationFromEnv } from '../shared/edge-app.mjs';

const env = Deno.env.toObject();
const port = Number(env.PORT ?? 4747);
const federation = createEdgeFederationFromEnv(env, { name: 'Deno Spoke', port });
await federation.start();
Deno.serve({ port, hostname: '127.0.0.1', onListen: () => undefined }, federation.app.fetch);
console.log(JSON.stringify({ msg: 'listening', runtime: `deno ${Deno.version.deno}`, url: `http://127.0.0.1:${port}` }));
